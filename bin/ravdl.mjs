#!/usr/bin/env node
// The ravdl command (npx ravdl ...): runs lib/ravenverse/cli.ts through tsx in a checkout of the
// sources, or dist/ravenverse/cli.js in an installed package.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'lib', 'ravenverse', 'cli.ts');
const dist = join(root, 'dist', 'ravenverse', 'cli.js');
const SOURCE_CONDITION = '--conditions=ravdl-source';

if (process.argv[2] === 'demo' && existsSync(src) && !process.execArgv.includes(SOURCE_CONDITION)) {
  // From the sources, 'ravdl' (as the example the demo runs imports it) must resolve to lib/ too,
  // or it would load a second copy of the library from dist/: run again with the package's source
  // condition, passing signals on. (Only for the demo: a coordinator or provider stays one process,
  // so that a kill reaches it.)
  const child = spawn(process.execPath, [SOURCE_CONDITION, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  process.exitCode = await run();
}

async function run() {
  let entry = null;
  if (existsSync(src)) {
    try {
      const { register } = await import('tsx/esm/api');
      register();
      entry = src;
    } catch {
      entry = null; // no tsx (an installed package): use the built files
    }
  }
  if (!entry) {
    if (!existsSync(dist)) {
      console.error(`ravdl: neither tsx with ${src} nor the built ${dist} is available; run npm install (or npm run build:ts)`);
      return 1;
    }
    entry = dist;
  }
  const { main } = await import(pathToFileURL(entry).href);
  return main(process.argv.slice(2));
}

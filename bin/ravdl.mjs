#!/usr/bin/env node
// The ravdl command (npx ravdl ...): runs lib/ravenverse/cli.ts through tsx in a checkout of the
// sources, or dist/ravenverse/cli.js in an installed package.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'lib', 'ravenverse', 'cli.ts');
const dist = join(root, 'dist', 'ravenverse', 'cli.js');
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
    process.exit(1);
  }
  entry = dist;
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));

// Loads the compiled addon (build/Release, or the prebuilt prebuilds/<platform>-<arch>/ravdl.node
// shipped in the npm package) with node-gyp-build. A failure explains what was tried, why (no
// prebuilt binary and install scripts skipped, a prebuilt binary this machine cannot load, ...)
// and the command that fixes it, never a bare "Cannot find module".
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeBinding } from './api.js';

const require = createRequire(import.meta.url);

export class NativeLoadError extends Error {
  readonly code = 'ERR_NATIVE_LOAD';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NativeLoadError';
  }
}

/** Root of the package: lib/native/ (sources) and dist/native/ (compiled) are both two levels down. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Loads the addon of the package at `root` (exported for tests of the failure message). */
export function loadBindingFrom(root: string): NativeBinding {
  // RAVDL_ADDON_PATH points at a specific .node file (e.g. a sanitizer or a side-by-side build).
  const explicit = process.env.RAVDL_ADDON_PATH;
  if (explicit) {
    try {
      return require(resolve(explicit)) as NativeBinding;
    } catch (err) {
      throw new NativeLoadError(`ravdl: could not load the addon named by RAVDL_ADDON_PATH=${explicit}: ${(err as Error).message}`, { cause: err });
    }
  }
  try {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(root) as NativeBinding;
  } catch (err) {
    throw new NativeLoadError(loadFailure(root, err), { cause: err });
  }
}

/** What was tried, why it failed, and the command that fixes it. */
function loadFailure(root: string, err: unknown): string {
  const prebuilds = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const tried = [join(root, 'build', 'Release', 'ravdl.node'), join(root, 'build', 'Debug', 'ravdl.node'), prebuilds];
  const found = tried.filter((p) => existsSync(p));
  const lines = [
    `ravdl: the native engine could not be loaded (${(err as Error).message.split('\n')[0]}).`,
    `Tried: ${tried.join(', ')}${found.length ? ` (present: ${found.join(', ')})` : ' (none present)'}.`,
    `Node ${process.version} (N-API ${process.versions.napi}), ${process.platform}-${process.arch}.`,
  ];
  const install = `node ${join(root, 'scripts', 'install.cjs')}`;
  if (found.includes(prebuilds)) {
    lines.push(
      `The prebuilt binary for ${process.platform}-${process.arch} does not load on this machine (it needs glibc >= 2.34 and the C++ runtime of GCC >= 12), so the addon must be compiled:`,
      '  1. install the build tools: apt-get install -y cmake g++ make (and libopenblas-dev for the fast matmul)',
      `  2. build it: npm rebuild ravdl --build-from-source   (or: RAVDL_BUILD_FROM_SOURCE=1 ${install}; inside this repository: npm run build:native)`,
    );
  } else if (!existsSync(join(root, 'build'))) {
    // No build folder at all: ravdl's install script never ran.
    lines.push(
      `No prebuilt binary matches ${process.platform}-${process.arch}, and ravdl's install script, which compiles the addon, did not run: install scripts were skipped (npm install --ignore-scripts, ignore-scripts=true in .npmrc, or a policy that blocks them).`,
      '  1. install the build tools: apt-get install -y cmake g++ make (and libopenblas-dev for the fast matmul)',
      `  2. run the install script: npm rebuild ravdl --ignore-scripts=false   (or: ${install}; inside this repository: npm run build:native)`,
    );
  } else {
    lines.push(
      'No prebuilt binary matches this platform, so the addon must be compiled:',
      '  1. install the build tools: apt-get install -y cmake g++ make (and libopenblas-dev for the fast matmul)',
      '  2. rebuild it: npm rebuild ravdl   (inside this repository: npm run build:native)',
    );
  }
  lines.push('ravdl needs Node ^20.19 or >= 22.12; if you switched Node versions since installing, run npm rebuild ravdl.');
  return lines.join('\n');
}

let cached: NativeBinding | undefined;

/** The native binding, loaded on first use. */
export function native(): NativeBinding {
  cached ??= loadBindingFrom(packageRoot);
  return cached;
}

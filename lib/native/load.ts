// Loads the compiled addon (build/Release or prebuilds/<platform>-<arch>) with node-gyp-build.
// A failure explains what was tried and how to fix it, never a bare "Cannot find module".
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
    const tried = [
      join(root, 'build', 'Release', 'ravdl.node'),
      join(root, 'build', 'Debug', 'ravdl.node'),
      join(root, 'prebuilds', `${process.platform}-${process.arch}`),
    ];
    const found = tried.filter((p) => existsSync(p));
    const lines = [
      `ravdl: the native engine could not be loaded (${(err as Error).message.split('\n')[0]}).`,
      `Tried: ${tried.join(', ')}${found.length ? ` (present: ${found.join(', ')})` : ' (none present)'}.`,
      `Node ${process.version} (N-API ${process.versions.napi}), ${process.platform}-${process.arch}.`,
      'No prebuilt binary matches this platform, so the addon must be compiled:',
      '  1. install the build tools: apt-get install -y cmake g++ (and libopenblas-dev for the fast matmul)',
      '  2. rebuild it: npm rebuild ravdl   (inside this repository: npm run build:native)',
      'ravdl needs Node >= 20.17; if you switched Node versions since installing, run npm rebuild ravdl.',
    ];
    throw new NativeLoadError(lines.join('\n'), { cause: err });
  }
}

let cached: NativeBinding | undefined;

/** The native binding, loaded on first use. */
export function native(): NativeBinding {
  cached ??= loadBindingFrom(packageRoot);
  return cached;
}

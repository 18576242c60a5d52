// The engine and worker threads: stopping a worker (or the process) during a native call never
// aborts the process, and the one thread pool is shared process-wide (setNumThreads from a
// worker applies to the main thread too, as documented).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { kernels } from '../helpers/kernels.js';
import { describe, expect, it } from 'vitest';
import { getNumThreads, native, setNumThreads } from '../../lib/index.js';
import { packageRoot } from '../../lib/native/load.js';

native(); // the addon loads (or the suite fails here with the loader's explanation)
const require = createRequire(import.meta.url);
const addonPath = process.env.RAVDL_ADDON_PATH
  ? resolve(process.env.RAVDL_ADDON_PATH)
  : (require('node-gyp-build') as { path(dir: string): string }).path(packageRoot);
const child = join(import.meta.dirname, 'worker-exit-child.mjs');

function runChild(args: string[]) {
  const r = spawnSync(process.execPath, [child, addonPath, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, error: r.error };
}

describe('worker threads stopped during a native call', () => {
  it('terminating 40 workers inside conv2d, maxpool2d, matmul and throwing calls leaves the process running', () => {
    const r = runChild(['terminate']);
    expect(r.error).toBeUndefined();
    expect(r.stderr).not.toMatch(/terminate called/);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('ok');
  }, 150_000);

  it('process.exit() while workers compute exits with the requested code', () => {
    // Unfixed, this aborted in most runs: three runs make a pass by luck unlikely.
    for (const code of [0, 7, 42]) {
      const r = runChild(['exit', String(code)]);
      expect(r.error).toBeUndefined();
      expect(r.stderr).not.toMatch(/terminate called/);
      expect(r.signal, r.stderr).toBeNull();
      expect(r.status, r.stderr).toBe(code);
    }
  }, 150_000);
});

describe('setNumThreads is process-wide', () => {
  it('a worker that sets the thread count changes the main thread pool, and 0 restores the default', async () => {
    setNumThreads(0);
    const initial = getNumThreads();
    const target = initial === 3 ? 2 : 3;
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const nat = require(workerData.addonPath);
       parentPort.on('message', (n) => { nat.setNumThreads(n); parentPort.postMessage(nat.getNumThreads()); });`,
      { eval: true, workerData: { addonPath } },
    );
    const ask = (n: number) =>
      new Promise<number>((res, rej) => {
        worker.once('message', res);
        worker.once('error', rej);
        worker.postMessage(n);
      });
    try {
      expect(await ask(target)).toBe(target);
      expect(getNumThreads()).toBe(target);
      // The main thread's kernels run on the resized pool.
      const a = new Float32Array(256 * 256).fill(1);
      const c = new Float32Array(256 * 256);
      kernels().matmul(a, [256, 256], a, [256, 256], c);
      expect(c[0]).toBe(256);
      expect(await ask(0)).toBe(initial);
      expect(getNumThreads()).toBe(initial);
    } finally {
      await worker.terminate();
      setNumThreads(0);
    }
  });
});

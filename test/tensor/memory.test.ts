import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { makeMlp } from '../../benchmarks/train-loop.js';

describe('memory stays flat over a 10,000-step training loop', () => {
  it('with tidy(): the live-tensor count returns exactly to its start', () => {
    const mlp = makeMlp();
    const start = R.memory();
    let first = 0;
    let last = 0;
    for (let i = 0; i < 10_000; i++) {
      last = mlp.step(true);
      if (i === 0) first = last;
      if (i % 2500 === 0) expect(R.memory().tensors).toBe(start.tensors);
    }
    expect(R.memory().tensors).toBe(start.tensors);
    expect(R.memory().bytes).toBe(start.bytes);
    expect(last).toBeLessThan(first); // it really trained
    for (const p of mlp.params) p.dispose();
  });

  it('without tidy() or dispose(): garbage collection reclaims every dropped tensor', () => {
    const worker = join(import.meta.dirname, 'memory-worker.ts');
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', worker], { encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const { start, peak, end, first, last } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    // The params, their data and the last step's loss may still be referenced: a handful at most.
    expect(end - start).toBeLessThanOrEqual(8);
    expect(peak - start).toBeLessThanOrEqual(8);
    expect(last).toBeLessThan(first);
  }, 300_000);

  it('a loop that never yields stops registering past the collector backlog, and dispose() stays exact', () => {
    const before = R.memory();
    let last: R.Tensor | null = null;
    for (let i = 0; i < 120_000; i++) last = R.t([i]); // dropped at once; finalizers cannot run in this job
    const mid = R.memory();
    expect(mid.untracked).toBeGreaterThan(before.untracked);
    last!.dispose(); // an untracked tensor: un-counting it again would drive the counts below the truth
    const after = R.memory();
    expect(after.tensors).toBe(mid.tensors);
    expect(after.bytes).toBe(mid.bytes);
    R.t([1]); // created outside a scope while the backlog is full: untracked
    expect(R.memory().untracked).toBe(after.untracked + 1);
    R.tidy(() => {
      R.t([1, 2]); // tensors inside a scope are always counted: the scope releases them
      expect(R.memory().tensors).toBe(after.tensors + 1);
    });
    expect(R.memory().tensors).toBe(after.tensors);
  });

  it('the buffer pool keeps thousands of tiny buffers a scope gives back, but caps large ones per size', () => {
    R.clearPool();
    R.tidy(() => {
      for (let i = 0; i < 2000; i++) R.zeros([16]);
    });
    expect(R.memory().pooledBytes).toBe(2000 * 64);
    R.clearPool();
    R.tidy(() => {
      for (let i = 0; i < 200; i++) R.zeros([64 * 1024]); // 256 KiB each
    });
    expect(R.memory().pooledBytes).toBe(64 * 256 * 1024);
    R.clearPool();
  });
});


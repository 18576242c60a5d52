// Buffers that leave the pool are freed at once (their ArrayBuffer detached), not left for the
// garbage collector; buffers still in use are never touched.
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';

const N = 20_000; // 80 KB: above the size where release is worth a native call

describe('buffer release', () => {
  it('clearPool() frees every pooled buffer now', () => {
    R.clearPool();
    const t = R.zeros([N]);
    const data = t._data;
    t.dispose();
    expect(R.memory().pooledBytes).toBe(4 * N);
    const before = process.memoryUsage().arrayBuffers;
    R.clearPool();
    expect(data.length).toBe(0); // detached: nothing can read or write the freed memory
    expect(R.memory().pooledBytes).toBe(0);
    expect(process.memoryUsage().arrayBuffers).toBeLessThanOrEqual(before - 4 * N);
  });

  it('a buffer the pool refuses (its size bucket is full) is freed, the pooled ones stay usable', () => {
    R.clearPool();
    const tensors = Array.from({ length: 70 }, () => R.zeros([N]));
    const arrays = tensors.map((t) => t._data);
    tensors.forEach((t) => t.dispose());
    const pooled = arrays.filter((a) => a.length === N).length;
    expect(pooled).toBe(64);
    expect(arrays.filter((a) => a.length === 0).length).toBe(6);
    const again = R.ones([N]); // comes from the pool and works
    expect(again.sum().item()).toBe(N);
    R.clearPool();
  });

  it('a buffer shared by a view is released only when the last tensor using it is disposed', () => {
    R.clearPool();
    const base = R.ones([N]);
    const view = R.reshape(base, [100, N / 100]);
    const data = base._data;
    base.dispose();
    R.clearPool();
    expect(data.length).toBe(N);
    expect(view.sum().item()).toBe(N);
    view.dispose();
    R.clearPool();
    expect(data.length).toBe(0);
  });
});

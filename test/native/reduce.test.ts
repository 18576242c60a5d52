// Reductions against the PyTorch fixtures (test/fixtures/reduce.json) and bad input.
import { describe, expect, it } from 'vitest';
import { kernels } from '../helpers/kernels.js';
import { native, setNumThreads } from '../../lib/index.js';
import { expectClose, expectCode, loadFixtures } from '../helpers/fixtures.js';

const nat = kernels();
const call = nat as unknown as Record<string, (...args: unknown[]) => unknown>;
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const cases = loadFixtures('reduce');

describe('reductions match torch', () => {
  for (const c of cases.filter((k) => !k.op.startsWith('arg'))) {
    it(c.name, () => {
      const x = c.inputs.x!;
      const want = c.outputs.out!;
      expect(nat.reduce_shape(x.shape, c.attrs.axes, c.attrs.keepdims)).toEqual(want.shape);
      const out = new Float32Array(numel(want.shape));
      call[c.op]!(x.data, x.shape, out, c.attrs.axes, c.attrs.keepdims, c.attrs.correction);
      expectClose(out, want.data, { atol: 1e-6, rtol: 2e-6, label: c.name });
    });
  }
});

describe('argmax/argmin match torch (first index on ties, NaN wins)', () => {
  for (const c of cases.filter((k) => k.op.startsWith('arg'))) {
    it(c.name, () => {
      const x = c.inputs.x!;
      const want = c.outputs.out!;
      expect(nat.argreduce_shape(x.shape, c.attrs.axis, c.attrs.keepdims)).toEqual(want.shape);
      const out = new Int32Array(numel(want.shape));
      call[c.op]!(x.data, x.shape, out, c.attrs.axis, c.attrs.keepdims);
      expect(Array.from(out)).toEqual(Array.from(want.data));
    });
  }
});

describe('large reductions', () => {
  it('sums 1e7 floats within 1e-6 relative, identically on 1 and 2 threads', () => {
    const n = 1e7;
    const x = new Float32Array(n);
    let exact = 0;
    for (let i = 0; i < n; i++) {
      x[i] = ((i * 2654435761) % 1000003) / 1000003 + 0.1;
      exact += x[i]!;
    }
    const s1 = new Float32Array(1);
    const s2 = new Float32Array(1);
    const cols1 = new Float32Array(8);
    const cols2 = new Float32Array(8);
    try {
      setNumThreads(1);
      nat.sum(x, [n], s1);
      nat.sum(x, [n / 8, 8], cols1, 0);
      setNumThreads(2);
      nat.sum(x, [n], s2);
      nat.sum(x, [n / 8, 8], cols2, 0);
    } finally {
      setNumThreads(0);
    }
    expect(Math.abs(s1[0]! - exact) / exact).toBeLessThan(1e-6);
    expect(s2[0]).toBe(s1[0]);
    expect(Array.from(cols2)).toEqual(Array.from(cols1));
    const m = new Float32Array(1);
    nat.mean(x, [n], m, null);
    expect(Math.abs(m[0]! - exact / n) / (exact / n)).toBeLessThan(1e-6);
  });
});

describe('bad input gives typed errors', () => {
  const x = new Float32Array(6);
  it('rejects axes out of range or repeated', () => {
    expectCode(() => nat.sum(x, [2, 3], new Float32Array(2), 2), 'ERR_INDEX', /axis 2/);
    expectCode(() => nat.mean(x, [2, 3], new Float32Array(2), [1, -1]), 'ERR_INDEX', /repeated/);
    expectCode(() => nat.argmax(x, [2, 3], new Int32Array(2), -3), 'ERR_INDEX', /axis -3 is out of range/);
    expectCode(() => nat.reduce_shape([2, 3], [5]), 'ERR_INDEX', /axis 5/);
  });
  it('rejects wrong lengths, dtypes and corrections', () => {
    expectCode(() => nat.sum(x, [2, 3], new Float32Array(3), 1), 'ERR_SHAPE', /sum: out/);
    expectCode(() => nat.max(x, [2, 4], new Float32Array(2), 1), 'ERR_SHAPE', /max: input 0 has 6 elements/);
    expectCode(() => nat.argmin(x, [2, 3], new Float32Array(2) as any, 1), 'ERR_DTYPE', /argmin: out/);
    expectCode(() => nat.var(x, [2, 3], new Float32Array(2), 1, false, -1), 'ERR_ATTR', /correction/);
    expectCode(() => nat.max(new Float32Array(0), [0, 3], new Float32Array(3), 0), 'ERR_SHAPE', /zero-size/);
  });
});

import assert from 'node:assert/strict';
import type { OpCase } from '../case.js';

/** Mean and standard deviation of a tensor's values. */
function stats(d: ArrayLike<number>): { mean: number; std: number } {
  let m = 0;
  for (let i = 0; i < d.length; i++) m += d[i]!;
  m /= d.length;
  let v = 0;
  for (let i = 0; i < d.length; i++) v += (d[i]! - m) ** 2;
  return { mean: m, std: Math.sqrt(v / d.length) };
}

function near(got: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: ${got}, expected ${want} ± ${tol}`);
}

export const cases: OpCase[] = [
  { op: 'full', id: 'basic', inputs: [], torch: 'torch.full((2, 3), 1.5)', call: (R) => R.full([2, 3], 1.5) },
  { op: 'zeros', id: 'basic', inputs: [], torch: 'torch.zeros(2, 2)', call: (R) => R.zeros([2, 2]) },
  { op: 'ones', id: 'int', inputs: [], torch: 'torch.ones(3, dtype=torch.int32)', call: (R) => R.ones(3, { dtype: 'int32' }) },
  { op: 'zeros_like', id: 'basic', inputs: [{ shape: [2, 3], grad: false }], torch: 'torch.zeros_like(a)', call: (R, [a]) => R.zeros_like(a!) },
  { op: 'ones_like', id: 'basic', inputs: [{ shape: [4], grad: false }], torch: 'torch.ones_like(a)', call: (R, [a]) => R.ones_like(a!) },
  { op: 'arange', id: 'stop', inputs: [], torch: 'torch.arange(5, dtype=torch.int32)', call: (R) => R.arange(5) },
  { op: 'arange', id: 'float-step', inputs: [], torch: 'torch.arange(0.5, 3, 0.5, dtype=torch.float64)', call: (R) => R.arange(0.5, 3, 0.5) },
  { op: 'arange', id: 'negative-step', inputs: [], torch: 'torch.arange(5, -3, -2, dtype=torch.int32)', call: (R) => R.arange(5, -3, -2) },
  {
    op: 'uniform',
    id: 'range-and-seed',
    inputs: [],
    torch: null,
    call: (R) => {
      R.manual_seed(7);
      const a = R.uniform([20000], -2, 3);
      R.manual_seed(7);
      return [a, R.uniform([20000], -2, 3), R.uniform([20000], -2, 3)];
    },
    check: (_R, [a, again, next]) => {
      const d = a!._data;
      assert.ok(Math.min(...d) >= -2 && Math.max(...d) < 3, 'values in [-2, 3)');
      near(stats(d).mean, 0.5, 0.05, 'mean');
      assert.deepEqual(again!._data, d, 'the same seed replays the stream');
      assert.notDeepEqual(next!._data, d, 'the stream moves on');
    },
  },
  {
    op: 'rand',
    id: 'stats',
    inputs: [],
    torch: null,
    call: (R) => R.rand([3, 10000]),
    check: (_R, [a]) => {
      assert.deepEqual([...a!.shape], [3, 10000]);
      const s = stats(a!._data);
      near(s.mean, 0.5, 0.02, 'mean');
      near(s.std, Math.sqrt(1 / 12), 0.02, 'std');
    },
  },
  {
    op: 'randn',
    id: 'stats',
    inputs: [],
    torch: null,
    call: (R) => R.randn([20000]),
    check: (_R, [a]) => {
      const s = stats(a!._data);
      near(s.mean, 0, 0.03, 'mean');
      near(s.std, 1, 0.03, 'std');
    },
  },
  {
    op: 'normal',
    id: 'stats',
    inputs: [],
    torch: null,
    call: (R) => R.normal([20000], 3, 0.5),
    check: (_R, [a]) => {
      const s = stats(a!._data);
      near(s.mean, 3, 0.02, 'mean');
      near(s.std, 0.5, 0.02, 'std');
    },
  },
];

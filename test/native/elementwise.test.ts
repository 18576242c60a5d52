// Elementwise kernels against the PyTorch fixtures (test/fixtures/elementwise.json) and bad input.
import { describe, expect, it } from 'vitest';
import { kernels } from '../helpers/kernels.js';
import { native, setNumThreads } from '../../lib/index.js';
import { expectClose, expectCode, loadFixtures, type FixtureCase } from '../helpers/fixtures.js';

const nat = kernels();
const call = nat as unknown as Record<string, (...args: unknown[]) => unknown>;
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
/** Index of the first element that differs (bitwise-equal floats), or -1; fast on 1e7 elements. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
const f32 = (t: { data: Float32Array | Int32Array }) => Float32Array.from(t.data);

/** Positional scalar parameters of each unary op, in binding order. */
const PARAMS: Record<string, string[]> = {
  leaky_relu: ['negative_slope'],
  elu: ['alpha'],
  softplus: ['beta', 'threshold'],
  hardshrink: ['lambd'],
  hardtanh: ['min_val', 'max_val'],
  softshrink: ['lambd'],
  threshold: ['threshold', 'value'],
  pow_scalar: ['exponent'],
  clip: ['min', 'max'],
};
/** Ops whose backward reads the forward output y instead of x. */
const SAVES_OUTPUT = new Set(['sigmoid', 'tanh', 'exp', 'sqrt']);
const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
  'logical_and', 'logical_or', 'logical_xor'];

const params = (c: FixtureCase) => (PARAMS[c.op] ?? []).map((k) => (k in c.attrs ? c.attrs[k] : null));
const all = loadFixtures('elementwise');
const unaryCases = all.filter((c) => 'x' in c.inputs && 'y' in c.outputs);

describe('unary ops match torch', () => {
  for (const c of unaryCases) {
    it(c.name, () => {
      const x = f32(c.inputs.x!);
      const y = new Float32Array(x.length);
      call[c.op]!(x, y, ...params(c));
      expectClose(y, c.outputs.y!.data, { atol: 1e-6, rtol: 1e-5, label: `${c.op} forward` });
      // In place gives the same result.
      const inPlace = x.slice();
      call[c.op]!(inPlace, inPlace, ...params(c));
      expect(inPlace).toEqual(y);
      if (c.attrs.forward_only || c.op === 'sign') return; // the catalog's sign has no gradient op
      const saved = SAVES_OUTPUT.has(c.op) ? f32(c.outputs.y!) : x;
      const gi = new Float32Array(x.length);
      call[`${c.op}_backward`]!(saved, f32(c.inputs.grad_out!), gi, ...params(c));
      expectClose(gi, c.outputs.grad_in!.data, { atol: 1e-5, rtol: 1e-5, label: `${c.op} backward` });
    });
  }

  it('covers every unary op of the binding', () => {
    const ops = new Set(unaryCases.map((c) => c.op));
    for (const op of ['relu', 'sigmoid', 'tanh', 'leaky_relu', 'elu', 'selu', 'softplus', 'softsign', 'tanhshrink',
      'logsigmoid', 'hardshrink', 'hardtanh', 'softshrink', 'threshold', 'exp', 'log', 'sqrt', 'abs', 'sign', 'neg',
      'pow_scalar', 'clip', 'logical_not']) expect(ops.has(op), op).toBe(true);
  });
});

describe('binary ops broadcast like torch', () => {
  for (const c of all.filter((k) => BINARY.includes(k.op))) {
    it(c.name, () => {
      const { a, b } = c.inputs;
      expect(nat.broadcast_shape(a!.shape, b!.shape)).toEqual(c.outputs.out!.shape);
      const out = new Float32Array(numel(c.outputs.out!.shape));
      call[c.op]!(f32(a!), a!.shape, f32(b!), b!.shape, out);
      expectClose(out, c.outputs.out!.data, { atol: 1e-6, rtol: 1e-5, label: c.name });
    });
  }
});

describe('where, broadcast_to, sum_to match torch', () => {
  for (const c of all.filter((k) => ['where', 'broadcast_to', 'sum_to'].includes(k.op))) {
    it(c.name, () => {
      const want = c.outputs.out!;
      const out = new Float32Array(numel(want.shape));
      const x = c.inputs.x ?? c.inputs.a!;
      if (c.op === 'where') {
        const cond = c.attrs.cond_u8 ? Uint8Array.from(c.inputs.cond!.data) : f32(c.inputs.cond!);
        nat.where(cond, c.inputs.cond!.shape, f32(c.inputs.a!), c.inputs.a!.shape, f32(c.inputs.b!), c.inputs.b!.shape, out);
      } else if (c.op === 'broadcast_to') {
        nat.broadcast_to(f32(x), x.shape, c.attrs.shape, out);
      } else {
        nat.sum_to(f32(x), x.shape, c.attrs.shape, out);
      }
      expectClose(out, want.data, { atol: 1e-5, rtol: 1e-5, label: c.name });
    });
  }
});

describe('large inputs and threads', () => {
  it('adds 1e7 elements identically on 1 and 2 threads, with row and column broadcasts', () => {
    const n = 1e7;
    const a = new Float32Array(n);
    const b = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = (i % 1000) * 0.25;
      b[i] = (i % 777) * -0.5;
    }
    const out1 = new Float32Array(n);
    const out2 = new Float32Array(n);
    try {
      setNumThreads(1);
      nat.add(a, [n], b, [n], out1);
      setNumThreads(2);
      nat.add(a, [n], b, [n], out2);
    } finally {
      setNumThreads(0);
    }
    expect(firstDifference(out1, out2)).toBe(-1);
    for (const i of [0, 1, 12345, n - 1]) expect(out1[i]).toBe(Math.fround(a[i]! + b[i]!));
    // [2000, 5000] + column [2000, 1] and + row [5000]
    const col = new Float32Array(2000).map((_, i) => i);
    nat.add(a, [2000, 5000], col, [2000, 1], out1);
    expect(out1[3 * 5000 + 7]).toBe(Math.fround(a[3 * 5000 + 7]! + 3));
    const row = new Float32Array(5000).map((_, i) => -i);
    nat.mul(a, [2000, 5000], row, [5000], out1);
    expect(out1[4 * 5000 + 9]).toBe(Math.fround(a[4 * 5000 + 9]! * -9));
  });
});

describe('bad input gives typed errors', () => {
  const x = new Float32Array(6);
  it('rejects shapes that do not broadcast, naming both', () => {
    expectCode(() => nat.add(x, [2, 3], new Float32Array(4), [4], new Float32Array(12)), 'ERR_SHAPE', /\[2, 3\].*\[4\]/);
    expectCode(() => nat.broadcast_shape([2, 3], [4]), 'ERR_SHAPE', /\[2, 3\].*\[4\]/);
    expectCode(() => nat.sum_to(x, [2, 3], [4], new Float32Array(4)), 'ERR_SHAPE', /sum_to/);
    expectCode(() => nat.broadcast_to(x, [2, 3], [3, 3], new Float32Array(9)), 'ERR_SHAPE', /broadcast_to/);
    expectCode(() => nat.where(new Uint8Array(2), [2], x, [2, 3], x, [2, 3], new Float32Array(6)), 'ERR_SHAPE', /\[2\].*\[2, 3\]/);
  });
  it('rejects wrong lengths and dtypes', () => {
    expectCode(() => nat.relu(x, new Float32Array(5)), 'ERR_SHAPE', /relu: output 0 must have input 0's shape \[6\], got \[5\]/);
    expectCode(() => nat.add(x, [2, 3], new Float32Array(3), [3], new Float32Array(5)), 'ERR_SHAPE', /add: output 0 has 5 elements/);
    expectCode(() => nat.add(x, [7], x, [7], new Float32Array(7)), 'ERR_SHAPE', /add: input 0 has 6 elements/);
    expectCode(() => nat.relu(new Float64Array(6) as any, x), 'ERR_DTYPE', /relu: input 0 must be a Float32Array/);
    expectCode(() => nat.relu_backward(x, x, new Float32Array(2)), 'ERR_SHAPE', /relu_backward/);
    expectCode(() => nat.where(new Int32Array(6) as any, [6], x, [6], x, [6], new Float32Array(6)), 'ERR_DTYPE', /where: input 0 must be float32/);
    expectCode(() => nat.argmax(x, [6], new Int32Array(2)), 'ERR_SHAPE', /argmax: output 0 has 2 elements/);
    expectCode(() => call.exp!(x), 'ERR_ARG', /exp: output 0 is required/);
  });
  it('rejects bad parameters', () => {
    expectCode(() => call.threshold!(x, x), 'ERR_ATTR', /threshold: threshold is required/);
    expectCode(() => call.pow_scalar!(x, x), 'ERR_ATTR', /exponent is required/);
    expectCode(() => nat.leaky_relu(x, x, NaN), 'ERR_ATTR', /negative_slope/);
    expectCode(() => nat.softshrink(x, x, -1), 'ERR_ATTR', /lambd must be >= 0/);
    expectCode(() => nat.clip(x, x, null, null), 'ERR_ATTR', /clip/);
    expectCode(() => nat.elu(x, x, 'a' as any), 'ERR_ARG', /elu: attribute 'alpha' must be a number/);
  });
  it('rejects partially overlapping outputs', () => {
    const buf = new Float32Array(10);
    expectCode(() => nat.exp(buf.subarray(0, 5), buf.subarray(1, 6)), 'ERR_ARG', /exp: output 0 partially overlaps input 0/);
    expectCode(() => nat.add(buf.subarray(0, 3), [3, 1], buf.subarray(0, 3), [1, 3], buf.subarray(0, 9)), 'ERR_ARG', /add/);
  });
});

import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';

describe('R.t', () => {
  it('makes tensors from numbers, nested arrays and typed arrays', () => {
    const s = R.t(3.5);
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(3.5);
    const m = R.t([[1, 2, 3], [4, 5, 6]]);
    expect(m.shape).toEqual([2, 3]);
    expect(m.dtype).toBe('float32');
    expect(m.size).toBe(6);
    expect(m.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const i = R.t(Int32Array.from([1, 2, 3, 4]), { shape: [2, 2] });
    expect(i.dtype).toBe('int32');
    expect(i.toArray()).toEqual([[1, 2], [3, 4]]);
    const f = R.t([1, 2], { dtype: 'int32' });
    expect(f.dtype).toBe('int32');
    expect(R.t([[1, 2]], { shape: [2] }).shape).toEqual([2]);
    expect(R.t([]).shape).toEqual([0]);
  });
  it('copies its input', () => {
    const src = Float32Array.from([1, 2]);
    const x = R.t(src);
    src[0] = 9;
    expect(x.toArray()).toEqual([1, 2]);
    const d = x.data();
    d[1] = 7;
    expect(x.toArray()).toEqual([1, 2]);
  });
  it('rejects ragged arrays, bad dtypes, wrong shapes and non-numbers with typed errors', () => {
    expect(() => R.t([[1, 2], [3]])).toThrow(R.ShapeError);
    expect(() => R.t([1, 2], { dtype: 'float64' as never })).toThrow(R.DtypeError);
    expect(() => R.t(Float32Array.from([1, 2, 3]), { shape: [2, 2] })).toThrow(/needs 4 values/);
    expect(() => R.t(['a'] as never)).toThrow(R.ArgError);
    expect(() => R.t([1.5], { dtype: 'int32' })).toThrow(R.DtypeError);
    expect(() => R.t(null as never)).toThrow(R.ArgError);
  });
  it('item() needs one element', () => {
    expect(() => R.t([1, 2]).item()).toThrow(/exactly one/);
  });
  it('prints readably', () => {
    expect(R.t([[1, 2], [3, 4.5]]).toString()).toBe('tensor([[1.0, 2.0],\n        [3.0, 4.5]], shape=[2, 2])');
    expect(R.t([1, 2], { dtype: 'int32' }).toString()).toBe('tensor([1, 2], shape=[2], dtype=int32)');
    const big = R.zeros([2000]).toString();
    expect(big).toContain('...');
    expect(big.length).toBeLessThan(200);
    const g = R.mul(R.t([1], { requires_grad: true }), 2);
    expect(g.toString()).toContain('grad_fn=mul');
  });
});

describe('factories and the generator', () => {
  it('zeros, ones, full, arange', () => {
    expect(R.zeros([2, 2]).toArray()).toEqual([[0, 0], [0, 0]]);
    expect(R.ones(3).toArray()).toEqual([1, 1, 1]);
    expect(R.full([2], 7).toArray()).toEqual([7, 7]);
    expect(R.arange(1, 7, 2).toArray()).toEqual([1, 3, 5]);
    expect(R.arange(3).dtype).toBe('int32');
    expect(R.arange(0, 1, 0.25).toArray()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(() => R.arange(0, 5, 0)).toThrow(R.AttrError);
    expect(() => R.zeros([-1])).toThrow(R.ShapeError);
  });
  it('manual_seed makes rand/randn/uniform reproducible', () => {
    R.manual_seed(123);
    const a = [R.rand([5]).toArray(), R.randn([5]).toArray(), R.uniform([3], 2, 4).toArray()];
    R.manual_seed(123);
    const b = [R.rand([5]).toArray(), R.randn([5]).toArray(), R.uniform([3], 2, 4).toArray()];
    expect(b).toEqual(a);
    expect(() => R.manual_seed(-1)).toThrow(R.AttrError);
  });
});

describe('ops on tensors', () => {
  it('methods delegate to the catalog ops', () => {
    const a = R.t([[1, 2], [3, 4]]);
    expect(a.add(1).toArray()).toEqual([[2, 3], [4, 5]]);
    expect(a.matmul(a).toArray()).toEqual([[7, 10], [15, 22]]);
    expect(a.T.toArray()).toEqual([[1, 3], [2, 4]]);
    expect(a.sum(1).toArray()).toEqual([3, 7]);
    expect(a.argmax(1).toArray()).toEqual([1, 1]);
    expect(a.reshape([4]).toArray()).toEqual([1, 2, 3, 4]);
  });
  it('a wrong shape is a ShapeError naming the op and both shapes, before any kernel runs', () => {
    const [a23, a4, a45, a6] = [R.zeros([2, 3]), R.zeros([4]), R.zeros([4, 5]), R.zeros([6])];
    const seen: string[] = [];
    const stop = R.onDispatch((op) => seen.push(op.name));
    try {
      expect(() => R.add(a23, a4)).toThrow(/add: shapes \[2, 3\] and \[4\] do not broadcast/);
      expect(() => R.matmul(a23, a45)).toThrow(R.ShapeError);
      expect(() => R.matmul(a23, a45)).toThrow(/matmul.*\[2, 3\].*\[4, 5\]/);
      expect(() => R.reshape(a6, [4, 2])).toThrow(/reshape: cannot reshape \[6\]/);
    } finally {
      stop();
    }
    expect(seen).toEqual([]); // nothing was dispatched to a kernel
  });
  it('int32 tensors in float ops give a DtypeError; bad options an AttrError', () => {
    expect(() => R.relu(R.t([1], { dtype: 'int32' }))).toThrow(R.DtypeError);
    expect(() => R.leaky_relu(R.t([1]), { negative_slope: 'x' as never })).toThrow(/leaky_relu: option 'negative_slope' must be a number/);
    expect(() => R.leaky_relu(R.t([1]), { slope: 1 } as never)).toThrow(/unknown option 'slope'/);
    expect(() => R.sum(R.t([[1]]), 3)).toThrow(R.RangeIndexError);
    expect(() => R.add('x' as never, 1)).toThrow(R.ArgError);
  });
});

describe('memory', () => {
  it('tidy disposes what it does not return; dispose is idempotent; disposed tensors throw ERR_DISPOSED', () => {
    const before = R.memory().tensors;
    const kept = R.tidy(() => {
      const a = R.ones([4]);
      const b = R.add(a, a);
      return R.mul(b, 2);
    });
    expect(R.memory().tensors).toBe(before + 1);
    expect(kept.toArray()).toEqual([4, 4, 4, 4]);
    kept.dispose();
    kept.dispose();
    expect(R.memory().tensors).toBe(before);
    expect(() => kept.toArray()).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
    expect(() => R.add(kept, 1)).toThrow(R.DisposedError);
  });
  it('a view keeps the data alive until it is disposed too', () => {
    const a = R.t([1, 2, 3, 4]);
    const v = a.reshape([2, 2]);
    a.dispose();
    expect(v.toArray()).toEqual([[1, 2], [3, 4]]);
    v.dispose();
  });
});

describe('factory options', () => {
  it('requires_grad makes a gradient-recording leaf; dtype is honoured; unknown options are errors', () => {
    const w = R.randn([2, 3], { requires_grad: true });
    expect(w.requires_grad).toBe(true);
    R.sum(R.mul(w, 2)).backward();
    expect(Array.from(w.grad!.data())).toEqual([2, 2, 2, 2, 2, 2]);
    expect(R.zeros([2], { requires_grad: true }).requires_grad).toBe(true);
    expect(R.ones([2], { dtype: 'int32' }).dtype).toBe('int32');
    expect(R.arange(3, undefined, 1, { dtype: 'float32' }).dtype).toBe('float32');
    expect(() => R.rand([2], { requires_gard: true } as never)).toThrow(/rand: unknown option 'requires_gard'/);
    expect(() => R.randn([2], { dtype: 'int32' })).toThrow(R.DtypeError);
  });
});


describe('one owner per buffer', () => {
  it('t(nested, { shape }) returned from tidy keeps its values when the pool hands buffers out again', () => {
    const kept = R.tidy(() => R.t([1, 2, 3, 4], { shape: [2, 2] }));
    R.tidy(() => R.full([4], 9)); // would reuse a buffer the scope wrongly gave back
    R.tidy(() => R.full([4], 9));
    expect(kept.toArray()).toEqual([[1, 2], [3, 4]]);
  });
});

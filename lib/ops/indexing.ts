// Indexing ops: gather (numpy.take / torch.index_select along one axis) with its backward op,
// and one_hot_encoding.
// gather runs on the native embedding kernels: x viewed as [P, A, Q] (A = the gathered axis) is
// permuted to rows [A, P*Q], rows are picked by the indices, and the result permuted back.
import { type KernelTensor, runKernel } from '../native/kernels.js';
import { RangeIndexError, ShapeError, fromNative } from '../errors.js';
import type { Data } from '../tensor/dtype.js';
import { type Shape, Tensor, numel, shapeStr } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { int, intList, parseAttrs, required } from './attrs.js';
import { defineOp, dispatch } from './define.js';
import { normAxis, toIndices } from './axes.js';
import { sameShape } from './shape-rules.js';

/** A buffer with a shape, for the native kernels gather is made of (CPU). */
const T = (data: Data, shape: readonly number[]): KernelTensor => ({ _native: data, shape });
const run = (op: string, inputs: KernelTensor[], out: KernelTensor, attrs: object = {}) => runKernel(op, 'cpu', inputs, [out], attrs);
const SWAP = { perm: [1, 0, 2] };

/** The embedding kernel copies 32-bit rows without arithmetic, so int32 data goes through it as float32 bits. */
const asF32 = (d: Data): Float32Array => (d instanceof Float32Array ? d : new Float32Array(d.buffer, d.byteOffset, d.length));

/** x.shape as [P, A, Q] around axis a (a 0-d x is one element: [1, 1, 1]). */
function around(shape: Shape, a: number): [number, number, number] {
  return [numel(shape.slice(0, a)), shape[a] ?? 1, numel(shape.slice(a + 1))];
}
/** The gathered axis, where a 0-d x counts as one element along axis 0 or -1 (like torch.gather). */
const gatherAxis = (op: string, axis: number, rank: number): number => normAxis(op, axis, rank, { scalar: true });

/** Runs fn with a scratch buffer of n float32 values (pooled), released afterwards. */
function scratch<T>(n: number, fn: (buf: Float32Array) => T): T {
  const tmp = Tensor._alloc([n], 'float32');
  try {
    return fn(tmp._data as Float32Array);
  } finally {
    tmp.dispose();
  }
}

const gatherShape = (x: Shape, idx: Shape, a: number): number[] => [...x.slice(0, a), ...idx, ...x.slice(a + 1)];

interface GatherAttrs {
  axis: number;
}

const gatherBackwardOp = defineOp<GatherAttrs & { shape: number[] }>({
  name: 'gather_backward',
  doc: 'gradient of gather: zeros of x\'s shape, each slice of dy added at its index (repeated indices accumulate)',
  inputs: [{ name: 'dy' }, { name: 'indices', dtype: 'int32' }],
  attrs: { axis: { check: int(), default: 0 }, shape: { check: intList({ min: 0 }), default: required } },
  gradientOf: 'gather',
  infer: ([dy, idx], { axis, shape }) => {
    const want = gatherShape(shape, idx!.shape, gatherAxis('gather_backward', axis, shape.length));
    if (!sameShape(dy!.shape, want)) throw new ShapeError(`gather_backward: dy has shape ${shapeStr(dy!.shape)}, but gathering x ${shapeStr(shape)} with indices ${shapeStr(idx!.shape)} on axis ${axis} gives ${shapeStr(want)}`);
    return [{ shape, dtype: 'float32' }];
  },
  kernel: ([dy, idx], [gx], { axis, shape }) => {
    const [P, A, Q] = around(shape, gatherAxis('gather_backward', axis, shape.length));
    const I = idx!.size;
    const ids = idx!._data as Int32Array;
    const g = dy!._data as Float32Array;
    const out = gx!._data as Float32Array;
    if (P === 1) return run('embedding_backward', [T(g, [I, Q]), T(ids, [I])], T(out, [A, Q]));
    // dy [P, I, Q] -> [I, P*Q]; scatter-add rows into [A, P*Q]; -> [P, A, Q]
    scratch(I * P * Q, (rows) => {
      run('permute', [T(g, [P, I, Q])], T(rows, [I, P, Q]), SWAP);
      scratch(A * P * Q, (acc) => {
        run('embedding_backward', [T(rows, [I, P * Q]), T(ids, [I])], T(acc, [A, P * Q]));
        run('permute', [T(acc, [A, P, Q])], T(out, [P, A, Q]), SWAP);
      });
    });
  },
});

const gatherOp = defineOp<GatherAttrs>({
  name: 'gather',
  doc: 'x indexed along axis by int32 indices: shape x.shape[:axis] + indices.shape + x.shape[axis+1:]',
  inputs: [{ name: 'x', dtype: 'any' }, { name: 'indices', dtype: 'int32' }],
  attrs: { axis: { check: int(), default: 0 } },
  infer: ([x, idx], { axis }) => [{ shape: gatherShape(x!.shape, idx!.shape, gatherAxis('gather', axis, x!.ndim)), dtype: x!.dtype }],
  kernel: ([x, idx], [y], { axis }) => {
    const a = gatherAxis('gather', axis, x!.ndim);
    const [P, A, Q] = around(x!.shape, a);
    const I = idx!.size;
    const ids = idx!._data as Int32Array;
    const src = asF32(x!._data);
    const out = asF32(y!._data);
    try {
      if (P === 1) return run('embedding', [T(ids, [I]), T(src, [A, Q])], T(out, [I, Q]));
      // x [P, A, Q] -> rows [A, P*Q]; pick rows -> [I, P, Q]; -> [P, I, Q]
      scratch(A * P * Q, (rows) => {
        run('permute', [T(src, [P, A, Q])], T(rows, [A, P, Q]), SWAP);
        scratch(I * P * Q, (picked) => {
          run('embedding', [T(ids, [I]), T(rows, [A, P * Q])], T(picked, [I, P * Q]));
          run('permute', [T(picked, [I, P, Q])], T(out, [P, I, Q]), SWAP);
        });
      });
    } catch (err) {
      const e = fromNative(err);
      if (e instanceof RangeIndexError) {
        // The native message names the id and its position; say which axis it indexes.
        throw new RangeIndexError(`gather: ${e.message.replace(/^embedding:\s*id/, 'index')} for axis ${axis} of x ${shapeStr(x!.shape)}`, { cause: e });
      }
      throw e;
    }
  },
  grad: ({ inputs: [x, idx], grads: [g], attrs: { axis } }) => [dispatch(gatherBackwardOp, [g!, idx!], { axis, shape: x!.shape.slice() })[0]!, null],
});

/**
 * Picks slices of x along axis by int32 indices in [0, x.shape[axis]) (repeats allowed):
 * torch.index_select for 1-D indices, numpy.take(x, indices, axis) in general (the result has
 * x.shape[:axis] + indices.shape + x.shape[axis+1:]). float32 and int32 x; out-of-range indices
 * throw RangeIndexError. Plain arrays of indices become int32.
 *
 * Catalog op `gather`: x indexed along axis by int32 indices: shape x.shape[:axis] + indices.shape + x.shape[axis+1:].
 */
export function gather(x: TensorLike, indices: TensorLike, axis = 0): Tensor {
  const tx = toTensor(x, 'gather');
  return dispatch(gatherOp, [tx, toIndices(indices, 'gather')], parseAttrs('gather', gatherOp.attrs, { axis }))[0]!;
}

// ---- one_hot_encoding ----
const oneHotOp = defineOp<{ depth: number }>({
  name: 'one_hot_encoding',
  doc: 'float32 one-hot rows: shape indices.shape + [depth]; every index must be in [0, depth)',
  inputs: [{ name: 'indices', dtype: 'int32' }],
  attrs: { depth: { check: int({ min: 1 }), default: required } },
  infer: ([idx], { depth }) => [{ shape: [...idx!.shape, depth], dtype: 'float32', differentiable: false }],
  // A scatter of ones: O(indices) writes, no kernel of its own worth crossing into native for.
  kernel: ([idx], [y], { depth }) => {
    const ids = idx!._data;
    const out = y!._data;
    out.fill(0);
    for (let i = 0; i < ids.length; i++) {
      const v = ids[i]!;
      if (v < 0 || v >= depth) throw new RangeIndexError(`one_hot_encoding: index ${v} at position ${i} is out of range [0, ${depth}) (depth ${depth})`);
      out[i * depth + v] = 1;
    }
  },
});

/**
 * One-hot float32 encoding of int32 class indices: shape indices.shape + [depth] (F.one_hot).
 *
 * Catalog op `one_hot_encoding`: float32 one-hot rows: shape indices.shape + [depth]; every index must be in [0, depth).
 */
export function one_hot_encoding(indices: TensorLike, depth: number): Tensor {
  return dispatch(oneHotOp, [toIndices(indices, 'one_hot_encoding')], parseAttrs('one_hot_encoding', oneHotOp.attrs, { depth }))[0]!;
}

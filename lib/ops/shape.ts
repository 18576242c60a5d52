// Shape ops that never copy (reshape and its spellings: flatten, expand_dims, squeeze) and
// permute/transpose, plus astype.
import { native } from '../native/load.js';
import { ShapeError, RangeIndexError, AttrError } from '../errors.js';
import { type Shape, type Tensor, numel, shapeStr } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { intList, oneOf } from './attrs.js';
import { defineOp, dispatch } from './define.js';
import { normAxis } from './axes.js';
import { type DType, checkInt32, isInt32 } from '../tensor/dtype.js';

const N = native();

/** Resolves one -1 in a target shape against `size` elements. */
function resolveShape(from: Shape, to: readonly number[]): number[] {
  const out = to.slice();
  let infer = -1;
  let known = 1;
  for (let i = 0; i < out.length; i++) {
    const d = out[i]!;
    if (d === -1) {
      if (infer >= 0) throw new ShapeError(`reshape: only one dimension can be -1, got ${shapeStr(to)}`);
      infer = i;
    } else if (!Number.isSafeInteger(d) || d < 0) {
      throw new ShapeError(`reshape: invalid dimension ${d} in ${shapeStr(to)}`);
    } else known *= d;
  }
  const size = numel(from);
  if (infer >= 0) {
    if (known === 0 || size % known !== 0) throw new ShapeError(`reshape: cannot reshape ${shapeStr(from)} (${size} elements) to ${shapeStr(to)}`);
    out[infer] = size / known;
  } else if (known !== size) {
    throw new ShapeError(`reshape: cannot reshape ${shapeStr(from)} (${size} elements) to ${shapeStr(to)} (${known} elements)`);
  }
  return out;
}

const reshapeOp = defineOp<{ shape: number[] }>({
  name: 'reshape',
  doc: 'the same data with another shape (no copy); one dim may be -1',
  inputs: [{ name: 'x', dtype: 'any' }],
  attrs: { shape: { check: intList({ min: -1 }), default: [] } },
  infer: ([x], { shape }) => [{ shape: resolveShape(x!.shape, shape), dtype: x!.dtype }],
  view: ([x], [m]) => [x!._view(m!.shape)],
  grad: ({ inputs: [x], grads: [g] }) => [reshape(g!, x!.shape)],
});

/** the same data with another shape (no copy); one dim may be -1. */
export function reshape(x: TensorLike, shape: readonly number[]): Tensor {
  const t = toTensor(x, 'reshape');
  const s = intList({ min: -1 })(shape, (e) => {
    throw new ShapeError(`reshape: shape must be ${e}, got ${JSON.stringify(shape)}`);
  });
  return dispatch(reshapeOp, [t], { shape: s })[0]!;
}

/** Flattens dims start_dim..end_dim into one (torch.flatten; default: everything). */
export function flatten(x: TensorLike, start_dim = 0, end_dim = -1): Tensor {
  const t = toTensor(x, 'flatten');
  if (t.ndim === 0) return reshape(t, [1]);
  const s = normAxis('flatten', start_dim, t.ndim);
  const e = normAxis('flatten', end_dim, t.ndim);
  if (s > e) throw new RangeIndexError(`flatten: start_dim ${start_dim} comes after end_dim ${end_dim} for rank ${t.ndim}`);
  const shape = [...t.shape.slice(0, s), numel(t.shape.slice(s, e + 1)), ...t.shape.slice(e + 1)];
  return reshape(t, shape);
}

/** Inserts a dim of size 1 at axis (negative counts from the end of the result). */
export function expand_dims(x: TensorLike, axis: number): Tensor {
  const t = toTensor(x, 'expand_dims');
  const a = normAxis('expand_dims', axis, t.ndim + 1);
  return reshape(t, [...t.shape.slice(0, a), 1, ...t.shape.slice(a)]);
}

/** Removes size-1 dims: all of them, or the given axis/axes (each must have size 1). */
export function squeeze(x: TensorLike, axis: number | number[] | null = null): Tensor {
  const t = toTensor(x, 'squeeze');
  if (axis === null) return reshape(t, t.shape.filter((d) => d !== 1));
  const list = (Array.isArray(axis) ? axis : [axis]).map((a) => normAxis('squeeze', a, t.ndim, { scalar: true }));
  if (t.ndim === 0) return reshape(t, []); // a 0-d tensor's one element: nothing to remove
  for (const a of list) if (t.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} has size ${t.shape[a]}, not 1 (shape ${shapeStr(t.shape)})`);
  return reshape(t, t.shape.filter((_, i) => !list.includes(i)));
}

// ---- permute / transpose ----
const permuteOp = defineOp<{ perm: number[] }>({
  name: 'permute',
  doc: 'reorders dims: output dim k is input dim perm[k] (copies)',
  inputs: [{ name: 'x', dtype: 'any' }],
  attrs: { perm: { check: intList(), default: [] } },
  infer: ([x], { perm }) => [{ shape: N.permute_shape(x!.shape as number[], perm), dtype: x!.dtype }],
  grad: ({ inputs: [x], grads: [g], attrs: { perm } }) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, k) => (inv[p < 0 ? p + x!.ndim : p] = k));
    return [permute(g!, inv)];
  },
});

/** reorders dims: output dim k is input dim perm[k] (copies). */
export function permute(x: TensorLike, perm: readonly number[]): Tensor {
  const t = toTensor(x, 'permute');
  const p = intList()(perm, (e) => {
    throw new AttrError(`permute: perm must be ${e}, got ${JSON.stringify(perm)}`);
  });
  return dispatch(permuteOp, [t], { perm: p })[0]!;
}

/** Transposes with ravop/NumPy semantics: reverses the dims, or permutes them by `axes`. */
export function transpose(x: TensorLike, axes: readonly number[] | null = null): Tensor {
  const t = toTensor(x, 'transpose');
  return permute(t, axes ?? t.shape.map((_, i) => t.ndim - 1 - i));
}

/** Swaps two dims (torch.transpose(x, dim0, dim1)). */
export function swapaxes(x: TensorLike, dim0: number, dim1: number): Tensor {
  const t = toTensor(x, 'swapaxes');
  const a = normAxis('swapaxes', dim0, t.ndim, { scalar: true });
  const b = normAxis('swapaxes', dim1, t.ndim, { scalar: true });
  if (t.ndim === 0) return permute(t, []);
  const perm = t.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(t, perm);
}

// ---- astype ----
const astypeOp = defineOp<{ dtype: DType }>({
  name: 'astype',
  doc: 'converts to another dtype (float32 -> int32 truncates toward zero; NaN, infinities and values outside int32 are an error)',
  inputs: [{ name: 'x', dtype: 'any' }],
  attrs: { dtype: { check: oneOf('float32', 'int32'), default: 'float32' } },
  infer: ([x], { dtype }) => [{ shape: x!.shape, dtype, differentiable: dtype === 'float32' && x!.dtype === 'float32' }],
  kernel: ([x], [y]) => {
    const src = x!._data;
    if (y!.dtype === 'int32' && x!.dtype === 'float32') {
      for (let i = 0; i < src.length; i++) if (!isInt32(Math.trunc(src[i]!))) checkInt32('astype', src[i]!, ` at flat index ${i}`);
    }
    y!._data.set(src);
  },
  grad: ({ grads: [g] }) => [g],
});

/** converts to another dtype (float32 -> int32 truncates toward zero; NaN, infinities and values outside int32 are an error). */
export function astype(x: TensorLike, dtype: DType): Tensor {
  return dispatch(astypeOp, [toTensor(x, 'astype')], { dtype: oneOf('float32', 'int32')(dtype, (e) => {
    throw new AttrError(`astype: dtype must be ${e}, got ${JSON.stringify(dtype)}`);
  }) })[0]!;
}

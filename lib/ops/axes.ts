// Axis and argument helpers for the shape and indexing ops (kept out of the public R.* surface).
import { ArgError, RangeIndexError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { type TensorLike, t, toTensor } from '../tensor/create.js';

/**
 * axis in [-rank, rank) -> [0, rank); RangeIndexError naming the op otherwise. With
 * `scalar: true` a 0-d tensor counts as one element along axis 0 or -1 (PyTorch's dim rule for
 * reductions, softmax, squeeze, transpose, gather): both give 0.
 */
export function normAxis(op: string, axis: number, rank: number, { scalar = false }: { scalar?: boolean } = {}): number {
  const r = scalar && rank === 0 ? 1 : rank;
  if (!Number.isSafeInteger(axis) || axis < -r || axis >= r) throw new RangeIndexError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + r : axis;
}

/** A non-empty list of tensors (numbers and nested arrays become constants). */
export function toTensorList(op: string, xs: readonly TensorLike[]): Tensor[] {
  if (!Array.isArray(xs)) throw new ArgError(`${op}: expected a list of tensors, got ${xs === null ? 'null' : typeof xs}`);
  if (xs.length === 0) throw new ArgError(`${op}: needs at least one tensor, got an empty list`);
  return xs.map((x) => toTensor(x, op));
}

/** Index tensors: a Tensor as is (its dtype is checked by the op), nested arrays as int32. */
export function toIndices(x: TensorLike, op: string): Tensor {
  return Array.isArray(x) || typeof x === 'number' ? t(x as number, { dtype: 'int32' }) : toTensor(x, op);
}

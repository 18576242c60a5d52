// Preprocessing and metrics from ML-From-Scratch's data_manipulation / data_operation utils.
import { ArgError, AttrError, RangeIndexError, ShapeError } from '../../errors.js';
import { Tensor, numel, shapeStr } from '../../tensor/tensor.js';
import { type ArrayInput, type Numbers, checkNoNaN, readNumbers } from './numeric.js';
import { t } from '../../tensor/create.js';
import { one_hot_encoding } from '../../ops/indexing.js';
import { withoutRecording } from '../../ops/define.js';

function float32Tensor(shape: number[], data: Float32Array): Tensor {
  return Tensor._fromData(shape, data);
}

/**
 * Scales X to unit `order`-norm along `axis` (sklearn-style L2 row normalisation by default);
 * slices with norm 0 are left unchanged. order: any p > 0, or Infinity (max |x|).
 */
export function normalize(X: ArrayInput, axis = -1, order = 2): Tensor {
  const where = 'normalize';
  const x = readNumbers(where, 'X', X);
  checkNoNaN(where, 'X', x);
  const nd = x.shape.length;
  if (nd === 0) throw new ShapeError(`${where}: X must have at least one axis, got a scalar`);
  if (!Number.isInteger(axis) || axis < -nd || axis >= nd) throw new RangeIndexError(`${where}: axis ${axis} is out of range for X of shape ${shapeStr(x.shape)}`);
  if (typeof order !== 'number' || !(order > 0)) throw new AttrError(`${where}: order must be a number > 0 or Infinity, got ${String(order)}`);
  const ax = axis < 0 ? axis + nd : axis;
  const n = x.shape[ax]!;
  const inner = numel(x.shape.slice(ax + 1));
  const outer = numel(x.shape.slice(0, ax));
  const out = new Float32Array(x.data.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let acc = 0;
      for (let k = 0; k < n; k++) {
        const v = Math.abs(x.data[base + k * inner]!);
        if (order === Infinity) acc = Math.max(acc, v);
        else if (order === 1) acc += v;
        else if (order === 2) acc += v * v;
        else acc += v ** order;
      }
      let norm = order === Infinity || order === 1 ? acc : order === 2 ? Math.sqrt(acc) : acc ** (1 / order);
      if (norm === 0) norm = 1;
      for (let k = 0; k < n; k++) out[base + k * inner] = x.data[base + k * inner]! / norm;
    }
  }
  return float32Tensor(x.shape, out);
}

/** Per column (every position after the first axis): subtract the mean, divide by the (population) std when it is non-zero. */
export function standardize(X: ArrayInput): Tensor {
  const where = 'standardize';
  const x = readNumbers(where, 'X', X);
  checkNoNaN(where, 'X', x);
  if (x.shape.length === 0 || x.shape[0] === 0) throw new ShapeError(`${where}: X needs at least one sample, got shape ${shapeStr(x.shape)}`);
  const n = x.shape[0]!;
  const d = numel(x.shape.slice(1));
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) mean[c]! += x.data[r * d + c]!;
  for (let c = 0; c < d; c++) mean[c]! /= n;
  for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) sq[c]! += (x.data[r * d + c]! - mean[c]!) ** 2;
  const out = new Float32Array(n * d);
  for (let c = 0; c < d; c++) {
    const std = Math.sqrt(sq[c]! / n);
    const div = std > 0 ? std : 1;
    for (let r = 0; r < n; r++) out[r * d + c] = (x.data[r * d + c]! - mean[c]!) / div;
  }
  return float32Tensor(x.shape, out);
}

/** Flat labels from a [n] or [n, 1] input; each must be a whole number. */
function readLabels(where: string, name: string, y: ArrayInput): Numbers {
  const v = readNumbers(where, name, y);
  if (!(v.shape.length === 1 || (v.shape.length === 2 && v.shape[1] === 1))) {
    throw new ShapeError(`${where}: ${name} must be a list of labels (shape [n] or [n, 1]), got shape ${shapeStr(v.shape)}`);
  }
  checkNoNaN(where, name, v);
  for (let i = 0; i < v.data.length; i++) {
    if (!Number.isInteger(v.data[i])) throw new ArgError(`${where}: ${name}[${i}] = ${v.data[i]} is not an integer class label`);
  }
  return v;
}

/** One-hot encodes integer labels in [0, n_col) as a float32 [n, n_col] tensor (n_col defaults to max label + 1). */
export function to_categorical(y: ArrayInput, n_col?: number): Tensor {
  const where = 'to_categorical';
  const { data } = readLabels(where, 'y', y);
  if (n_col !== undefined && (!Number.isSafeInteger(n_col) || n_col <= 0)) throw new AttrError(`${where}: n_col must be a positive integer, got ${String(n_col)}`);
  let cols = n_col;
  if (cols === undefined) {
    cols = 0;
    for (let i = 0; i < data.length; i++) cols = Math.max(cols, data[i]! + 1);
  }
  for (let i = 0; i < data.length; i++) {
    const label = data[i]!;
    if (label < 0 || label >= cols) throw new RangeIndexError(`${where}: label ${label} at index ${i} is outside [0, ${cols})`);
  }
  return withoutRecording(() => one_hot_encoding(t(Int32Array.from(data)), cols)); // data preparation: computed now, even while a graph is defined
}

/** Class indices from [n] / [n, 1] labels, or argmax of each row of [n, k] one-hot or probability rows. */
export function classIndices(where: string, name: string, y: ArrayInput): ArrayLike<number> {
  const v = readNumbers(where, name, y);
  checkNoNaN(where, name, v);
  if (v.shape.length === 1 || (v.shape.length === 2 && v.shape[1] === 1)) return v.data;
  if (v.shape.length !== 2) throw new ShapeError(`${where}: ${name} must have shape [n], [n, 1] or [n, classes], got ${shapeStr(v.shape)}`);
  const [n, k] = v.shape as [number, number];
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (v.data[r * k + c]! > v.data[r * k + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/** The fraction of samples whose predicted class equals the true class. */
export function accuracy_score(y_true: ArrayInput, y_pred: ArrayInput): number {
  const where = 'accuracy_score';
  const a = classIndices(where, 'y_true', y_true);
  const b = classIndices(where, 'y_pred', y_pred);
  if (a.length !== b.length) throw new ShapeError(`${where}: y_true has ${a.length} samples but y_pred has ${b.length}`);
  if (a.length === 0) throw new ShapeError(`${where}: no samples (y_true and y_pred are empty)`);
  let hit = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) hit++;
  return hit / a.length;
}

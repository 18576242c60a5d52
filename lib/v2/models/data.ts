// Turning fit/evaluate/predict inputs into tensors, with the checks that must fail before any
// training step: lengths, NaN, label range, target shape against the model's output shape.
import { ArgError, RangeIndexError, ShapeError } from '../../errors.js';
import { sameShape } from '../../ops/shape-rules.js';
import { Tensor, shapeStr } from '../../tensor/tensor.js';
import { t } from '../../tensor/create.js';
import type { DType } from '../../tensor/dtype.js';
import { type Rows, isNumericArray, isShaped } from '../utils/rows.js';
import { classIndices } from '../utils/preprocess.js';
import { checkNoNaN } from '../utils/numeric.js';
import { isRecording, withoutRecording } from '../../ops/define.js';
import { type Work, pause } from '../../io/drive.js';
import { no_grad } from '../../autograd/mode.js';

export type DataInput = Rows;

/**
 * X or y as a tensor (of `dtype` when given; data copied when converting), checked for NaN
 * (unless nanCheck is false: the caller runs checkNoNaNWork).
 */
export function asTensor(where: string, name: string, x: DataInput, dtype?: DType, nanCheck = true): Tensor {
  let v: Tensor;
  if (x instanceof Tensor) v = x.isSymbolic || x.device === 'cpu' ? x : no_grad(() => x.to('cpu')); // data is checked and batched on the host
  else if (isShaped(x)) v = t(x.data as never, { shape: x.shape });
  else if (isNumericArray(x)) v = t(x as never);
  else if (Array.isArray(x)) v = t(x as never);
  else throw new ArgError(`${where}: ${name} must be a Tensor, nested arrays or { data, shape }, got ${Object.prototype.toString.call(x)}`);
  if (v.ndim === 0) throw new ShapeError(`${where}: ${name} needs a first (samples) dimension, got a scalar`);
  if (v.isSymbolic) return dtype && v.dtype !== dtype ? v.astype(dtype) : v; // a graph value: computed (and checked) when the graph runs
  if (dtype && v.dtype !== dtype) {
    if (dtype === 'int32') checkIntegers(where, name, v);
    const from = v;
    v = withoutRecording(() => from.astype(dtype)); // data stays data while a graph is being defined
  }
  if (nanCheck && v.dtype === 'float32') checkNoNaN(where, name, { data: v._data, shape: v.shape });
  return v;
}

/** Elements checked between two pauses (a few milliseconds). */
const NAN_SLICE = 2 ** 22;

/** The NaN check of asTensor in slices, pausing between them (a whole dataset never stalls an async fit). */
export function* checkNoNaNWork(where: string, name: string, v: Tensor): Work<void> {
  if (v.isSymbolic || v.dtype !== 'float32') return;
  const d = v._data;
  for (let start = 0; start < d.length; start += NAN_SLICE) {
    if (start > 0 && !isRecording()) yield* pause();
    const end = Math.min(d.length, start + NAN_SLICE);
    for (let i = start; i < end; i++) if (d[i] !== d[i]) checkNoNaN(where, name, { data: d, shape: v.shape }); // throws, naming the place
  }
}

function checkIntegers(where: string, name: string, v: Tensor): void {
  const d = v._data;
  for (let i = 0; i < d.length; i++) if (!Number.isInteger(d[i])) throw new ArgError(`${where}: ${name} must hold integers (class indices), got ${d[i]} at flat index ${i}`);
}

export function checkSameLength(where: string, X: Tensor, y: Tensor): void {
  if (X.shape[0] !== y.shape[0]) throw new ShapeError(`${where}: X has ${X.shape[0]} samples but y has ${y.shape[0]}`);
}

/**
 * Targets for a model whose output samples have shape `out`: for a classifier, 1-D class
 * indices (made int32, each in [0, classes)) or one-hot/probability rows of the output's
 * shape; otherwise exactly the output's sample shape.
 */
export function prepareTargets(where: string, y: DataInput, out: number[] | null, classifier: boolean): Tensor {
  let yt = asTensor(where, 'y', y);
  if (classifier && out && out.length === 1 && yt.ndim === 1) {
    yt = asTensor(where, 'y', yt, 'int32');
    if (yt.isSymbolic) return yt;
    const classes = out[0]!;
    const d = yt._data;
    for (let i = 0; i < d.length; i++) {
      if (d[i]! < 0 || d[i]! >= classes) throw new RangeIndexError(`${where}: label ${d[i]} of sample ${i} is outside [0, ${classes}) for a model with ${classes} outputs`);
    }
    return yt;
  }
  if (yt.dtype !== 'float32') yt = asTensor(where, 'y', yt, 'float32');
  if (out && !sameShape(yt.shape.slice(1), out)) {
    throw new ShapeError(`${where}: y samples have shape ${shapeStr(yt.shape.slice(1))} but the model outputs ${shapeStr(out)}${classifier ? ' (give class indices (N) or one-hot rows)' : ''}`);
  }
  return yt;
}

/** How many samples' predicted class (argmax of pred's rows) equals the target class. */
export function countCorrect(pred: Tensor, target: Tensor): number {
  const p = classIndices('accuracy', 'y_pred', pred);
  const t = classIndices('accuracy', 'y', target);
  let k = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === t[i]) k++;
  return k;
}

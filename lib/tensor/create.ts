// R.t(): tensors from numbers, nested arrays and typed arrays.
import { ArgError, DtypeError, ShapeError } from '../errors.js';
import { type DeviceLike, resolveDevice } from './device.js';
import { type DType, type Data, checkDtype, checkInt32, toInt32 } from './dtype.js';
import { type Shape, Tensor, numel, shapeStr } from './tensor.js';

export interface TensorOptions {
  /** Default: float32, or int32 for an Int32Array. */
  dtype?: DType;
  /** Needed with a flat typed array or flat list (otherwise inferred from the nesting). */
  shape?: readonly number[];
  requires_grad?: boolean;
  /** 'cpu' (default; a tensor argument keeps its device), 'cuda' or 'cuda:N'. */
  device?: DeviceLike;
}

export type NestedNumbers = number | boolean | readonly NestedNumbers[];
export type TensorInput = NestedNumbers | Data | ArrayLike<number> | Tensor;
/** What ops accept where a tensor goes: a Tensor, or a number / nested array turned into a constant. */
export type TensorLike = Tensor | number | readonly NestedNumbers[];

function inferShape(v: NestedNumbers): number[] {
  const shape: number[] = [];
  let cur: NestedNumbers = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0] as NestedNumbers;
  }
  return shape;
}

function flattenInto(v: NestedNumbers, shape: number[], d: number, out: Data, pos: { i: number }, path: string): void {
  if (d === shape.length) {
    if (typeof v === 'boolean') v = v ? 1 : 0;
    if (typeof v !== 'number') throw new ArgError(`t(): expected a number at ${path || 'the top'}, got ${Array.isArray(v) ? 'an array' : typeof v}`);
    out[pos.i++] = v;
    return;
  }
  if (!Array.isArray(v) || v.length !== shape[d]) {
    throw new ShapeError(`t(): ragged nested array: ${path || 'the top'} should be an array of length ${shape[d]} (shape ${shapeStr(shape)}), got ${Array.isArray(v) ? `length ${v.length}` : typeof v}`);
  }
  for (let i = 0; i < v.length; i++) flattenInto(v[i] as NestedNumbers, shape, d + 1, out, pos, `${path}[${i}]`);
}

/** Makes a tensor (R.t, like ravop's R.t): from a number, nested arrays, or a typed array with a shape. Copies the data. */
export function t(value: TensorInput, options: TensorOptions = {}): Tensor {
  if (options === null || typeof options !== 'object') throw new ArgError(`t(): options must be an object`);
  let dtype: DType | undefined = options.dtype === undefined ? undefined : checkDtype('t()', options.dtype);
  const device = options.device === undefined ? undefined : resolveDevice('t()', options.device);
  if (device !== undefined && device !== 'cpu' && value instanceof Tensor && value.isSymbolic) {
    throw new ArgError(`t(): a value of a graph being defined cannot be put on '${device}'`);
  }
  let out: Tensor;
  if (value instanceof Tensor && value.isSymbolic) {
    // A value of a graph being defined: the same value (graph values are never changed in place).
    if (dtype !== undefined && dtype !== value.dtype) throw new DtypeError(`t(): converting a graph value from ${value.dtype} to ${dtype} is an op: use astype`);
    out = value._view(value.shape);
  } else if (value instanceof Tensor) {
    const src = value.device === 'cpu' ? value._data.slice() : value._host(); // a copy either way
    out = Tensor._fromData(value.shape, value.dtype === (dtype ?? value.dtype) ? src : convert(src, dtype!));
  } else if (ArrayBuffer.isView(value)) {
    if (value instanceof DataView || value instanceof BigInt64Array || value instanceof BigUint64Array) {
      throw new DtypeError(`t(): unsupported typed array ${Object.prototype.toString.call(value)}`);
    }
    dtype ??= value instanceof Int32Array ? 'int32' : 'float32';
    const shape = options.shape ? checkShape(options.shape) : [value.length];
    if (numel(shape) !== value.length) throw new ShapeError(`t(): shape ${shapeStr(shape)} needs ${numel(shape)} values, the typed array has ${value.length}`);
    out = Tensor._fromData(shape, convert(value as unknown as ArrayLike<number>, dtype));
  } else if (typeof value === 'number' || typeof value === 'boolean' || Array.isArray(value)) {
    const nested = value as NestedNumbers;
    const shape = inferShape(nested);
    dtype ??= 'float32';
    const data = dtype === 'int32' ? new Int32Array(numel(shape)) : new Float32Array(numel(shape));
    flattenInto(nested, shape, 0, data, { i: 0 }, '');
    if (dtype === 'int32') checkIntegral(nested);
    // One tensor owns the data (two owners would both hand it back to the pool).
    out = Tensor._fromData(options.shape ? reshapeChecked(shape, checkShape(options.shape)) : shape, data);
  } else {
    throw new ArgError(`t(): cannot make a tensor from ${value === null ? 'null' : typeof value}`);
  }
  const dev = device ?? (value instanceof Tensor ? value.device : 'cpu');
  if (!out.isSymbolic) out = out._relocate(dev);
  if (options.requires_grad) out.requires_grad_(true);
  return out;
}

function checkIntegral(v: NestedNumbers): void {
  // Int32Array truncates and wraps silently; nested input is small, so re-check the source values.
  const walk = (x: NestedNumbers): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (typeof x === 'number') checkInt32('t()', x);
  };
  walk(v);
}

function convert(src: ArrayLike<number>, dtype: DType): Data {
  return dtype === 'int32' ? toInt32('t()', src) : Float32Array.from(src);
}

export function checkShape(shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new ShapeError(`shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return shape.slice();
}

function reshapeChecked(from: Shape, to: number[]): number[] {
  if (numel(from) !== numel(to)) throw new ShapeError(`t(): shape ${shapeStr(to)} needs ${numel(to)} values, got ${numel(from)}`);
  return to;
}

/** Turns a TensorLike into a Tensor (numbers and arrays become float32 constants). */
export function toTensor(x: TensorLike, where: string): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === 'number') {
    const data = new Float32Array(1);
    data[0] = x;
    return Tensor._fromData([], data);
  }
  if (Array.isArray(x)) return t(x);
  throw new ArgError(`${where}: expected a Tensor, a number or a nested array, got ${x === null ? 'null' : typeof x}`);
}

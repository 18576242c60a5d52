// Row access over the dataset kinds the utils accept: Tensors, nested JS arrays, typed arrays
// (1-D) and { data, shape } records. Results keep the kind of the input.
import { ArgError, ShapeError } from '../../errors.js';
import { Tensor, numel, shapeStr } from '../../tensor/tensor.js';
import { t } from '../../tensor/create.js';
import { slice } from '../../ops/join.js';
import { gather as gatherOp } from '../../ops/indexing.js';

export type NumericArray =
  | Float32Array | Float64Array | Int32Array | Uint32Array
  | Int16Array | Uint16Array | Int8Array | Uint8Array | Uint8ClampedArray;

/** A typed array with its shape (C order), e.g. what read_idx returns. */
export interface ShapedArray<A extends NumericArray = NumericArray> {
  data: A;
  shape: readonly number[];
}

/** Anything whose first axis indexes samples. */
export type Rows = Tensor | readonly unknown[] | NumericArray | ShapedArray;

export function isNumericArray(x: unknown): x is NumericArray {
  return ArrayBuffer.isView(x) && !(x instanceof DataView) && !(x instanceof BigInt64Array) && !(x instanceof BigUint64Array);
}

export function isShaped(x: unknown): x is ShapedArray {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Tensor) && isNumericArray((x as ShapedArray).data) && Array.isArray((x as ShapedArray).shape);
}

function checkShaped(where: string, name: string, x: ShapedArray): void {
  if (x.shape.length === 0 || numel(x.shape) !== x.data.length) {
    throw new ShapeError(`${where}: ${name} has shape ${shapeStr(x.shape)} but ${x.data.length} values (needs at least one axis and matching size)`);
  }
}

/** The number of samples (length of the first axis). */
export function nrows(where: string, name: string, x: Rows): number {
  if (x instanceof Tensor) {
    if (x.ndim === 0) throw new ShapeError(`${where}: ${name} is a 0-d tensor; it needs a first (sample) axis`);
    return x.shape[0]!;
  }
  if (Array.isArray(x) || isNumericArray(x)) return x.length;
  if (isShaped(x)) {
    checkShaped(where, name, x);
    return x.shape[0]!;
  }
  throw new ArgError(`${where}: ${name} must be a Tensor, a nested array, a typed array or { data, shape }, got ${x === null ? 'null' : typeof x}`);
}

export function checkSameLength(where: string, X: Rows, y: Rows): number {
  const n = nrows(where, 'X', X);
  const m = nrows(where, 'y', y);
  if (n !== m) throw new ShapeError(`${where}: X has ${n} samples but y has ${m}`);
  return n;
}

/** Rows [begin, end) as a new value of the same kind. */
export function sliceRows<R extends Rows>(x: R, begin: number, end: number): R {
  if (x instanceof Tensor) {
    // Rows of a graph value are a slice op; rows of data are data (a graph stores equal constants once).
    if (x.isSymbolic) return slice(x, [begin, ...x.shape.slice(1).map(() => 0)], [end, ...x.shape.slice(1)]) as R;
    const rs = numel(x.shape.slice(1));
    // From the buffer pool, so a training loop's batches reuse the buffers they give back.
    const out = Tensor._alloc([end - begin, ...x.shape.slice(1)], x.dtype);
    out._data.set(x._data.subarray(begin * rs, end * rs));
    return out as R;
  }
  if (Array.isArray(x) || isNumericArray(x)) return x.slice(begin, end) as unknown as R;
  const s = x as ShapedArray;
  const rs = numel(s.shape.slice(1));
  return { data: s.data.slice(begin * rs, end * rs), shape: [end - begin, ...s.shape.slice(1)] } as unknown as R;
}

function gather<A extends NumericArray>(data: A, rs: number, idx: ArrayLike<number>, into?: A): A {
  const out = into ?? new (data.constructor as new (n: number) => A)(idx.length * rs);
  for (let i = 0; i < idx.length; i++) out.set(data.subarray(idx[i]! * rs, (idx[i]! + 1) * rs), i * rs);
  return out;
}

/** The rows at the given indices (in that order) as a new value of the same kind. */
export function takeRows<R extends Rows>(x: R, idx: ArrayLike<number>): R {
  if (x instanceof Tensor) {
    if (x.isSymbolic) return gatherOp(x, t(Int32Array.from(idx)), 0) as R;
    const rest = x.shape.slice(1);
    const out = Tensor._alloc([idx.length, ...rest], x.dtype); // pooled, as in sliceRows
    gather(x._data, numel(rest), idx, out._data);
    return out as R;
  }
  if (Array.isArray(x)) return Array.from(idx, (i) => x[i]) as unknown as R;
  if (isNumericArray(x)) return gather(x, 1, idx) as R;
  const s = x as ShapedArray;
  const rest = s.shape.slice(1);
  return { data: gather(s.data, numel(rest), idx), shape: [idx.length, ...rest] } as unknown as R;
}

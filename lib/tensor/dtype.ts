// Tensor element types: float32 is the working dtype; int32 holds indices, labels and ids.
import { DtypeError } from '../errors.js';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export type DType = 'float32' | 'int32';
export type Data = Float32Array | Int32Array;
export const DTYPES: readonly DType[] = ['float32', 'int32'];

export function dtypeOf(data: Data): DType {
  return data instanceof Int32Array ? 'int32' : 'float32';
}

export function checkDtype(where: string, dtype: unknown): DType {
  if (dtype === 'float32' || dtype === 'int32') return dtype;
  throw new DtypeError(`${where}: unknown dtype ${JSON.stringify(dtype)} (expected 'float32' or 'int32')`);
}

export function newData(dtype: DType, n: number): Data {
  return dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
}

/** Whether v is an integer that int32 holds exactly. */
export function isInt32(v: number): boolean {
  return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
}

/** Throws unless v is an integer int32 holds: int32 conversion never truncates or wraps silently. */
export function checkInt32(where: string, v: number, at = ''): void {
  if (!isInt32(v)) {
    throw new DtypeError(`${where}: int32 needs integers in [${INT32_MIN}, ${INT32_MAX}], got ${v}${at}`);
  }
}

/** The values as int32, each checked (a fraction, NaN, infinity or out-of-range value is a DtypeError). */
export function toInt32(where: string, src: ArrayLike<number>): Int32Array {
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    if (!isInt32(v)) checkInt32(where, v, ` at flat index ${i}`);
    out[i] = v;
  }
  return out;
}

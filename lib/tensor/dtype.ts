// Tensor element types: float32 is the working dtype; int32 holds indices, labels and ids.
import { DtypeError } from '../errors.js';

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

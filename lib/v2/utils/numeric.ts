// Reading numeric inputs of any accepted kind as (flat data, shape), with typed errors that name
// the calling function.
import { ArgError, RavdlError } from '../../errors.js';
import { t } from '../../tensor/create.js';
import type { NestedNumbers } from '../../tensor/create.js';
import { Tensor } from '../../tensor/tensor.js';
import { type NumericArray, type ShapedArray, isNumericArray, isShaped } from './rows.js';

/** What the numeric utils accept: a Tensor, a number, nested arrays, a typed array (1-D) or { data, shape }. */
export type ArrayInput = Tensor | number | readonly NestedNumbers[] | NumericArray | ShapedArray;

export interface Numbers {
  data: ArrayLike<number>;
  shape: number[];
}

export function readNumbers(where: string, name: string, x: ArrayInput): Numbers {
  if (x instanceof Tensor) return { data: x._host(), shape: x.shape.slice() };
  if (isNumericArray(x)) return { data: x, shape: [x.length] };
  if (isShaped(x)) {
    const n = x.shape.reduce((a, b) => a * b, 1);
    if (n !== x.data.length) throw new ArgError(`${where}: ${name} has shape [${x.shape.join(', ')}] but ${x.data.length} values`);
    return { data: x.data, shape: x.shape.slice() };
  }
  try {
    const tt = t(x as NestedNumbers);
    return { data: tt._data, shape: tt.shape.slice() };
  } catch (e) {
    // Re-raise t()'s error under this function's name, keeping its class and code.
    if (e instanceof RavdlError) {
      const Ctor = e.constructor as new (m: string, o?: { cause?: unknown }) => RavdlError;
      throw new Ctor(`${where}: ${name}: ${e.message.replace(/^t\(\): /, '')}`, { cause: e });
    }
    throw e;
  }
}

/** Throws if any value is NaN (names the flat index and, for matrices, the row and column). */
export function checkNoNaN(where: string, name: string, x: { data: ArrayLike<number>; shape: readonly number[] }): void {
  const { data, shape } = x;
  for (let i = 0; i < data.length; i++) {
    if (Number.isNaN(data[i])) {
      const row = shape.length >= 2 ? data.length / shape[0]! : 0;
      const at = shape.length === 2 ? `row ${Math.floor(i / row)}, column ${i % row}` : row > 0 ? `sample ${Math.floor(i / row)} (flat index ${i})` : `index ${i}`;
      throw new ArgError(`${where}: ${name} contains NaN at ${at}`);
    }
  }
}

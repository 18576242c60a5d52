// Helpers shared by the neural-network ops (conv, norm, softmax, loss, dropout, embedding).
import { RavdlError, ShapeError, fromNative } from '../errors.js';
import { type Shape, shapeStr } from '../tensor/tensor.js';
import { sameShape } from './shape-rules.js';

/**
 * Runs a native *_shape function (the single source of the shape rule). Its error keeps its
 * type but is re-worded to name the catalog op and the shapes it was given.
 */
export function nativeShape<T>(op: string, shapes: Record<string, Shape>, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = fromNative(err);
    if (!(e instanceof RavdlError)) throw e;
    const msg = e.message.replace(/^[a-z0-9_]+: /, '');
    const desc = Object.entries(shapes).map(([k, s]) => `${k} ${shapeStr(s)}`).join(', ');
    e.message = `${op}: ${msg} (${desc})`;
    throw e;
  }
}

/** Throws a ShapeError naming the op and both shapes unless they are equal. */
export function expectShape(op: string, what: string, got: Shape, want: Shape, wantWhat: string): void {
  if (!sameShape(got, want)) throw new ShapeError(`${op}: ${what} has shape ${shapeStr(got)}, expected ${shapeStr(want)} to match ${wantWhat}`);
}

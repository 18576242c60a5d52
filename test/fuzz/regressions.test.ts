// Bugs the binding fuzzer found, one case each (the fuzzer itself may not hit them every seed).
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';
import { runOp, tensorArg as T } from '../helpers/kernels.js';

const N = native();

function thrown(f: () => unknown): { code?: string; message: string } | undefined {
  try {
    f();
  } catch (e) {
    return e as { code?: string; message: string };
  }
  return undefined;
}

/** Moves the buffer's memory to a clone that is dropped at once (so it can be freed). */
const detach = (a: ArrayBufferView) => void structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });

describe('fuzzer regressions', () => {
  it('accepts typed arrays on a SharedArrayBuffer (was an untyped "Invalid argument" error)', () => {
    const a = new Float32Array(new SharedArrayBuffer(16)).fill(2);
    const out = new Float32Array(new SharedArrayBuffer(16));
    runOp('add', [T(a, [4]), T(a, [4])], [T(out, [4])]);
    expect(Array.from(out)).toEqual([4, 4, 4, 4]);
    const joined = new Float32Array(new SharedArrayBuffer(32));
    runOp('concat', [T(a, [4]), T(a, [4])], [T(joined, [8])], { axis: 0 });
    expect(Array.from(joined)).toEqual(new Array(8).fill(2));
  });

  it('refuses a buffer detached by a getter while the arguments are read (was a use-after-free)', () => {
    const x = new Float32Array(2 * 3).fill(1);
    const out = new Float32Array(6);
    const attrs = { get momentum() { detach(out); return 0.1; } };
    const e = thrown(() => N.batch_norm(x, [2, 3], null, null, null, null, out, null, null, attrs));
    expect(e?.code).toBe('ERR_ARG');
    expect(e?.message).toMatch(/^batch_norm: a typed array argument was detached or resized/);

    // A shape list whose element is an accessor (x is read before the shape).
    const a = new Float32Array(6);
    const shape = [2, 3];
    Object.defineProperty(shape, 1, { get: () => (detach(a), 3) });
    expect(thrown(() => N.batch_norm(a, shape, null, null, null, null, new Float32Array(6), null, null, {}))?.message).toMatch(/^batch_norm: .*detached or resized/);
  });

  it('passes a getter\'s own exception through, and reads a Proxy like a plain object', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]), out = new Float32Array(6);
    const mine = new Error('mine');
    expect(thrown(() => N.batch_norm(x, [2, 3], null, null, null, null, out, null, null, { get eps(): number { throw mine; } }))).toBe(mine);
    N.batch_norm(x, [3, 2], null, null, null, null, out, null, null, new Proxy({ training: true }, {}));
    expect(Math.abs(out[0]! + out[2]! + out[4]!)).toBeLessThan(1e-5);
  });

  it('names the backward function in its errors (they named the forward op)', () => {
    const x = new Float32Array(4), g = new Float32Array(4);
    const shifted = new Float32Array(x.buffer, 4, 3); // overlaps x without being x
    const grad = (op: string, attrs: object, gi = new Float32Array(4), xs = x, gs = g) => thrown(() => runOp(op, [T(xs, [xs.length]), T(gs, [gs.length])], [T(gi, [gi.length])], attrs))?.message;
    expect(grad('clip_backward', { min: -1, max: 1 }, shifted, x.subarray(0, 3), g.subarray(0, 3))).toMatch(/^clip_backward: output 0 partially overlaps input 0/);
    expect(grad('softplus_backward', { beta: 0 })).toMatch(/^softplus_backward: beta/);
    expect(grad('hardshrink_backward', { lambd: Infinity })).toMatch(/^hardshrink_backward: lambd/);
  });

  it('names the function when a shape overflows (the message had no op)', () => {
    const e = thrown(() => N.conv2d_shape([2, 3, 2 ** 31 + 2, 2 ** 31 + 2], [4, 3, 1, 1], {}));
    expect(e?.code).toBe('ERR_SHAPE');
    expect(e?.message).toMatch(/^conv2d_shape: shape \[.*\] has too many elements/);
  });
});

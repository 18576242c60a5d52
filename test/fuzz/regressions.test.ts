// Bugs the binding fuzzer found, one case each (the fuzzer itself may not hit them every seed).
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';

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
    N.add(a, [4], a, [4], out);
    expect(Array.from(out)).toEqual([4, 4, 4, 4]);
    const joined = new Float32Array(new SharedArrayBuffer(32));
    N.concat([a, a], [[4], [4]], 0, joined);
    expect(Array.from(joined)).toEqual(new Array(8).fill(2));
  });

  it('refuses a buffer detached by a getter while the arguments are read (was a use-after-free)', () => {
    const x = new Float32Array(1 * 1 * 4 * 4).fill(1);
    const w = new Float32Array(9).fill(1);
    const out = new Float32Array(4);
    const attrs = { get stride() { detach(out); return 1; } };
    const e = thrown(() => N.conv2d(x, [1, 1, 4, 4], w, [1, 1, 3, 3], null, out, attrs));
    expect(e?.code).toBe('ERR_ARG');
    expect(e?.message).toMatch(/^conv2d: a typed array argument was detached or resized/);

    // A shape list whose element is an accessor (a is read before bShape), and split's outputs.
    const a = new Float32Array(6), b = new Float32Array(6);
    const bShape = [2, 3];
    Object.defineProperty(bShape, 1, { get: () => (detach(a), 3) });
    expect(thrown(() => N.add(a, [2, 3], b, bShape, new Float32Array(6)))?.message).toMatch(/^add: .*detached or resized/);
    const z = new Float32Array(6), o1 = new Float32Array(3), o2 = new Float32Array(3);
    const outs = [o1, o2];
    Object.defineProperty(outs, 1, { get: () => (detach(z), o2) });
    expect(thrown(() => N.split(z, [6], 0, [3, 3], outs))?.message).toMatch(/^split: .*detached or resized/);
  });

  it('passes a getter\'s own exception through, and reads a Proxy like a plain object', () => {
    const x = new Float32Array(16).fill(1), w = new Float32Array(9).fill(1), out = new Float32Array(4);
    const mine = new Error('mine');
    expect(thrown(() => N.conv2d(x, [1, 1, 4, 4], w, [1, 1, 3, 3], null, out, { get padding(): number { throw mine; } }))).toBe(mine);
    N.conv2d(x, [1, 1, 4, 4], w, [1, 1, 3, 3], null, out, new Proxy({ stride: 1 }, {}));
    expect(Array.from(out)).toEqual([9, 9, 9, 9]);
  });

  it('names the backward function in its errors (they named the forward op)', () => {
    const x = new Float32Array(4), g = new Float32Array(4);
    const shifted = new Float32Array(x.buffer, 4, 3); // overlaps x without being x
    expect(thrown(() => N.clip_backward(x.subarray(0, 3), g.subarray(0, 3), shifted, -1, 1))?.message).toMatch(/^clip_backward: grad_in must not share memory with x/);
    expect(thrown(() => N.softplus_backward(x, g, new Float32Array(4), 0))?.message).toMatch(/^softplus_backward: beta/);
    expect(thrown(() => N.hardshrink_backward(x, g, new Float32Array(4), Infinity))?.message).toMatch(/^hardshrink_backward: lambd/);
  });

  it('names the function when a shape overflows (the message had no op)', () => {
    const e = thrown(() => N.conv2d_shape([2, 3, 2 ** 31 + 2, 2 ** 31 + 2], [4, 3, 1, 1], {}));
    expect(e?.code).toBe('ERR_SHAPE');
    expect(e?.message).toMatch(/^conv2d_shape: shape \[.*\] has too many elements/);
  });
});

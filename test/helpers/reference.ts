// Independent float64 references and deterministic data for the threaded value tests
// (test/native/threaded-*.test.ts): plain loops, no shared code with the kernels.
import { expect } from 'vitest';

/** n values in [lo, hi) from a fixed LCG (the same on every run and machine). */
export function lcg(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

export const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Row-major strides of a shape. */
export function strides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i]!;
  }
  return st;
}

/**
 * For each element of x (shape `shape`), the index of its output when `axes` are reduced
 * (keepdims layout = the kept dims in order).
 */
export function outIndexOf(shape: readonly number[], axes: readonly number[]): { out: Int32Array; nOut: number } {
  const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const keptShape = kept.map((d) => shape[d]!);
  const keptStrides = strides(keptShape);
  const n = numel(shape);
  const out = new Int32Array(n);
  const coord = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let o = 0;
    kept.forEach((d, k) => (o += coord[d]! * keptStrides[k]!));
    out[i] = o;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++coord[d]! < shape[d]!) break;
      coord[d] = 0;
    }
  }
  return { out, nOut: numel(keptShape) };
}

/** Asserts |got - want| <= atol + rtol * |want| everywhere, naming the first bad index. */
export function expectNear(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, label: string): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w))) expect.fail(`${label}: element ${i} is ${g}, expected ${w} (rtol ${rtol}, atol ${atol})`);
  }
}

// Argument skeletons: a JSON form of one binding call that keeps the structure (typed array
// kind and length, shapes, numbers, strings, attribute objects) and a value generator instead
// of large data. The recorder writes them, the corpus stores them, the fuzzer mutates and
// rebuilds them (build.ts).

export const KINDS = {
  f32: Float32Array,
  f64: Float64Array,
  i32: Int32Array,
  u32: Uint32Array,
  i16: Int16Array,
  u8: Uint8Array,
  u8c: Uint8ClampedArray,
  i64: BigInt64Array,
} as const;
export type Kind = keyof typeof KINDS;
export type AnyTyped =
  | Float32Array<ArrayBufferLike>
  | Float64Array<ArrayBufferLike>
  | Int32Array<ArrayBufferLike>
  | Uint32Array<ArrayBufferLike>
  | Int16Array<ArrayBufferLike>
  | Uint8Array<ArrayBufferLike>
  | Uint8ClampedArray<ArrayBufferLike>
  | BigInt64Array<ArrayBufferLike>;

/** How to regenerate values: uniform in [lo, hi] (integers when int), or drawn from `set`. */
export interface Gen {
  lo: number;
  hi: number;
  int?: 1;
  set?: number[];
}

export interface TaSk {
  ta: Kind;
  n: number;
  /** Exact values (small arrays) ... */
  v?: number[];
  /** ... or a generator (large arrays). Neither: an output whose old contents do not matter. */
  g?: Gen;
  /** Written by the call (an output or an in/out buffer such as an optimizer's param). */
  o?: 1;
}

/** A skeleton: literals stand for themselves; a plain array of numbers is a shape or int list. */
export type Sk =
  | number
  | string
  | boolean
  | null
  | number[]
  | { u: 1 }
  | { num: 'NaN' | 'Infinity' | '-Infinity' | '-0' }
  | TaSk
  | { same: number }
  | { arr: Sk[] }
  | { obj: Record<string, Sk> };

export interface Seed {
  fn: string;
  args: Sk[];
}

export const isTa = (s: Sk): s is TaSk => typeof s === 'object' && s !== null && 'ta' in s;
export const isObj = (s: Sk): s is { obj: Record<string, Sk> } => typeof s === 'object' && s !== null && 'obj' in s;
export const isArr = (s: Sk): s is { arr: Sk[] } => typeof s === 'object' && s !== null && 'arr' in s;
export const isInts = (s: Sk): s is number[] => Array.isArray(s);

export function kindOf(v: ArrayBufferView): Kind | undefined {
  for (const [k, C] of Object.entries(KINDS)) if (v instanceof C) return k as Kind;
  return undefined;
}

/** Numbers that JSON cannot hold. */
export function encodeNumber(x: number): Sk {
  if (Number.isNaN(x)) return { num: 'NaN' };
  if (x === Infinity) return { num: 'Infinity' };
  if (x === -Infinity) return { num: '-Infinity' };
  if (Object.is(x, -0)) return { num: '-0' };
  return x;
}
export function decodeNumber(s: { num: string }): number {
  return s.num === '-0' ? -0 : Number(s.num);
}

/** Significant digits kept for recorded float values (enough to keep a call valid). */
const round = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);

/** Values of a typed array: exact when small (or an index-like int array), a generator otherwise. */
export function describeValues(a: AnyTyped, keepUpTo: number): Pick<TaSk, 'v' | 'g'> {
  const n = a.length;
  if (n === 0 || a instanceof BigInt64Array) return {};
  const xs = a as unknown as ArrayLike<number>;
  let lo = Infinity, hi = -Infinity, int = true, finite = true;
  const set = new Set<number>();
  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    if (!Number.isFinite(x)) { finite = false; continue; }
    if (x < lo) lo = x;
    if (x > hi) hi = x;
    if (int && !Number.isInteger(x)) int = false;
    if (set.size <= 16) set.add(x);
  }
  if (n <= keepUpTo && (finite || n <= 16)) return { v: Array.from(xs, round) };
  if (!finite && lo > hi) return { g: { lo: 0, hi: 0 } };
  const g: Gen = { lo: round(lo), hi: round(hi) };
  if (int) g.int = 1;
  // A small set of values (labels, masks, one-hot targets) is kept as a set.
  if (set.size <= 16 && (int || set.size <= 4)) g.set = [...set].sort((p, q) => p - q).map(round);
  return { g };
}

// ---- deterministic random numbers (a failure replays from FUZZ_SEED) ----

export function hashString(s: string, seed = 2166136261): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** mulberry32 */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

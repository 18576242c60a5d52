// Turns a (mutated) skeleton into real arguments. Every typed array lives in a larger buffer
// with canary bytes before and after its view (unless `exact`, which allocates exact sizes so
// that AddressSanitizer sees the true boundaries); inputs are snapshotted so the fuzzer can
// check after the call that canaries are intact and inputs unchanged.
import {
  decodeNumber,
  isArr,
  isObj,
  isTa,
  KINDS,
  type AnyTyped,
  type Kind,
  type Rng,
  type Sk,
  type TaSk,
} from './skeleton.js';

/** Mutator-only fields of a typed array node (never recorded). */
export interface TaPlan extends TaSk {
  /** The binding's name for this argument, learned by probing (repairs use it). */
  nm?: string;
  /** Allocate it on a SharedArrayBuffer. */
  sab?: 1;
  /** Detach its buffer (transfer it away) before the call. */
  detach?: 1;
  /** A view on typed array node `of`'s buffer, `shift` elements in (overlapping it); `same`:
   * the very same object as node `of` (an output passed as its own input). */
  alias?: { of: number; shift: number; same?: 1 };
  /** Put NaN, infinities, -0 or out-of-range integers into some elements. */
  special?: 1;
}

/** How an attribute object or a list argument misbehaves when the binding reads it. */
export type Trap = 'throw' | 'proxy' | 'proxy-throw' | 'detach';
export type TrapSk = { arr: Sk[]; trap?: Trap; target?: number } | { obj: Record<string, Sk>; trap?: Trap; target?: number };

/** Thrown by trap getters: a call may rethrow exactly this instead of an engine error. */
export class FuzzSentinel extends Error {
  constructor() {
    super('fuzz sentinel thrown by a getter');
  }
}
export const SENTINEL = new FuzzSentinel();

export const GUARD_BYTES = 64;
const canary = (i: number) => (0xa5 ^ Math.imul(i, 29)) & 0xff;

export interface Buf {
  node: TaPlan;
  view: AnyTyped;
  /** The allocation the view lives in; [lo, hi) is the data region, canaries are outside it. */
  ab: ArrayBufferLike;
  lo: number;
  hi: number;
  guarded: boolean;
  /** Input bytes before the call (undefined for outputs). */
  before?: Uint8Array;
  detached: boolean;
}

export interface Built {
  args: unknown[];
  bufs: Buf[];
  /** Largest typed array, in elements. */
  maxLen: number;
}

const SPECIAL_F = [NaN, Infinity, -Infinity, -0, 3.4e38, -3.4e38, 1e-45, 1e30];
const SPECIAL_I = [-1, -100, 2147483647, -2147483648, 1000000, 7];

function fill(node: TaPlan, view: AnyTyped, rng: Rng): void {
  let n = view.length;
  if (view instanceof BigInt64Array) {
    for (let i = 0; i < Math.min(n, 4096); i++) view[i] = BigInt(rng.int(-3, 3));
    return;
  }
  const xs = view as unknown as { [i: number]: number; copyWithin(t: number, s: number, e: number): unknown };
  // Large arrays: random values in the first TILE elements, repeated (fast, and still varied).
  const TILE = 4096;
  const n0 = n;
  n = Math.min(n, TILE);
  const g = node.g ?? (node.v?.length ? { lo: Math.min(...node.v), hi: Math.max(...node.v), int: node.v.every(Number.isInteger) ? 1 : undefined, set: undefined } : undefined);
  const v = node.v ?? [];
  const m = Math.min(n, v.length);
  for (let i = 0; i < m; i++) xs[i] = v[i]!;
  if (g?.set?.length) for (let i = m; i < n; i++) xs[i] = rng.pick(g.set);
  else if (g) {
    const span = g.hi - g.lo;
    if (g.int) for (let i = m; i < n; i++) xs[i] = g.lo + Math.floor(rng.next() * (span + 1));
    else for (let i = m; i < n; i++) xs[i] = g.lo + rng.next() * span;
  } else for (let i = m; i < n; i++) xs[i] = rng.next() * 2 - 1;
  for (let i = n; i < n0; i += n) xs.copyWithin(i, 0, Math.min(n, n0 - i));
  n = n0;
  if (node.special && n) {
    const pool = view instanceof Float32Array || view instanceof Float64Array ? SPECIAL_F : SPECIAL_I;
    for (let k = Math.max(1, n >> 4); k > 0; k--) xs[rng.int(0, n - 1)] = rng.pick(pool);
  }
}

export interface BuildOptions {
  /** No canaries: exact-size buffers at offset 0 (AddressSanitizer sees the real bounds). */
  exact: boolean;
}

export function build(plan: Sk[], rng: Rng, opts: BuildOptions): Built {
  // Preorder list of typed array nodes (aliases point into it by index).
  const nodes: TaPlan[] = [];
  const walk = (s: Sk) => {
    if (isTa(s)) nodes.push(s);
    else if (isArr(s)) s.arr.forEach(walk);
    else if (isObj(s)) Object.values(s.obj).forEach(walk);
  };
  plan.forEach(walk);

  // Room after an alias target for the overlapping views into it.
  const slack = new Array<number>(nodes.length).fill(0);
  for (const n of nodes) {
    if (!n.alias || !nodes[n.alias.of]) continue;
    const t = nodes[n.alias.of]!;
    const need = n.alias.shift * KINDS[t.ta].BYTES_PER_ELEMENT + n.n * KINDS[n.ta].BYTES_PER_ELEMENT;
    slack[n.alias.of] = Math.max(slack[n.alias.of]!, need - t.n * KINDS[t.ta].BYTES_PER_ELEMENT);
  }

  const bufs: Buf[] = new Array(nodes.length);
  let maxLen = 0;
  const alloc = (k: number): Buf => {
    const node = nodes[k]!;
    const C = KINDS[node.ta];
    const bytes = node.n * C.BYTES_PER_ELEMENT;
    const g = opts.exact ? 0 : GUARD_BYTES;
    const extra = Math.ceil(slack[k]! / 8) * 8;
    const total = g + bytes + extra + g;
    const ab = node.sab ? new SharedArrayBuffer(total) : new ArrayBuffer(total);
    const all = new Uint8Array(ab);
    for (let i = 0; i < g; i++) all[i] = canary(i);
    for (let i = g + bytes + extra; i < total; i++) all[i] = canary(i);
    const view = new C(ab as ArrayBuffer, g, node.n) as AnyTyped;
    fill(node, view, rng);
    if (extra) all.fill(0x3c, g + bytes, g + bytes + extra);
    maxLen = Math.max(maxLen, node.n);
    return { node, view, ab, lo: g, hi: g + bytes + extra, guarded: g > 0, detached: false };
  };
  nodes.forEach((n, k) => {
    if (!n.alias || !nodes[n.alias.of] || nodes[n.alias.of]!.alias) bufs[k] = alloc(k);
  });
  nodes.forEach((n, k) => {
    if (bufs[k]) return;
    const t = bufs[n.alias!.of]!;
    if (n.alias!.same) {
      bufs[k] = { ...t, node: n };
      return;
    }
    const C = KINDS[n.ta];
    const off = t.lo + n.alias!.shift * KINDS[t.node.ta].BYTES_PER_ELEMENT;
    const ok = off % C.BYTES_PER_ELEMENT === 0 && off + n.n * C.BYTES_PER_ELEMENT <= t.hi;
    // An unaligned or too long alias falls back to its own buffer.
    bufs[k] = ok ? { ...t, node: n, view: new C(t.ab as ArrayBuffer, off, n.n) as AnyTyped } : alloc(k);
  });

  const make = (s: Sk): unknown => {
    if (isTa(s)) return bufs[nodes.indexOf(s)]!.view;
    if (s === null || typeof s !== 'object') return s;
    if (Array.isArray(s)) return s.slice();
    if ('u' in s) return undefined;
    if ('num' in s) return decodeNumber(s);
    if ('same' in s) return bufs[s.same]?.view ?? new Float32Array(0);
    const trap = (s as TrapSk).trap;
    const target = (s as TrapSk).target;
    let value: Record<string, unknown> | unknown[];
    if (isArr(s)) value = s.arr.map(make);
    else value = Object.fromEntries(Object.entries((s as { obj: Record<string, Sk> }).obj).map(([k, x]) => [k, make(x)]));
    return trap ? withTrap(value, trap, rng, () => detachLater(target)) : value;
  };
  const detachLater = (k: number | undefined) => {
    const b = k === undefined ? undefined : bufs[k];
    if (b && !b.detached) detach(b, bufs);
  };
  const args = plan.map(make);

  // Snapshots of inputs, then planned detaches (after every view exists).
  for (const b of bufs) if (!b.node.o) b.before = bytesOf(b).slice();
  for (const b of bufs) if (b.node.detach && !b.detached) detach(b, bufs);
  return { args, bufs, maxLen };
}

function bytesOf(b: Buf): Uint8Array {
  return new Uint8Array(b.view.buffer, b.view.byteOffset, b.view.byteLength);
}

/** Transfers the buffer away (the clone is dropped at once), detaching every view on it. */
function detach(b: Buf, all: Buf[]): void {
  if (b.ab instanceof SharedArrayBuffer) return; // a SharedArrayBuffer cannot be detached
  structuredClone(b.ab, { transfer: [b.ab as ArrayBuffer] });
  for (const o of all) if (o && o.ab === b.ab) o.detached = true;
  (globalThis as { gc?: () => void }).gc?.(); // frees the backing store now: a dangling pointer is a use-after-free
}

function withTrap(value: Record<string, unknown> | unknown[], trap: Trap, rng: Rng, onRead: () => void): unknown {
  const keys = Object.keys(value);
  if (trap === 'proxy') return new Proxy(value, {});
  if (trap === 'proxy-throw') {
    const fail = () => {
      throw SENTINEL;
    };
    return new Proxy(value, rng.chance(0.5) ? { get: fail } : { ownKeys: fail, get: fail });
  }
  // 'throw' / 'detach': an accessor on one existing key (arrays: one index).
  if (!keys.length) return value;
  const key = rng.pick(keys);
  const inner = (value as Record<string, unknown>)[key];
  Object.defineProperty(value, key, {
    enumerable: true,
    configurable: true,
    get() {
      if (trap === 'throw') throw SENTINEL;
      onRead();
      return inner;
    },
  });
  return value;
}

/** Violations of the buffers' invariants after a call: canaries overwritten, inputs modified. */
export function checkBuffers(built: Built): string[] {
  const bad: string[] = [];
  const outputs = new Set(built.bufs.filter((b) => b.node.o).map((b) => b.ab));
  for (const [k, b] of built.bufs.entries()) {
    if (b.detached || b.ab.byteLength === 0) continue;
    if (b.guarded) {
      const all = new Uint8Array(b.ab);
      for (let i = 0; i < b.lo; i++)
        if (all[i] !== canary(i)) {
          bad.push(`canary before buffer #${k} (${b.node.nm ?? b.node.ta}) overwritten at byte ${i - b.lo}`);
          break;
        }
      for (let i = b.hi; i < all.length; i++)
        if (all[i] !== canary(i)) {
          bad.push(`canary after buffer #${k} (${b.node.nm ?? b.node.ta}) overwritten at byte +${i - b.hi}`);
          break;
        }
    }
    if (b.before && !outputs.has(b.ab) && Buffer.compare(bytesOf(b), b.before) !== 0) {
      const now = bytesOf(b);
      const i = now.findIndex((x, j) => x !== b.before![j]);
      bad.push(`input #${k} (${b.node.nm ?? b.node.ta}) modified at byte ${i}`);
    }
  }
  return bad;
}

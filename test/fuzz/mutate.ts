// The mutation engine: each plan is a deep copy of a seed with one or two mutations applied
// (shapes, attributes, numbers, dtypes, lengths, aliasing, shared/detached buffers, trapped
// attribute objects, special values, argument lists) or scaled up so the thread pool splits it.
import type { TaPlan, Trap, TrapSk } from './build.js';
import { encodeNumber, isArr, isInts, isObj, isTa, KINDS, type Kind, type Rng, type Seed, type Sk } from './skeleton.js';

export const MUTATIONS = [
  'valid', 'shape', 'attr', 'number', 'dtype', 'length', 'alias', 'shared', 'detach', 'trap', 'values', 'args',
] as const;
export type Mutation = (typeof MUTATIONS)[number] | 'big';
const WEIGHTS: Record<(typeof MUTATIONS)[number], number> = {
  valid: 12, shape: 16, attr: 14, number: 8, dtype: 6, length: 6, alias: 8, shared: 5, detach: 4, trap: 7, values: 6, args: 3,
};

export interface Plan {
  fn: string;
  args: Sk[];
  notes: string[];
  big: boolean;
}

/** A place in the argument tree that holds one skeleton node. */
interface Slot {
  get(): Sk;
  set(v: Sk): void;
  top: boolean;
  /** Key inside an attribute object. */
  key?: string;
}

function slots(args: Sk[]): Slot[] {
  const out: Slot[] = [];
  const visit = (get: () => Sk, set: (v: Sk) => void, top: boolean, key?: string) => {
    out.push({ get, set, top, key });
    const s = get();
    if (isArr(s)) s.arr.forEach((_, i) => visit(() => s.arr[i]!, (v) => (s.arr[i] = v), false));
    else if (isObj(s)) for (const k of Object.keys(s.obj)) visit(() => s.obj[k]!, (v) => (s.obj[k] = v), false, k);
  };
  args.forEach((_, i) => visit(() => args[i]!, (v) => (args[i] = v), true));
  return out;
}

export function taNodes(args: Sk[]): TaPlan[] {
  const nodes: TaPlan[] = [];
  const walk = (s: Sk) => {
    if (isTa(s)) nodes.push(s);
    else if (isArr(s)) s.arr.forEach(walk);
    else if (isObj(s)) Object.values(s.obj).forEach(walk);
  };
  args.forEach(walk);
  return nodes;
}

const HUGE = [2 ** 31, 2 ** 32 + 1, 1e9, 2 ** 53, 2 ** 62, 1e300];
const INTS = [0, 1, 2, 3, 4, 5, 7, -1, -2, 2 ** 31 - 1, -(2 ** 31), ...HUGE];
const SPECIAL_NUMS = [NaN, Infinity, -Infinity, -0, 0.5, 1.5, -0.5, 1e-30, 0.999, 1.0001];
const STRINGS = ['zeros', 'reflect', 'replicate', 'circular', 'constant', 'same', 'valid', 'mean', 'sum', 'none', 'blas', 'builtin', '', 'bogus', 'toString', '__proto__'];
const ODD_VALUES: Sk[] = [null, { u: 1 }, { obj: {} }, { arr: [] }, 'x', true, 42, -1];

function numberLike(rng: Rng, old: number): Sk {
  const r = rng.next();
  if (r < 0.35) return encodeNumber(rng.pick(INTS));
  if (r < 0.6) return encodeNumber(rng.pick(SPECIAL_NUMS));
  if (r < 0.8) return old + rng.pick([-1, 1, 2, -2]);
  return encodeNumber(old * rng.pick([-1, 2, 10, 0.5, 1e6]));
}

function mutateShape(rng: Rng, s: number[]): Sk {
  const d = s.slice();
  const i = d.length ? rng.int(0, d.length - 1) : 0;
  switch (rng.int(0, 9)) {
    case 0: if (d.length) d[i] = d[i]! + rng.int(1, 5); break;
    case 1: if (d.length) d[i] = d[i]! * 2; break;
    case 2: if (d.length) d[i] = Math.max(0, d[i]! - 1); break;
    case 3: if (d.length) d[i] = 0; break;
    case 4: if (d.length) d[i] = rng.pick([-1, -2, -(2 ** 31)]); break;
    case 5: if (d.length) d[i] = rng.pick(HUGE); break;
    case 6: d.splice(rng.int(0, d.length), 0, rng.pick([1, 1, 2, 3])); break;
    case 7: if (d.length) d.splice(i, 1); else d.push(1); break;
    case 8: if (d.length > 1) { const j = rng.int(0, d.length - 1); [d[i], d[j]] = [d[j]!, d[i]!]; } break;
    default: return { arr: d.map((x, k) => (k === i ? encodeNumber(rng.pick([NaN, 1.5, Infinity, -0])) : x)) };
  }
  return d;
}

function mutateAttrValue(rng: Rng, v: Sk): Sk {
  if (typeof v === 'number') return Number.isInteger(v) && rng.chance(0.7) ? rng.int(-1, 6) : numberLike(rng, v);
  if (isInts(v)) return rng.chance(0.5) ? v.map(() => rng.int(-1, 5)) : mutateShape(rng, v);
  if (typeof v === 'string') return rng.pick(STRINGS);
  if (typeof v === 'boolean') return rng.chance(0.7) ? !v : rng.pick([0, 1, 'true', null]);
  return rng.pick(ODD_VALUES);
}

/** Attribute keys and their values seen in a function's seeds (to add a missing one). */
export function attrVocabulary(seeds: Seed[]): Map<string, Sk[]> {
  const vocab = new Map<string, Sk[]>();
  for (const s of seeds)
    for (const slot of slots(structuredClone(s.args)))
      if (slot.key !== undefined) {
        const vs = vocab.get(slot.key) ?? [];
        vs.push(slot.get());
        vocab.set(slot.key, vs);
      }
  return vocab;
}

function apply(m: Mutation, plan: Plan, rng: Rng, vocab: Map<string, Sk[]>): boolean {
  const args = plan.args;
  const all = slots(args);
  const tas = taNodes(args);
  const outs = tas.filter((t) => t.o);
  switch (m) {
    case 'valid':
      return true;
    case 'shape': {
      const c = all.filter((s) => isInts(s.get()));
      if (!c.length) return false;
      const s = rng.pick(c);
      s.set(mutateShape(rng, s.get() as number[]));
      return true;
    }
    case 'attr': {
      const objs = all.filter((s) => isObj(s.get()));
      if (!objs.length) return false;
      const slot = rng.pick(objs);
      const o = (slot.get() as { obj: Record<string, Sk> }).obj;
      const keys = Object.keys(o);
      const r = rng.next();
      if (r < 0.6 && keys.length) {
        const k = rng.pick(keys);
        o[k] = mutateAttrValue(rng, o[k]!);
      } else if (r < 0.75) {
        const known = [...vocab.keys()];
        const k = known.length && rng.chance(0.8) ? rng.pick(known) : rng.pick(['strides', 'pad', 'constructor', 'toString', '__proto__']);
        o[k] = vocab.has(k) && rng.chance(0.6) ? structuredClone(rng.pick(vocab.get(k)!)) : mutateAttrValue(rng, rng.pick([1, 'x', true, [1, 1]]));
      } else if (r < 0.9 && keys.length) delete o[rng.pick(keys)];
      else slot.set(rng.pick(ODD_VALUES));
      return true;
    }
    case 'number': {
      const c = all.filter((s) => { const v = s.get(); return v === null || ['number', 'string', 'boolean'].includes(typeof v) || (typeof v === 'object' && ('u' in v || 'num' in v)); });
      if (!c.length) return false;
      const s = rng.pick(c);
      const v = s.get();
      if (typeof v === 'number') s.set(numberLike(rng, v));
      else if (typeof v === 'string') s.set(rng.pick(STRINGS));
      else if (typeof v === 'boolean') s.set(rng.chance(0.6) ? !v : rng.pick(ODD_VALUES));
      // A buffer the mutation adds has no known role: it may be written (o).
      else s.set(rng.chance(0.5) ? { ta: 'f32', n: rng.pick([0, 1, 3, 16]), o: 1 } : rng.pick([0, -1, 1, 'x', true]));
      return true;
    }
    case 'dtype': {
      if (!tas.length) return false;
      const t = rng.pick(tas);
      t.ta = rng.pick((Object.keys(KINDS) as Kind[]).filter((k) => k !== t.ta));
      return true;
    }
    case 'length': {
      if (!tas.length) return false;
      const t = rng.pick(tas);
      t.n = Math.max(0, t.n + rng.pick([-1, 1, -t.n, t.n]));
      return true;
    }
    case 'alias': {
      if (!outs.length || tas.length < 2) return false;
      const o = rng.pick(outs);
      const other = tas.indexOf(rng.pick(tas.filter((t) => t !== o)));
      if (tas[other]!.alias) return false;
      o.alias = rng.chance(0.5) ? { of: other, shift: 0, same: 1 } : { of: other, shift: rng.int(0, 3) };
      return true;
    }
    case 'shared':
      if (!tas.length) return false;
      if (rng.chance(0.6)) tas.forEach((t) => (t.sab = 1));
      else rng.pick(tas).sab = 1;
      return true;
    case 'detach':
      if (!tas.length) return false;
      rng.pick(tas).detach = 1;
      return true;
    case 'trap': {
      const c = all.filter((s) => isObj(s.get()) || (s.top && isInts(s.get())) || (s.top && isArr(s.get())));
      if (!c.length) return false;
      const s = rng.pick(c);
      const v = s.get();
      const t: TrapSk = isInts(v) ? { arr: v.slice() } : (v as TrapSk);
      t.trap = rng.pick<Trap>(['throw', 'proxy', 'proxy-throw', 'detach']);
      if (t.trap === 'detach') {
        if (!tas.length) return false;
        t.target = rng.int(0, tas.length - 1);
      }
      s.set(t as Sk);
      return true;
    }
    case 'values': {
      const ins = tas.filter((t) => !t.o);
      if (!ins.length) return false;
      if (rng.chance(0.5)) ins.forEach((t) => (t.special = 1));
      else rng.pick(ins).special = 1;
      return true;
    }
    case 'args': {
      const r = rng.int(0, 3);
      if (r === 0 && args.length) args.pop();
      else if (r === 1) args.push(rng.pick<Sk>([{ u: 1 }, 0, { obj: {} }, { ta: 'f32', n: 4, o: 1 }, 'extra']));
      else if (r === 2 && args.length > 1) {
        const i = rng.int(0, args.length - 2);
        [args[i], args[i + 1]] = [args[i + 1]!, args[i]!];
      } else args.shift();
      // Moved arguments: which buffer the call may write is unknown, so none is checked as an input.
      if (r >= 2) taNodes(args).forEach((t) => (t.o = 1));
      return true;
    }
    case 'big':
      return scaleUp(plan, rng);
  }
}

/**
 * Scales a call up to 2e5-1.2e6 elements so the thread pool splits it: multiplies dim 0 of the
 * first shape (and of every other shape with the same dim 0) or, for calls without shapes, the
 * length of the longest typed arrays. Buffers that no longer fit are resized by the runner's
 * repair step (the engine's own error message names the size).
 */
function scaleUp(plan: Plan, rng: Rng): boolean {
  const target = rng.int(200_000, 1_200_000);
  const shapeSlots = slots(plan.args).filter((s) => isInts(s.get()) && (s.get() as number[]).length > 0 && (s.get() as number[])[0]! > 0);
  const tas = taNodes(plan.args);
  const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
  if (plan.fn.startsWith('runKernel:')) return scaleKernelCall(plan, target);
  if (shapeSlots.length && !(plan.fn === 'gemm')) {
    const first = shapeSlots[0]!.get() as number[];
    const f = Math.max(2, Math.ceil(target / Math.max(1, numel(first))));
    const d0 = first[0]!;
    for (const s of shapeSlots) {
      const d = s.get() as number[];
      if (d[0] === d0 && s.key === undefined) s.set([d0 * f, ...d.slice(1)]);
    }
    return true;
  }
  if (plan.fn === 'gemm') {
    // gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): grow M (rows of A and C).
    const [ta, , M] = plan.args as [boolean, boolean, number];
    if (ta || typeof M !== 'number' || M <= 0) return false;
    const f = Math.max(2, Math.ceil(target / Math.max(1, (tas[2]?.n ?? 1))));
    plan.args[2] = M * f;
    tas[0]!.n *= f;
    tas[2]!.n *= f;
    return true;
  }
  if (plan.fn === 'embedding_backward' && tas.length >= 2) {
    // embedding_backward(gy, ids, V, D, padding_idx, gw): more ids (and gy rows), same table.
    const f = Math.max(2, Math.ceil(target / Math.max(1, tas[0]!.n)));
    tas[0]!.n *= f;
    tas[1]!.n *= f;
    return true;
  }
  if (!tas.length) return false;
  const L = Math.max(...tas.map((t) => t.n));
  if (L <= 0) return false;
  const f = Math.max(2, Math.ceil(target / L));
  for (const t of tas) if (t.n === L) t.n *= f;
  return true;
}

/**
 * runKernel(op, device, meta, ...data): the shapes are in meta ([used, nIn, nOut, then ndim and
 * dims per tensor, then attributes]); dim 0 of every tensor whose dim 0 is the first tensor's
 * is multiplied, and its data with it.
 */
function scaleKernelCall(plan: Plan, target: number): boolean {
  const meta = plan.args[2];
  if (!meta || typeof meta !== 'object' || !('ta' in meta) || meta.ta !== 'f64' || !meta.v) return false;
  const m = meta.v;
  const count = (m[1] ?? 0) + (m[2] ?? 0);
  const dims: number[] = []; // position in meta of each tensor's dim 0 (-1: none)
  let k = 3;
  for (let i = 0; i < count && k < m.length; i++) {
    const nd = m[k++]!;
    dims.push(nd > 0 ? k : -1);
    k += Math.max(0, nd);
  }
  const first = dims.find((p) => p >= 0);
  if (first === undefined || !(m[first]! > 0)) return false;
  const d0 = m[first]!;
  const size = (i: number) => { const t = plan.args[3 + i]; return t && typeof t === 'object' && 'ta' in t ? t.n : 0; };
  const f = Math.max(2, Math.ceil(target / Math.max(1, size(dims.indexOf(first)))));
  dims.forEach((p, i) => {
    if (p < 0 || m[p] !== d0) return;
    m[p] = d0 * f;
    const t = plan.args[3 + i];
    if (t && typeof t === 'object' && 'ta' in t) t.n *= f;
  });
  return true;
}

export function pickMutation(rng: Rng): (typeof MUTATIONS)[number] {
  let r = rng.next() * Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
  for (const m of MUTATIONS) {
    r -= WEIGHTS[m];
    if (r < 0) return m;
  }
  return 'valid';
}

/** A new plan from `seed`: `big` scales it up, otherwise one or two random mutations. */
export function makePlan(seed: Seed, rng: Rng, vocab: Map<string, Sk[]>, big: boolean): Plan {
  const plan: Plan = { fn: seed.fn, args: structuredClone(seed.args), notes: [], big };
  if (big) {
    plan.notes.push(scaleUp(plan, rng) ? 'big' : 'big(n/a)');
    if (rng.chance(0.3)) plan.notes.push(apply('shared', plan, rng, vocab) ? 'shared' : 'shared(n/a)');
    return plan;
  }
  const count = rng.chance(0.25) ? 2 : 1;
  for (let i = 0; i < count; i++) {
    const m = pickMutation(rng);
    plan.notes.push(apply(m, plan, rng, vocab) ? m : `${m}(n/a)`);
  }
  return plan;
}

// One fuzzing process (started by driver.ts; run it directly to replay a failure):
//   FUZZ_SEED=7 FUZZ_ONLY=conv2d FUZZ_VERBOSE=1 node --expose-gc --import tsx test/fuzz/run.ts
// For every binding function of its shard it replays mutated seeds of test/fuzz/corpus.json,
// checks canaries, inputs and error discipline after every call, and prints one JSON report
// line. A crash kills the process (the driver reports the function printed last on stderr).
import { readFileSync } from 'node:fs';
import { native } from '../../lib/native/load.js';
import { build, checkBuffers, SENTINEL, type Built, type TaPlan } from './build.js';
import { CODES, type FnStats, type Report, type Violation } from './report.js';
import { attrVocabulary, makePlan, taNodes, type Plan } from './mutate.js';
import { hashString, Rng, type Seed, type Sk } from './skeleton.js';
import { fuzzTargets, targetFn } from './targets.js';

const env = process.env;
const SEED = Number(env.FUZZ_SEED ?? 1) >>> 0;
const ROUNDS = Number(env.FUZZ_CALLS ?? 150);
const BIG = Number(env.FUZZ_BIG ?? 4);
/** Share of calls with exact-size buffers (no canaries), where ASan sees the real bounds. */
const EXACT = Number(env.FUZZ_EXACT ?? 0.25);
const VERBOSE = env.FUZZ_VERBOSE === '1';
const [shard, shards] = (env.FUZZ_SHARD ?? '0/1').split('/').map(Number) as [number, number];
const only = env.FUZZ_ONLY ? new Set(env.FUZZ_ONLY.split(',')) : undefined;
const MAX_REPAIRS = 6;
/** Global state (and releaseBuffer, which detaches by design): engineControls() uses fixed lists instead of mutations. */
const ENGINE = new Set(['setNumThreads', 'setGemmBackend', 'releaseBuffer']);

type Fn = (...args: unknown[]) => unknown;
const binding = native() as unknown as Record<string, Fn>;
/** The function a fuzz target calls: 'runKernel:<op>' is runKernel (its seeds call that op). */
const callOf = (fn: string): Fn => targetFn(binding, fn);
const corpus = JSON.parse(readFileSync(new URL('./corpus.json', import.meta.url), 'utf8')) as { functions: Record<string, Seed[]> };
const hasBlas = String((binding.backendInfo!() as { blas: string }).blas) !== 'none';
const violations: Violation[] = [];

function describe(args: Sk[]): string {
  const s = JSON.stringify(args, (_k, v) => (v && typeof v === 'object' && 'ta' in v ? `${v.ta}[${v.n}]${v.o ? 'out' : ''}${v.alias ? `@${v.alias.of}+${v.alias.shift}${v.alias.same ? '=' : ''}` : ''}${v.sab ? 'S' : ''}${v.detach ? 'D' : ''}${v.special ? '!' : ''}` : v));
  return s.length > 700 ? `${s.slice(0, 700)}...` : s;
}

function violate(fn: string, round: number, plan: Plan | undefined, message: string): void {
  if (violations.length < 40) violations.push({ fn, round, seed: SEED, notes: plan?.notes.join('+') ?? '', message, args: plan ? describe(plan.args) : '' });
  if (VERBOSE || violations.length <= 3) console.error(`fuzz violation: ${fn} round ${round}: ${message}`);
}

/** Checks one thrown value; returns the bucket it is counted in. */
function classify(fn: string, err: unknown): { bucket: string; bad?: string } {
  if (err === SENTINEL) return { bucket: 'getter' };
  const e = err as { code?: unknown; message?: unknown };
  if (!(err instanceof Error) || typeof e.code !== 'string' || !CODES.includes(e.code))
    return { bucket: 'BAD', bad: `threw a non-engine error: ${String((err as Error)?.name)} code=${String(e?.code)} '${String(e?.message ?? err)}'` };
  // A shape function may speak for its op ('concat: ...' from concat_shape); runKernel's errors
  // name the op called, or runKernel itself for the arguments before the op is known.
  // (a mutated op argument, a name or a kernel handle, names another op).
  const named = fn.startsWith('runKernel:') ? /^(runKernel|[a-z][a-z0-9_]*): /.test(err.message) : err.message.includes(fn);
  if (!named && !err.message.startsWith(`${fn.replace(/_shape$/, '')}:`)) return { bucket: e.code, bad: `${e.code} message does not name ${fn}: '${err.message}'` };
  if (/out of memory/i.test(err.message)) return { bucket: 'OOM' };
  return { bucket: e.code };
}

const SIZE_MSG = /([\w[\]]+) has (\d+) elements? but (?:[^\d[]|\[[^\]]*\])*?(\d+)/;

/** Resizes the buffer an ERR_SHAPE message complains about (returns false when none fits). */
function repair(plan: Plan, err: unknown): boolean {
  if ((err as { code?: string })?.code !== 'ERR_SHAPE') return false;
  const m = SIZE_MSG.exec((err as Error).message);
  if (!m) return false;
  const [, name, had, need] = m as unknown as [string, string, string, string];
  const nodes = taNodes(plan.args);
  let cands = nodes.filter((t) => t.nm === name && t.n === Number(had));
  if (!cands.length) cands = nodes.filter((t) => t.n === Number(had));
  const cap = plan.big ? 8_000_000 : 400_000;
  if (cands.length !== 1 || Number(need) > cap || Number(need) === Number(had)) return false;
  const t = cands[0]!;
  const k = nodes.indexOf(t);
  if (t.alias || nodes.some((o) => o.alias?.of === k)) return false;
  t.n = Number(need);
  return true;
}

/** Keeps the benchmark probes short: they run for as long as they are told to. */
function clampSlow(plan: Plan): void {
  const a = plan.args;
  if (plan.fn === 'probe_fma_gflops' && typeof a[0] === 'number' && a[0] > 3 && a[0] <= 2000) a[0] = 3;
  if (plan.fn === 'probe_triad_gbps') {
    if (typeof a[0] === 'number' && a[0] > 1 << 20 && a[0] <= 1 << 27) a[0] = 1 << 20;
    if (typeof a[1] === 'number' && a[1] > 3 && a[1] <= 1 << 30) a[1] = 3;
  }
}

function checkReturn(fn: string, ret: unknown): string | undefined {
  if (fn.endsWith('_shape') && !(Array.isArray(ret) && ret.every((d) => Number.isSafeInteger(d) && d >= 0)))
    return `returned an invalid shape ${JSON.stringify(ret)}`;
  return undefined;
}

function runPlan(plan: Plan, rng: Rng, st: FnStats, round: number): void {
  const f = callOf(plan.fn);
  clampSlow(plan);
  for (let attempt = 0; attempt <= MAX_REPAIRS; attempt++) {
    let built: Built;
    try {
      built = build(plan.args, rng, { exact: rng.chance(EXACT) });
    } catch {
      st.skipped++; // the harness itself could not allocate (a huge planned length)
      return;
    }
    if (hasBlas) binding.setGemmBackend!(rng.chance(0.5) ? 'blas' : 'builtin');
    if (VERBOSE) console.error(`${plan.fn} #${round}.${attempt} ${plan.notes.join('+')} ${describe(plan.args)}`);
    let ok = false;
    let ret: unknown;
    let err: unknown;
    const t0 = performance.now();
    try {
      ret = f(...built.args);
      ok = true;
    } catch (e) {
      err = e;
    }
    st.ms += performance.now() - t0;
    st.calls++;
    for (const v of checkBuffers(built)) violate(plan.fn, round, plan, v);
    if (ok) {
      st.ok++;
      if (built.maxLen >= 100_000) st.okBig++;
      const bad = checkReturn(plan.fn, ret);
      if (bad) violate(plan.fn, round, plan, bad);
      return;
    }
    const c = classify(plan.fn, err);
    st.errors[c.bucket] = (st.errors[c.bucket] ?? 0) + 1;
    if (c.bad) violate(plan.fn, round, plan, c.bad);
    if (!repair(plan, err)) return;
  }
}

/** Learns the binding's name of every typed array argument of a seed (repairs match on it). */
function learnNames(seed: Seed): Seed {
  const s = structuredClone(seed);
  const nodes = taNodes(s.args);
  nodes.forEach((node, k) => {
    const probe = structuredClone(s.args);
    const target = taNodes(probe)[k]!;
    // Swap the node for a string: the binding then names this argument in its ERR_ARG.
    const replace = (x: Sk): Sk => (x === target ? 'fuzz-probe' : x && typeof x === 'object' && 'arr' in x ? { arr: x.arr.map(replace) } : x && typeof x === 'object' && 'obj' in x ? { obj: Object.fromEntries(Object.entries(x.obj).map(([key, v]) => [key, replace(v)])) } : x);
    const built = build(probe.map(replace), new Rng(1), { exact: true });
    try {
      callOf(s.fn)(...built.args);
    } catch (e) {
      const m = /^\w+: ([\w[\]]+) must be/.exec(String((e as Error).message));
      if (m) node.nm = m[1];
    }
  });
  return s;
}

/** Typed-array nodes of a seed with their path (argument index, then nested index / key). */
function taPaths(args: Sk[]): [string, TaPlan][] {
  const out: [string, TaPlan][] = [];
  const walk = (x: Sk, path: string) => {
    if (x && typeof x === 'object' && 'ta' in x) out.push([path, x]);
    else if (x && typeof x === 'object' && 'arr' in x) x.arr.forEach((y, i) => walk(y, `${path}.${i}`));
    else if (x && typeof x === 'object' && 'obj' in x) for (const [k, y] of Object.entries(x.obj)) walk(y, `${path}.${k}`);
  };
  args.forEach((a, i) => walk(a, String(i)));
  return out;
}

/**
 * Marks as outputs the buffers a call writes: the recording only saw writes that changed a
 * value (a zero gradient written over zeros went unseen). Each buffer in turn is filled with a
 * NaN/odd pattern that no kernel computes; if a valid call changes it, it is an output, at that
 * position in every seed of the function.
 */
function learnOutputs(seeds: Seed[]): void {
  const outPaths = new Set<string>();
  for (const seed of seeds) {
    const paths = taPaths(seed.args);
    for (const [k, [path, node]] of paths.entries()) {
      if (node.o) outPaths.add(path);
      else {
        const built = build(seed.args, new Rng(k + 1), { exact: true });
        const v = built.bufs[k]!.view;
        if (!(v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array)) continue;
        const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
        for (let i = 0; i < bytes.length; i++) bytes[i] = i % 4 === 3 ? 0x7f : 0xa5;
        const before = bytes.slice();
        try {
          callOf(seed.fn)(...built.args);
          if (Buffer.compare(bytes, before) !== 0) outPaths.add(path);
        } catch {
          // the pattern made the call invalid (an index buffer): an input
        }
      }
    }
  }
  for (const seed of seeds) for (const [path, node] of taPaths(seed.args)) if (outPaths.has(path)) node.o = 1;
}

function fuzzFunction(fn: string): FnStats {
  const st: FnStats = { calls: 0, ok: 0, okBig: 0, skipped: 0, errors: {}, ms: 0 };
  const seeds = (corpus.functions[fn] ?? []).map(learnNames);
  learnOutputs(seeds);
  if (!seeds.length) return st;
  const rng = new Rng(hashString(fn, SEED));
  const vocab = attrVocabulary(seeds);
  const every = Math.max(1, Math.floor(ROUNDS / Math.max(1, BIG)));
  for (let r = 0; r < ROUNDS; r++) {
    const big = BIG > 0 && r % every === 0 && r / every < BIG;
    runPlan(makePlan(seeds[r % seeds.length]!, rng, vocab, big), rng, st, r);
  }
  return st;
}

/** setNumThreads / setGemmBackend: a fixed list of good and bad values, each followed by a threaded call. */
function engineControls(stats: Record<string, FnStats>): void {
  const a = new Float32Array(300_000).fill(1.5), out = new Float32Array(300_000);
  const m = new Float32Array(64 * 64).fill(0.5), mo = new Float32Array(64 * 64);
  // Each control is followed by a kernel that uses it; true when that kernel was right.
  const probe: Record<string, () => boolean> = {
    setNumThreads: () => (binding.runKernel!('add', 'cpu', Float64Array.of(9, 2, 1, 1, 3e5, 1, 3e5, 1, 3e5), a, a, out), out.every((v) => v === 3)),
    setGemmBackend: () => (binding.runKernel!('matmul', 'cpu', Float64Array.of(12, 2, 1, 2, 64, 64, 2, 64, 64, 2, 64, 64), m, m, mo), mo.every((v) => v === 16)),
  };
  const values: Record<string, unknown[]> = {
    setNumThreads: [1, 3, 0, 2, -1, 1025, 2.5, NaN, '2', undefined, 2 ** 31, 1024, 2],
    setGemmBackend: ['builtin', ...(hasBlas ? ['blas'] : []), 'bogus', '', null, 3, 'BLAS', 'builtin'],
  };
  for (const fn of ['setNumThreads', 'setGemmBackend']) {
    const st: FnStats = (stats[fn] = { calls: 0, ok: 0, okBig: 0, skipped: 0, errors: {}, ms: 0 });
    for (const v of values[fn]!) {
      st.calls++;
      try {
        binding[fn]!(v);
        st.ok++;
      } catch (e) {
        const c = classify(fn, e);
        st.errors[c.bucket] = (st.errors[c.bucket] ?? 0) + 1;
        if (c.bad) violate(fn, 0, undefined, c.bad);
      }
      if (!probe[fn]!()) violate(fn, 0, undefined, `a kernel computed a wrong value after ${fn}(${String(v)})`);
      out.fill(0);
      mo.fill(0);
    }
  }
  binding.setNumThreads!(2);
  releaseControl(stats);
}

/**
 * releaseBuffer detaches (frees) a typed array spanning its whole, non-shared buffer and returns
 * true; anything else is left alone (false) or refused (ERR_ARG). Each case's outcome is checked.
 */
function releaseControl(stats: Record<string, FnStats>): void {
  const fn = 'releaseBuffer';
  const st: FnStats = (stats[fn] = { calls: 0, ok: 0, okBig: 0, skipped: 0, errors: {}, ms: 0 });
  const whole = () => new Float32Array(1000).fill(1);
  const detached = whole();
  structuredClone(detached, { transfer: [detached.buffer] });
  const cases: [unknown, 'freed' | 'kept' | 'refused'][] = [
    [whole(), 'freed'],
    [new Int32Array(300_000), 'freed'],
    [new Uint8Array(0), 'freed'],
    [whole().subarray(10), 'kept'],
    [new Float32Array(new SharedArrayBuffer(400)), 'kept'],
    [detached, 'kept'],
    [new DataView(new ArrayBuffer(8)), 'refused'],
    [[1, 2, 3], 'refused'],
    [null, 'refused'],
    [undefined, 'refused'],
    [{ length: 3 }, 'refused'],
  ];
  for (const [arg, want] of cases) {
    st.calls++;
    const before = ArrayBuffer.isView(arg) ? (arg as Float32Array).length : -1;
    let got: 'freed' | 'kept' | 'refused';
    try {
      got = binding[fn]!(arg) ? 'freed' : 'kept';
      st.ok++;
    } catch (e) {
      const c = classify(fn, e);
      st.errors[c.bucket] = (st.errors[c.bucket] ?? 0) + 1;
      if (c.bad) violate(fn, 0, undefined, c.bad);
      got = 'refused';
    }
    const after = ArrayBuffer.isView(arg) ? (arg as Float32Array).length : -1;
    if (got !== want) violate(fn, 0, undefined, `releaseBuffer(${Object.prototype.toString.call(arg)}) was ${got}, expected ${want}`);
    if (got === 'freed' && after !== 0) violate(fn, 0, undefined, 'a released array still has elements');
    if (got !== 'freed' && after !== before) violate(fn, 0, undefined, 'an array releaseBuffer kept changed length');
  }
}

function main(): void {
  const t0 = performance.now();
  binding.setNumThreads!(2); // large calls split across two threads
  const names = fuzzTargets(binding);
  const mine = names.filter((n) => !only || only.has(n)).filter((_, i) => i % shards === shard);
  const stats: Record<string, FnStats> = {};
  if (shard === 0 && (!only || [...ENGINE].some((n) => only.has(n)))) engineControls(stats);
  for (const fn of mine) {
    if (ENGINE.has(fn)) continue;
    console.error(`fuzz: ${fn}`);
    stats[fn] = fuzzFunction(fn);
  }
  const report: Report = { seed: SEED, shard: `${shard}/${shards}`, rounds: ROUNDS, big: BIG, ms: performance.now() - t0, functions: stats, violations, names };
  console.log(JSON.stringify(report));
}

main();

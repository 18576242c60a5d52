// npm run fuzz:corpus: runs the test suite with the call recorder (vitest.record.config.ts),
// then keeps a few diverse, small seeds per binding function and writes test/fuzz/corpus.json.
// `-- --from DIR` reuses the recordings of an earlier run. Prints every binding function
// without a seed (manual-seeds.ts then supplies one, or the run fails).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../lib/native/load.js';
import { MANUAL_SEEDS } from './manual-seeds.js';
import { fuzzTargets } from './targets.js';
import { describeValues, isArr, isObj, isTa, type Seed, type Sk } from './skeleton.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
export const CORPUS_FILE = join(here, 'corpus.json');
const SEEDS_PER_FN = 6;
/** Float arrays keep exact values up to this length; longer ones keep a generator. */
const KEEP_FLOATS = 8;

function record(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ravdl-fuzz-record-'));
  const r = spawnSync('npx', ['vitest', 'run', '--config', 'test/fuzz/vitest.record.config.ts'], {
    cwd: root,
    env: { ...process.env, FUZZ_RECORD_DIR: dir },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 15 * 60_000,
  });
  if (r.status !== 0) throw new Error(`the recording run of the test suite failed (status ${r.status}, signal ${r.signal})`);
  return dir;
}

/** Structure of a call without its sizes: kinds, ranks, attribute keys, optional-argument pattern. */
function shapeClass(s: Sk): string {
  if (isTa(s)) return s.ta === 'f64' && s.v ? `f64[${s.v.length}]` : s.ta; // runKernel's meta: by its length (ranks, attributes)
  if (Array.isArray(s)) return `r${s.length}`;
  if (isArr(s)) return `[${s.arr.map(shapeClass).join(',')}]`;
  if (isObj(s)) return `{${Object.entries(s.obj).map(([k, v]) => `${k}:${typeof v === 'object' ? shapeClass(v) : String(v)}`).join(',')}}`;
  return typeof s === 'object' ? JSON.stringify(s) : typeof s === 'boolean' || typeof s === 'string' ? String(s) : 'n';
}

function elements(s: Sk): number {
  if (isTa(s)) return s.n;
  if (isArr(s)) return s.arr.reduce<number>((a, x) => a + elements(x), 0);
  if (isObj(s)) return Object.values(s.obj).reduce<number>((a, x) => a + elements(x), 0);
  return 0;
}

/** Typed-array nodes by path (arg index, then nested index / key). */
function eachTa(args: Sk[], f: (path: string, t: Extract<Sk, { ta: string }>) => void): void {
  const walk = (s: Sk, path: string) => {
    if (isTa(s)) f(path, s);
    else if (isArr(s)) s.arr.forEach((x, i) => walk(x, `${path}.${i}`));
    else if (isObj(s)) for (const [k, x] of Object.entries(s.obj)) walk(x, `${path}.${k}`);
  };
  args.forEach((a, i) => walk(a, String(i)));
}

function hasEmpty(args: Sk[]): boolean {
  let empty = false;
  eachTa(args, (_, t) => (empty ||= t.n === 0));
  return empty;
}

function compact(seed: Seed): Seed {
  // runKernel's meta: only its first meta[0] values belong to the call (the buffer is reused).
  const meta = seed.fn.startsWith('runKernel:') ? seed.args[2] : undefined;
  if (meta && isTa(meta) && meta.v && meta.v[0]! >= 3 && meta.v[0]! < meta.v.length) {
    meta.v = meta.v.slice(0, meta.v[0]);
    meta.n = meta.v.length;
  }
  eachTa(seed.args, (_, t) => {
    const floats = t.ta === 'f32'; // a Float64Array is runKernel's meta: kept exactly
    if (t.v && floats && t.n > KEEP_FLOATS) {
      const d = describeValues(Float64Array.from(t.v), 0);
      delete t.v;
      if (d.g) t.g = d.g;
    }
  });
  return seed;
}

export function selectSeeds(recorded: Seed[]): Record<string, Seed[]> {
  const byFn = new Map<string, Seed[]>();
  for (const s of recorded) byFn.set(s.fn, [...(byFn.get(s.fn) ?? []), s]);
  const out: Record<string, Seed[]> = {};
  for (const [fn, seeds] of [...byFn.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    // Outputs are positions any recorded call wrote to (training vs inference batch_norm...).
    const outPaths = new Set<string>();
    for (const s of seeds) eachTa(s.args, (p, t) => t.o && outPaths.add(p));
    const classes = new Map<string, Seed[]>();
    for (const s of seeds) {
      const k = s.args.map(shapeClass).join('|');
      classes.set(k, [...(classes.get(k) ?? []), s]);
    }
    // Most frequent structures first; the smallest call of each.
    const groups = [...classes.values()].sort((a, b) => b.length - a.length);
    // Calls with an empty buffer last: they reach no kernel code (and cannot be scaled up).
    const cost = (s: Seed) => elements({ arr: s.args }) + (hasEmpty(s.args) ? 1e12 : 0);
    groups.forEach((g) => g.sort((a, b) => cost(a) - cost(b)));
    const chosen: Seed[] = [];
    for (let round = 0; chosen.length < SEEDS_PER_FN && round < 3; round++)
      for (const g of groups) if (g[round] && chosen.length < SEEDS_PER_FN && (round === 0 || chosen.length < 3)) chosen.push(g[round]!);
    out[fn] = chosen.map((s) => {
      const c = compact(structuredClone(s));
      eachTa(c.args, (p, t) => {
        if (outPaths.has(p)) {
          t.o = 1;
          delete t.v;
          delete t.g;
        }
      });
      return c;
    });
  }
  return out;
}

function main(): void {
  const fromIdx = process.argv.indexOf('--from');
  const dir = fromIdx > 0 ? process.argv[fromIdx + 1]! : record();
  const recorded: Seed[] = [];
  for (const f of readdirSync(dir)) recorded.push(...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Seed[]));
  const corpus = selectSeeds(recorded);
  const binding = native() as unknown as Record<string, unknown>;
  const names = fuzzTargets(binding);
  const unseeded = names.filter((n) => !corpus[n]);
  for (const s of MANUAL_SEEDS) if (unseeded.includes(s.fn)) (corpus[s.fn] ??= []).push(s);
  const missing = names.filter((n) => !corpus[n]);
  // One seed per line: diffs of a regenerated corpus stay readable.
  const fns = Object.entries(corpus).map(([fn, seeds]) => `    ${JSON.stringify(fn)}: [\n${seeds.map((s) => `      ${JSON.stringify(s)}`).join(',\n')}\n    ]`);
  const text = `{\n  "functions": {\n${fns.join(',\n')}\n  }\n}\n`;
  writeFileSync(CORPUS_FILE, text);
  if (fromIdx < 0) rmSync(dir, { recursive: true, force: true });
  const seeds = Object.values(corpus).reduce((a, s) => a + s.length, 0);
  console.log(`fuzz corpus: ${recorded.length} recorded calls -> ${seeds} seeds for ${Object.keys(corpus).length}/${names.length} functions, ${(text.length / 1024).toFixed(0)} KB`);
  console.log(`not called by the test suite (hand-written seeds in manual-seeds.ts): ${unseeded.join(', ') || 'none'}`);
  if (missing.length) {
    console.error(`no seed at all for: ${missing.join(', ')} (add one to test/fuzz/manual-seeds.ts)`);
    process.exit(1);
  }
}

main();

// Records valid binding calls while the test suite runs (npm run fuzz:corpus). Wraps every
// function of the addon object in place, so every caller (lib/ops, the native tests) goes
// through it; keeps per function up to MAX_PER_FN calls of distinct structure that returned
// normally, as skeletons (skeleton.ts). Typed arrays the call modified are marked as outputs.
// runKernel's calls are kept per op, as 'runKernel:<op>' (a handle becomes its op's name), so
// every kernel of the registry gets its own seeds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeValues, encodeNumber, kindOf, type Seed, type Sk } from './skeleton.js';

const MAX_PER_FN = 120;
/** Arrays up to this length keep their exact values in the corpus. */
const KEEP_VALUES = 64;
const STORE = Symbol.for('ravdl.fuzz.recorder');

type Store = Map<string, Map<string, Seed>>;
type Fn = (...args: unknown[]) => unknown;

const isTyped = (v: unknown): v is ArrayBufferView => ArrayBuffer.isView(v) && !(v instanceof DataView);

/** A cheap key of a call's structure: kinds, lengths and every non-array value. */
function keyOf(v: unknown): string {
  if (isTyped(v)) return `${kindOf(v)}:${(v as unknown as ArrayLike<unknown>).length}`;
  if (Array.isArray(v)) return `[${v.map(keyOf).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}=${keyOf(x)}`).join(',')}}`;
  return typeof v === 'number' ? String(v) : `${typeof v}:${String(v)}`;
}

function collect(v: unknown, out: ArrayBufferView[]): void {
  if (isTyped(v)) out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => collect(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => collect(x, out));
}

function encode(v: unknown, seen: ArrayBufferView[], before: Map<ArrayBufferView, Uint8Array>): Sk {
  if (isTyped(v)) {
    const k = seen.indexOf(v);
    if (k >= 0) return { same: k };
    seen.push(v);
    const kind = kindOf(v)!;
    const a = v as unknown as InstanceType<typeof Float32Array>;
    const old = before.get(v)!;
    if (v.byteLength !== old.length) return { ta: kind, n: old.length / (v as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT, o: 1 }; // detached by the call (releaseBuffer)
    const now = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    const modified = old.some((b, i) => b !== now[i]);
    // An output's recorded contents are its result; its old contents never matter to validity.
    // A Float64Array is runKernel's meta (shapes and attributes): kept exactly, whatever its length.
    const keep = kind === 'f64' ? Infinity : KEEP_VALUES;
    return modified ? { ta: kind, n: a.length, o: 1 } : { ta: kind, n: a.length, ...describeValues(a, keep) };
  }
  if (v === undefined) return { u: 1 };
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return encodeNumber(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'number' && Number.isFinite(x))) return v.slice();
    return { arr: v.map((x) => encode(x, seen, before)) };
  }
  if (typeof v === 'object') {
    const obj: Record<string, Sk> = {};
    for (const [k, x] of Object.entries(v)) obj[k] = encode(x, seen, before);
    return { obj };
  }
  return String(v);
}

export function installRecorder(binding: Record<string | symbol, unknown>): Store {
  if (binding[STORE]) return binding[STORE] as Store;
  const store: Store = new Map();
  binding[STORE] = store;
  const opOfHandle = new Map<number, string>();
  const callsOf = (name: string) => {
    let calls = store.get(name);
    if (!calls) store.set(name, (calls = new Map()));
    return calls;
  };
  for (const name of Object.keys(binding)) {
    const orig = binding[name];
    if (typeof orig !== 'function') continue;
    binding[name] = function recorded(this: unknown, ...args: unknown[]) {
      if (name === 'runKernel' && typeof args[0] === 'number' && opOfHandle.has(args[0])) args = [opOfHandle.get(args[0]), ...args.slice(1)];
      const fn = name === 'runKernel' && typeof args[0] === 'string' ? `runKernel:${args[0]}` : name;
      const calls = callsOf(fn);
      if (calls.size >= MAX_PER_FN) return (orig as Fn).apply(this, args);
      const key = keyOf(args);
      if (calls.has(key)) return (orig as Fn).apply(this, args);
      const arrays: ArrayBufferView[] = [];
      collect(args, arrays);
      const before = new Map(arrays.map((a) => [a, new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice()]));
      const result = (orig as Fn).apply(this, args); // a call that throws is not recorded
      if (name === 'kernelHandle' && typeof result === 'number') opOfHandle.set(result, String(args[0]));
      const seen: ArrayBufferView[] = []; // one list per call: {same: k} indexes it across arguments
      // runKernel's meta is a reused buffer: only its first meta[0] values belong to the call.
      const meta = name === 'runKernel' && args[2] instanceof Float64Array ? args[2] : null;
      const recorded = meta ? [args[0], args[1], meta.slice(0, Math.min(meta.length, Math.max(0, meta[0]!))), ...args.slice(3)] : args;
      if (meta) before.set(recorded[2] as Float64Array, new Uint8Array((recorded[2] as Float64Array).buffer).slice());
      calls.set(key, { fn, args: recorded.map((a) => encode(a, seen, before)) });
      return result;
    };
  }
  return store;
}

/** Writes what this process recorded since the last flush to a new file in `dir`. */
export function flushRecorder(binding: Record<string | symbol, unknown>, dir: string): void {
  const store = binding[STORE] as Store | undefined;
  if (!store) return;
  const seeds: Seed[] = [];
  for (const calls of store.values()) {
    seeds.push(...calls.values());
    calls.clear();
  }
  if (!seeds.length) return;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${process.pid}-${Date.now()}-${Math.floor(Math.random() * 1e9)}.json`);
  writeFileSync(file, JSON.stringify(seeds));
}

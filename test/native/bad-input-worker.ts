// Throws many random, mostly wrong calls at every function of the binding. Run in a child
// process by bad-input.test.ts: a crash (segfault, abort, OOB write caught by a guard) kills
// this process and fails the test. Every call must either return or throw an Error whose
// `.code` is one of the engine's codes. Prints one JSON summary line on success.
import { native } from '../../lib/native/load.js';

const CODES = new Set(['ERR_SHAPE', 'ERR_DTYPE', 'ERR_INDEX', 'ERR_ATTR', 'ERR_ARG', 'ERR_BACKEND']);
// Engine controls change global state; they are checked by core.test.ts instead.
const SKIP = new Set(['setNumThreads', 'setGemmBackend']);

let state = Number(process.env.FUZZ_SEED ?? 12345) >>> 0;
function rnd(): number {
  // xorshift32: deterministic, so a failure can be replayed with the same FUZZ_SEED
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));

const LENGTHS = [0, 1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 27, 32, 36, 48, 64, 72, 128];
const SHAPES: number[][] = [
  [], [0], [1], [2], [3], [4], [6], [2, 3], [3, 2], [1, 4], [4, 1], [2, 2], [3, 3], [2, 0],
  [1, 2, 3], [2, 3, 4], [2, 1, 3], [1, 1, 3, 3], [1, 2, 3, 3], [2, 1, 3, 3], [1, 3, 4, 4],
  [2, 2, 2, 2], [1, 1, 4, 4], [1, 2, 4, 4], [2, 2, 3, 3], [1, 4, 2, 2], [4, 2, 3, 3], [2, 4, 4],
  [-1, 3], [3, -2], [1e9, 1e9, 1e9], [2 ** 31, 2], [1.5, 2], [65536, 65536],
];
const NUMBERS = [0, 1, -1, 2, 3, 0.5, -0.5, 0.99, 1e-5, NaN, Infinity, -Infinity, 1e9, -1e9, 2 ** 31, 2 ** 53, 1e300, 7, 100, -100];
const STRINGS = ['zeros', 'reflect', 'replicate', 'circular', 'same', 'valid', 'mean', 'sum', 'none', 'constant', 'blas', 'builtin', '', 'bogus'];

function typed(): ArrayBufferView {
  const n = pick(LENGTHS);
  switch (int(0, 5)) {
    case 0:
    case 1:
    case 2: {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = rnd() < 0.05 ? pick(NUMBERS) : rnd() * 4 - 2;
      return a;
    }
    case 3: {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = rnd() < 0.2 ? pick([-1, -100, 2 ** 31 - 1, -(2 ** 31), 1000]) : int(0, 4);
      return a;
    }
    case 4:
      return new Uint8Array(n).map(() => int(0, 1));
    default:
      return pick([new Float64Array(n), new Int16Array(n), new Uint32Array(n), new BigInt64Array(n)]);
  }
}

function attrs(): Record<string, unknown> {
  const keys = ['stride', 'padding', 'dilation', 'groups', 'padding_mode', 'kernel_size', 'ceil_mode',
    'lr', 'beta1', 'beta2', 'eps', 'weight_decay', 'amsgrad', 'momentum', 'alpha', 'centered', 'nesterov',
    'dampening', 'decoupled_weight_decay', 'reduction', 'ignore_index', 'label_smoothing', 'training', 'axis', 'keepdims'];
  const o: Record<string, unknown> = {};
  for (let k = int(0, 5); k > 0; k--) o[pick(keys)] = value(1);
  return o;
}

function value(depth = 0): unknown {
  const r = rnd();
  if (r < 0.3) return typed();
  if (r < 0.5) return pick(SHAPES).slice();
  if (r < 0.7) return rnd() < 0.6 ? int(-2, 5) : pick(NUMBERS);
  if (r < 0.76) return rnd() < 0.5;
  if (r < 0.82) return pick(STRINGS);
  if (r < 0.86) return pick([undefined, null]);
  if (r < 0.93 && depth === 0) return attrs();
  if (r < 0.97 && depth === 0) return [typed(), typed()];
  return pick([{}, [], () => 1, Symbol('s'), 10n, [1, 'a'], [[1, 2], [3]]]);
}

/** A call shaped like real ones: (data, shape) pairs that sometimes agree, then outputs and attributes. */
function plausibleArgs(): unknown[] {
  const args: unknown[] = [];
  const n = int(1, 10);
  for (let i = 0; i < n; i++) {
    if (rnd() < 0.5) {
      const shape = pick(SHAPES).slice();
      const count = shape.reduce((a, b) => a * b, 1);
      const ok = Number.isSafeInteger(count) && count >= 0 && count <= 4096;
      args.push(ok && rnd() < 0.8 ? new Float32Array(count).map(() => rnd() * 2 - 1) : typed());
      args.push(shape);
    } else {
      args.push(value());
    }
  }
  return args;
}

const binding = native() as unknown as Record<string, (...args: unknown[]) => unknown>;
const names = Object.keys(binding).filter((k) => typeof binding[k] === 'function' && !SKIP.has(k)).sort();
const perFunction = Number(process.env.FUZZ_CALLS ?? 3000);
const counts: Record<string, { ok: number; threw: number }> = {};

for (const name of names) {
  counts[name] = { ok: 0, threw: 0 };
  for (let i = 0; i < perFunction; i++) {
    const args = rnd() < 0.5 ? plausibleArgs() : Array.from({ length: int(0, 12) }, () => value());
    try {
      binding[name]!(...args);
      counts[name]!.ok++;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (!(e instanceof Error) || !code || !CODES.has(code)) {
        console.error(`${name}: call ${i} threw a non-engine error: ${String((e as Error)?.message ?? e)} (code ${code})`);
        process.exit(3);
      }
      if (!e.message || e.message.length < 8) {
        console.error(`${name}: error without a useful message: '${e.message}'`);
        process.exit(4);
      }
      counts[name]!.threw++;
    }
  }
}
console.log(JSON.stringify({ functions: names.length, perFunction, counts }));

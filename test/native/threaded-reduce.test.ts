// Values, not just agreement between thread counts: every reduction-like kernel that splits its
// work across the pool is checked against a float64 loop at a size where 2 threads split it.
// (Comparing 1 with 2 threads misses a dropped split: the splits depend on the shape only.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getNumThreads, native, setNumThreads } from '../../lib/index.js';
import { expectNear, lcg, numel, outIndexOf } from '../helpers/reference.js';
import { kernels } from '../helpers/kernels.js';

const nat = kernels();
beforeAll(() => {
  setNumThreads(2);
  expect(getNumThreads()).toBe(2);
});
afterAll(() => setNumThreads(0));

// [4, 300, 1000] (1.2M values) reaches every path of the reduction kernel at 2 threads:
//   axes [2]     inner reduced, 1200 outputs split by rows (grain 32 outputs)
//   axes [1]     inner kept: 4 blocks x 2 column tiles < 16 tasks, so the rows split into 4 parts
//   axes [0]     inner kept: 586 column tiles split across threads
//   axes [0, 1]  inner kept, one block: rows split into 4 parts
//   axes [0, 2]  inner reduced, 300 outputs split by rows
//   axes [1, 2]  4 outputs (< 16): each reduction split into 5 chunks of 65536
//   null         1 output: 19 chunks
const SHAPE = [4, 300, 1000];
const AXES: (number[] | null)[] = [[2], [1], [0], [0, 1], [0, 2], [1, 2], null];
const N = numel(SHAPE);
// A trend along the flat index puts every output's maximum in its last split and its minimum
// in its first, so a dropped first or last split changes max/min too.
const X = lcg(N, 7).map((v, i) => v + (i / N) * 4);
// Products of values near 1 (|log| <= 0.01): large enough to see a dropped split, finite.
const XP = lcg(N, 11).map((v) => Math.exp(v * 0.01));

type Stat = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'var' | 'std';
const outIndex = new Map<string, ReturnType<typeof outIndexOf>>();
function reference(x: Float32Array, axes: number[], stat: Stat): Float64Array {
  const key = axes.join();
  if (!outIndex.has(key)) outIndex.set(key, outIndexOf(SHAPE, axes));
  const { out, nOut } = outIndex.get(key)!;
  const acc = new Float64Array(nOut).fill(stat === 'prod' ? 1 : stat === 'max' ? -Infinity : stat === 'min' ? Infinity : 0);
  const cnt = new Float64Array(nOut);
  for (let i = 0; i < N; i++) {
    const o = out[i]!;
    const v = x[i]!;
    cnt[o]!++;
    if (stat === 'prod') acc[o]! *= v;
    else if (stat === 'max') acc[o] = Math.max(acc[o]!, v);
    else if (stat === 'min') acc[o] = Math.min(acc[o]!, v);
    else acc[o]! += v;
  }
  if (stat === 'mean' || stat === 'var' || stat === 'std') for (let o = 0; o < nOut; o++) acc[o]! /= cnt[o]!;
  if (stat !== 'var' && stat !== 'std') return acc;
  const ss = new Float64Array(nOut);
  for (let i = 0; i < N; i++) {
    const d = x[i]! - acc[out[i]!]!;
    ss[out[i]!]! += d * d;
  }
  return ss.map((s, o) => (stat === 'std' ? Math.sqrt(s / (cnt[o]! - 1)) : s / (cnt[o]! - 1)));
}

describe('reductions split across 2 threads match a float64 loop', () => {
  for (const axes of AXES) {
    const all = axes ?? [0, 1, 2];
    for (const stat of ['sum', 'mean', 'max', 'min', 'prod', 'var', 'std'] as const) {
      it(`${stat} over ${axes ? `axes [${axes.join(', ')}]` : 'all axes'} of [${SHAPE.join(', ')}]`, () => {
        const x = stat === 'prod' ? XP : X;
        const want = reference(x, all, stat);
        const out = new Float32Array(want.length);
        (nat[stat] as (...a: unknown[]) => void)(x, SHAPE, out, axes);
        // Accumulated in double, rounded once to float32.
        expectNear(out, want, 2e-6, 1e-6, `${stat} ${JSON.stringify(axes)}`);
      });
    }
  }
});

describe('argmax / argmin split across 2 threads find the first extreme', () => {
  // axis 2: rows (1200 rows of 1000); axis 1 and 0: column tiles; null: one 1.2M row in chunks.
  // Random data, with the flat extreme planted late so a dropped last chunk would miss it.
  const x = lcg(N, 13);
  x[N - 5] = 9;
  x[N - 3] = 9; // a tie: the first one wins
  x[N - 7] = -9;
  for (const axis of [2, 1, 0, null]) {
    for (const op of ['argmax', 'argmin'] as const) {
      it(`${op} over ${axis === null ? 'the flattened tensor' : `axis ${axis}`}`, () => {
        const red = axis === null ? [0, 1, 2] : [axis];
        const { out: oi, nOut } = outIndexOf(SHAPE, red);
        const best = new Float64Array(nOut).fill(op === 'argmax' ? -Infinity : Infinity);
        const at = new Int32Array(nOut).fill(-1);
        const seen = new Int32Array(nOut); // position along the reduced axes
        for (let i = 0; i < N; i++) {
          const o = oi[i]!;
          const v = x[i]!;
          if (op === 'argmax' ? v > best[o]! : v < best[o]!) {
            best[o] = v;
            at[o] = seen[o]!;
          }
          seen[o]!++;
        }
        const got = new Int32Array(nOut);
        nat[op](x, SHAPE, got, axis);
        expect(Array.from(got)).toEqual(Array.from(at));
      });
    }
  }
});

describe('softmax family split across 2 threads match a float64 loop', () => {
  // [2000, 100] over the last axis: 2000 rows split (grain 327 rows); [20, 100, 300] over
  // axis 1: 20 x 2 column blocks split (grain 1).
  const cases: [number[], number][] = [
    [[2000, 100], -1],
    [[20, 100, 300], 1],
  ];
  for (const [shape, axis] of cases) {
    const n = numel(shape);
    const a = axis < 0 ? axis + shape.length : axis;
    const K = shape[a]!;
    const inner = numel(shape.slice(a + 1));
    const x = lcg(n, 17, -4, 4);
    const gy = lcg(n, 19);
    for (const kind of ['softmax', 'log_softmax', 'softmin'] as const) {
      it(`${kind} forward and backward on [${shape.join(', ')}] axis ${axis}`, () => {
        const wantY = new Float64Array(n);
        const wantGx = new Float64Array(n);
        const sgn = kind === 'softmin' ? -1 : 1;
        for (let base = 0; base < n; base += K * inner) {
          for (let j = 0; j < inner; j++) {
            let m = -Infinity;
            for (let k = 0; k < K; k++) m = Math.max(m, sgn * x[base + k * inner + j]!);
            let s = 0;
            for (let k = 0; k < K; k++) s += Math.exp(sgn * x[base + k * inner + j]! - m);
            let dot = 0;
            let gsum = 0;
            for (let k = 0; k < K; k++) {
              const p = base + k * inner + j;
              const sm = Math.exp(sgn * x[p]! - m) / s;
              wantY[p] = kind === 'log_softmax' ? sgn * x[p]! - m - Math.log(s) : sm;
              dot += gy[p]! * sm;
              gsum += gy[p]!;
            }
            for (let k = 0; k < K; k++) {
              const p = base + k * inner + j;
              const sm = Math.exp(sgn * x[p]! - m) / s;
              wantGx[p] = kind === 'log_softmax' ? gy[p]! - sm * gsum : sgn * sm * (gy[p]! - dot);
            }
          }
        }
        const y = new Float32Array(n);
        const gx = new Float32Array(n);
        nat[kind](x, shape, axis, y);
        nat[`${kind}_backward`](y, gy, shape, axis, gx);
        expectNear(y, wantY, 1e-5, 1e-6, `${kind} y`);
        expectNear(gx, wantGx, 1e-4, 1e-5, `${kind} gx`);
      });
    }
  }
});

describe('losses split across 2 threads match a float64 loop', () => {
  it('cross_entropy (mean, index targets) and its gradient over 4096 x 50 logits', () => {
    // 4096 positions split by 327 (16384 / C); the mean reduces per-position values.
    const [B, C] = [4096, 50];
    const logits = lcg(B * C, 23, -3, 3);
    const target = Int32Array.from(lcg(B, 29, 0, C), Math.floor);
    let loss = 0;
    const want = new Float64Array(B * C);
    for (let b = 0; b < B; b++) {
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, logits[b * C + c]!);
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(logits[b * C + c]! - m);
      loss += Math.log(s) + m - logits[b * C + target[b]!]!;
      for (let c = 0; c < C; c++) want[b * C + c] = (Math.exp(logits[b * C + c]! - m) / s - (c === target[b] ? 1 : 0)) / B;
    }
    const out = new Float32Array(1);
    nat.cross_entropy(logits, [B, C], target, null, out);
    expectNear(out, [loss / B], 1e-5, 0, 'cross_entropy');
    const g = new Float32Array(B * C);
    nat.cross_entropy_backward(logits, [B, C], target, null, Float32Array.of(1), g);
    expectNear(g, want, 1e-4, 1e-8, 'cross_entropy gradient');
  });
  it('mse_loss (sum) over 300,000 values: 74 blocks of 4096 split across threads', () => {
    const n = 300_000;
    const p = lcg(n, 31);
    const t = lcg(n, 37);
    let s = 0;
    for (let i = 0; i < n; i++) s += (p[i]! - t[i]!) ** 2;
    const out = new Float32Array(1);
    nat.mse_loss(p, t, out, 'sum');
    expectNear(out, [s], 1e-6, 0, 'mse_loss');
  });
});

describe('sum_to (the gradient of broadcasting) split across 2 threads', () => {
  it('[300, 1000] summed to [1, 1000] and to [300, 1]', () => {
    const x = lcg(300 * 1000, 41);
    const cols = new Float64Array(1000);
    const rows = new Float64Array(300);
    for (let i = 0; i < 300; i++)
      for (let j = 0; j < 1000; j++) {
        cols[j]! += x[i * 1000 + j]!;
        rows[i]! += x[i * 1000 + j]!;
      }
    const c = new Float32Array(1000);
    const r = new Float32Array(300);
    nat.sum_to(x, [300, 1000], [1, 1000], c);
    nat.sum_to(x, [300, 1000], [300, 1], r);
    expectNear(c, cols, 2e-6, 1e-6, 'columns');
    expectNear(r, rows, 2e-6, 1e-6, 'rows');
  });
});

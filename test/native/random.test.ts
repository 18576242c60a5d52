// Random numbers and dropout: torch's streams cannot be matched, so these tests are
// statistical (moments, drop fraction) plus exact reproducibility from (seed, offset).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { native, setNumThreads } from '../../lib/index.js';
import { expectCode } from '../helpers/fixtures.js';
import { kernels } from '../helpers/kernels.js';

const nat = kernels();

function moments(a: Float32Array): { mean: number; variance: number } {
  let s = 0;
  let q = 0;
  for (const v of a) {
    s += v;
    q += v * v;
  }
  const mean = s / a.length;
  return { mean, variance: q / a.length - mean * mean };
}

function sameArrays(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

afterEach(() => setNumThreads(0));

describe('rand_uniform / rand_normal', () => {
  it('documents its counter use as ceil(n / 4)', () => {
    expect([0, 1, 4, 5, 8, 1001].map((n) => nat.rand_counters(n))).toEqual([0, 1, 1, 2, 2, 251]);
  });

  it('draws uniform values in [low, high) with the right moments', () => {
    const a = new Float32Array(1 << 20);
    nat.rand_uniform(a, -1, 3, 1234, 0);
    let min = Infinity;
    let max = -Infinity;
    for (const v of a) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBeGreaterThanOrEqual(-1);
    expect(max).toBeLessThan(3);
    const { mean, variance } = moments(a);
    expect(mean).toBeCloseTo(1, 2);
    expect(variance).toBeGreaterThan(16 / 12 - 0.01);
    expect(variance).toBeLessThan(16 / 12 + 0.01);
    // Bins of width 0.5 each hold about 1/8 of the values.
    const bins = new Array(8).fill(0);
    for (const v of a) bins[Math.floor((v + 1) * 2)]++;
    for (const b of bins) expect(Math.abs(b / a.length - 0.125)).toBeLessThan(0.003);
  });

  it('draws normal values with the right mean, variance and tails', () => {
    const a = new Float32Array(1 << 20);
    nat.rand_normal(a, -2, 0.5, 99, 17);
    const { mean, variance } = moments(a);
    expect(Math.abs(mean + 2)).toBeLessThan(0.003);
    expect(Math.abs(variance - 0.25)).toBeLessThan(0.003);
    let beyond2 = 0;
    for (const v of a) if (Math.abs(v + 2) > 1) beyond2++; // |z| > 2: about 4.55%
    expect(Math.abs(beyond2 / a.length - 0.0455)).toBeLessThan(0.002);
  });

  it('is reproducible from (seed, offset) and independent of the thread count', () => {
    const n = (1 << 20) + 3;
    const runs = [1, 2].map((t) => {
      setNumThreads(t);
      const u = new Float32Array(n);
      const z = new Float32Array(n);
      nat.rand_uniform(u, 0, 1, 7, 1000);
      nat.rand_normal(z, 0, 1, 7, 1000);
      return [u, z];
    });
    expect(sameArrays(runs[0]![0]!, runs[1]![0]!)).toBe(true);
    expect(sameArrays(runs[0]![1]!, runs[1]![1]!)).toBe(true);
    // Offset + 1 skips exactly 4 values; another seed gives another stream.
    const shifted = new Float32Array(n - 4);
    nat.rand_uniform(shifted, 0, 1, 7, 1001);
    expect(sameArrays(shifted, runs[0]![0]!.subarray(4))).toBe(true);
    const other = new Float32Array(n);
    nat.rand_uniform(other, 0, 1, 8, 1000);
    let cov = 0;
    for (let i = 0; i < n; i++) cov += (other[i]! - 0.5) * (runs[0]![0]![i]! - 0.5);
    expect(Math.abs(cov / n) * 12).toBeLessThan(0.01); // correlation ~ 0
  });

  it('gives bit-identical values on every SIMD path (AVX-512, AVX2, portable)', () => {
    // Each path runs in a child process, since RAVDL_SIMD is read once at start-up.
    const helpers = fileURLToPath(new URL('../helpers/kernels.ts', import.meta.url));
    const script = `
      import { createHash } from 'node:crypto';
      import { kernels } from ${JSON.stringify(helpers)};
      const n = 100003, nat = kernels();
      const u = new Float32Array(n), z = new Float32Array(n), o = new Float32Array(n), m = new Uint8Array(n);
      const x = new Float32Array(n).map((_, i) => Math.sin(i));
      nat.rand_uniform(u, -2.3, 3.7, 5, 9); nat.rand_normal(z, 0.1, 1.7, 5, 9); nat.dropout(x, o, m, 0.3, 5, 9);
      const h = createHash('sha1');
      for (const a of [u, z, o, m]) h.update(new Uint8Array(a.buffer));
      console.log(h.digest('hex'));`;
    const digests = ['', 'avx2', 'portable'].map((simd) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, RAVDL_SIMD: simd },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    });
    expect(digests[0]).toMatch(/^[0-9a-f]{40}$/);
    expect(new Set(digests).size).toBe(1);
  });

  it('accepts seeds up to 2^53 - 1 and rejects invalid seeds, offsets and parameters', () => {
    const a = new Float32Array(8);
    const b = new Float32Array(8);
    nat.rand_uniform(a, 0, 1, 2 ** 53 - 1, 0);
    nat.rand_uniform(b, 0, 1, 2 ** 53 - 2, 0);
    expect(sameArrays(a, b)).toBe(false);
    expectCode(() => nat.rand_uniform(a, 0, 1, -1, 0), 'ERR_ATTR', /rand_uniform: seed/);
    expectCode(() => nat.rand_uniform(a, 0, 1, 1.5, 0), 'ERR_ATTR', /seed/);
    expectCode(() => nat.rand_uniform(a, 0, 1, 2 ** 53, 0), 'ERR_ATTR', /seed/);
    expectCode(() => nat.rand_uniform(a, 0, 1, '1' as any, 0), 'ERR_ARG', /seed/);
    expectCode(() => nat.rand_normal(a, 0, 1, 0, -4), 'ERR_ATTR', /rand_normal: offset/);
    expectCode(() => nat.rand_uniform(a, 2, 1, 0, 0), 'ERR_ATTR', /low <= high/);
    expectCode(() => nat.rand_normal(a, 0, -1, 0, 0), 'ERR_ATTR', /std/);
    expectCode(() => nat.rand_normal(new Float64Array(4) as any, 0, 1, 0, 0), 'ERR_DTYPE', /out/);
  });
});

describe('dropout', () => {
  const n = 1 << 20;
  const x = new Float32Array(n).map((_, i) => (i % 13) - 6);

  it('drops about p of the values and scales the kept ones by 1/(1-p)', () => {
    for (const p of [0.1, 0.5, 0.9]) {
      const out = new Float32Array(n);
      const mask = new Uint8Array(n);
      nat.dropout(x, out, mask, p, 5, 0);
      let kept = 0;
      let bad = 0;
      const scale = Math.fround(1 / (1 - p));
      for (let i = 0; i < n; i++) {
        kept += mask[i]!;
        const want = mask[i] ? Math.fround(x[i]! * scale) : 0;
        if (out[i] !== want || mask[i]! > 1) bad++;
      }
      expect(bad).toBe(0);
      expect(Math.abs(kept / n - (1 - p))).toBeLessThan(0.003);
    }
  });

  it('is the identity for p = 0 and all zeros for p = 1', () => {
    const out = new Float32Array(n);
    const mask = new Uint8Array(n);
    nat.dropout(x, out, mask, 0, 5, 0);
    expect(sameArrays(out, x)).toBe(true);
    expect(mask.every((m) => m === 1)).toBe(true);
    nat.dropout(x, out, mask, 1, 5, 0);
    expect(out.every((v) => v === 0)).toBe(true);
    expect(mask.every((m) => m === 0)).toBe(true);
  });

  it('is reproducible, thread-count independent, works in place, and backward reuses the mask', () => {
    const results = [1, 2].map((t) => {
      setNumThreads(t);
      const out = new Float32Array(n);
      const mask = new Uint8Array(n);
      nat.dropout(x, out, mask, 0.3, 11, 42);
      return { out, mask };
    });
    expect(sameArrays(results[0]!.mask, results[1]!.mask)).toBe(true);
    expect(sameArrays(results[0]!.out, results[1]!.out)).toBe(true);
    const inplace = x.slice();
    const mask = new Uint8Array(n);
    nat.dropout(inplace, inplace, mask, 0.3, 11, 42);
    expect(sameArrays(inplace, results[0]!.out)).toBe(true);
    const gx = new Float32Array(n);
    nat.dropout_backward(x, mask, 0.3, gx);
    expect(sameArrays(gx, results[0]!.out)).toBe(true);
    nat.dropout_backward(x, mask, 1, gx);
    expect(gx.every((v) => v === 0)).toBe(true);
  });

  it('rejects a bad p, mismatched lengths, wrong types and overlapping buffers', () => {
    const a = new Float32Array(8);
    const o = new Float32Array(8);
    const m = new Uint8Array(8);
    expectCode(() => nat.dropout(a, o, m, 1.5, 0, 0), 'ERR_ATTR', /dropout: p must be in \[0, 1\], got 1.5/);
    expectCode(() => nat.dropout(a, o, m, -0.1, 0, 0), 'ERR_ATTR', /p must/);
    expectCode(() => nat.dropout(a, o, m, NaN, 0, 0), 'ERR_ATTR', /p must/);
    expectCode(() => nat.dropout(a, new Float32Array(7), m, 0.5, 0, 0), 'ERR_SHAPE', /out has 7/);
    expectCode(() => nat.dropout(a, o, new Uint8Array(9), 0.5, 0, 0), 'ERR_SHAPE', /mask has 9/);
    expectCode(() => nat.dropout(a, o, new Int32Array(8) as any, 0.5, 0, 0), 'ERR_DTYPE', /mask/);
    expectCode(() => nat.dropout(a, o, new Uint8Array(o.buffer), 0.5, 0, 0), 'ERR_SHAPE', /mask has 32/);
    expectCode(() => nat.dropout(a, o, new Uint8Array(o.buffer, 0, 8), 0.5, 0, 0), 'ERR_ARG', /share memory/);
    expectCode(() => nat.dropout_backward(a, m, 2, o), 'ERR_ATTR', /dropout_backward: p/);
    expectCode(() => nat.dropout_backward(a, new Uint8Array(3), 0.5, o), 'ERR_SHAPE', /mask has 3/);
  });
});

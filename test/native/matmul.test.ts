import { afterAll, describe, expect, it } from 'vitest';
import { backendInfo, getNumThreads, native, setGemmBackend, setNumThreads } from '../../lib/index.js';
import { expectClose, expectCode, loadFixtures } from '../helpers/fixtures.js';
import { kernels } from '../helpers/kernels.js';

const initialBackend = backendInfo().gemm;
const backends: ('blas' | 'builtin')[] = backendInfo().blas !== 'none' ? ['blas', 'builtin'] : ['builtin'];
afterAll(() => setGemmBackend(initialBackend));

/** Deterministic values in [-1, 1). */
function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Reference C = alpha*op(A)*op(B) + beta*C in double precision. */
function refGemm(ta: boolean, tb: boolean, M: number, N: number, K: number, alpha: number, A: Float32Array, lda: number,
  B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number): Float32Array {
  const out = Float32Array.from(C);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += (ta ? A[k * lda + i]! : A[i * lda + k]!) * (tb ? B[j * ldb + k]! : B[k * ldb + j]!);
      out[i * ldc + j] = alpha * acc + (beta === 0 ? 0 : beta * C[i * ldc + j]!);
    }
  return out;
}

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

for (const backend of backends) {
  describe(`matmul vs PyTorch (${backend} GEMM)`, () => {
    for (const c of loadFixtures('matmul', 'matmul')) {
      it(c.name, () => {
        setGemmBackend(backend);
        const { a, b } = c.inputs;
        const expected = c.outputs.out!;
        const { transA, transB } = c.attrs as { transA: boolean; transB: boolean };
        const shape = kernels().matmul_shape(a!.shape, b!.shape, transA, transB);
        expect(shape).toEqual(expected.shape);
        const out = new Float32Array(numel(shape)).fill(NaN); // must be fully overwritten
        kernels().matmul(a!.data as Float32Array, a!.shape, b!.data as Float32Array, b!.shape, out, transA, transB);
        expectClose(out, expected.data, { atol: 2e-5, rtol: 1e-4, label: c.name });
      });
    }

    it('large batched product, threaded (2 threads), matches a reference', () => {
      setGemmBackend(backend);
      const threads = getNumThreads();
      setNumThreads(2);
      try {
        // Shared b (folded into one tall GEMM) and per-batch b (loop over batches).
        const a = rand(2 * 150 * 130, 1), b = rand(130 * 170, 2), b2 = rand(2 * 130 * 170, 3);
        const out = new Float32Array(2 * 150 * 170);
        kernels().matmul(a, [2, 150, 130], b, [130, 170], out);
        for (let t = 0; t < 2; t++)
          expectClose(out.subarray(t * 150 * 170, (t + 1) * 150 * 170),
            refGemm(false, false, 150, 170, 130, 1, a.subarray(t * 150 * 130), 130, b, 170, 0, new Float32Array(150 * 170), 170),
            { atol: 1e-4, rtol: 1e-4, label: `shared b, batch ${t}` });
        kernels().matmul(a, [2, 150, 130], b2, [2, 130, 170], out);
        for (let t = 0; t < 2; t++)
          expectClose(out.subarray(t * 150 * 170, (t + 1) * 150 * 170),
            refGemm(false, false, 150, 170, 130, 1, a.subarray(t * 150 * 130), 130, b2.subarray(t * 130 * 170), 170, 0,
              new Float32Array(150 * 170), 170),
            { atol: 1e-4, rtol: 1e-4, label: `batched b, batch ${t}` });
      } finally {
        setNumThreads(threads);
      }
    });
  });
}

describe('gemm (raw, both backends side by side)', () => {
  const problems = [
    { ta: false, tb: false, M: 37, N: 45, K: 29, pad: 0, alpha: 1, beta: 0 },
    { ta: true, tb: false, M: 13, N: 70, K: 33, pad: 3, alpha: -0.5, beta: 1 },
    { ta: false, tb: true, M: 65, N: 17, K: 1, pad: 1, alpha: 2, beta: 0.25 },
    { ta: true, tb: true, M: 1, N: 1, K: 300, pad: 2, alpha: 1, beta: 0.5 },
    { ta: false, tb: false, M: 4, N: 5, K: 0, pad: 0, alpha: 1, beta: 0.5 },
  ];
  for (const p of problems)
    for (const backend of backends) {
      it(`${backend} ta=${p.ta} tb=${p.tb} ${p.M}x${p.N}x${p.K} pad=${p.pad} alpha=${p.alpha} beta=${p.beta}`, () => {
        const lda = (p.ta ? p.M : p.K) + p.pad || 1, ldb = (p.tb ? p.K : p.N) + p.pad || 1, ldc = p.N + p.pad;
        const A = rand(((p.ta ? p.K : p.M) || 1) * lda, 11), B = rand(((p.tb ? p.N : p.K) || 1) * ldb, 12);
        const C = rand(p.M * ldc, 13);
        const expected = refGemm(p.ta, p.tb, p.M, p.N, p.K, p.alpha, A, lda, B, ldb, p.beta, C, ldc);
        kernels().gemm(p.ta, p.tb, p.M, p.N, p.K, p.alpha, A, lda, B, ldb, p.beta, C, ldc, backend);
        expectClose(C, expected, { atol: 1e-5, rtol: 1e-4, label: backend }); // padding included: untouched
      });
    }

  it('beta = 0 ignores NaN in C', () => {
    for (const backend of backends) {
      const C = new Float32Array(6).fill(NaN);
      kernels().gemm(false, false, 2, 3, 2, 1, Float32Array.of(1, 2, 3, 4), 2, Float32Array.of(1, 0, 1, 0, 1, 1), 3, 0, C, 3, backend);
      expect(Array.from(C)).toEqual([1, 2, 3, 3, 4, 7]);
    }
  });
});

describe('matmul / gemm errors', () => {
  const f = (n: number) => new Float32Array(n);
  it('rejects mismatched shapes and bad buffers', () => {
    expectCode(() => kernels().matmul(f(6), [2, 3], f(8), [4, 2], f(4)), 'ERR_SHAPE', /inner dims/);
    expectCode(() => kernels().matmul(f(6), [2, 3], f(6), [3, 2], f(5)), 'ERR_SHAPE', /out/);
    expectCode(() => kernels().matmul(f(5), [2, 3], f(6), [3, 2], f(4)), 'ERR_SHAPE', /matmul: input 0 has 5 elements/);
    expectCode(() => kernels().matmul(f(1), [], f(3), [3], f(1)), 'ERR_SHAPE', /rank/);
    expectCode(() => kernels().matmul(f(24), [2, 3, 4], f(60), [3, 4, 5], f(30)), 'ERR_SHAPE', /broadcast/i);
    expectCode(() => kernels().matmul(f(3), [3], f(6), [3, 2], f(2), true), 'ERR_ATTR', /transA/);
    expectCode(() => kernels().matmul(new Float64Array(6) as any, [2, 3], f(6), [3, 2], f(4)), 'ERR_DTYPE', /matmul/);
    const buf = f(16);
    expectCode(() => kernels().matmul(buf.subarray(0, 4), [2, 2], f(4), [2, 2], buf.subarray(2, 6)), 'ERR_ARG', /matmul: output 0 (partially overlaps input 0|must not share memory)/);
    expectCode(() => kernels().matmul_shape([2, 3], [2, 3]), 'ERR_SHAPE', /3 vs 2/);
    expect(kernels().matmul_shape([2, 3], [2, 3], false, true)).toEqual([2, 2]);
    expect(kernels().matmul_shape([4], [4])).toEqual([]);
    expect(kernels().matmul_shape([7, 1, 2, 3], [5, 3, 4])).toEqual([7, 5, 2, 4]);
  });

  it('gemm validates sizes and leading dimensions against the buffers', () => {
    const A = f(6), B = f(12), C = f(8);
    kernels().gemm(false, false, 2, 4, 3, 1, A, 3, B, 4, 0, C, 4, 'builtin');
    expectCode(() => kernels().gemm(false, false, 2, 4, 3, 1, A, 2, B, 4, 0, C, 4), 'ERR_SHAPE', /lda/);
    expectCode(() => kernels().gemm(false, false, 2, 4, 3, 1, A, 4, B, 4, 0, C, 4), 'ERR_SHAPE', /needs 7/);
    expectCode(() => kernels().gemm(true, false, 2, 4, 3, 1, A, 3, B, 4, 0, C, 4), 'ERR_SHAPE', /A stored as 3x2/);
    expectCode(() => kernels().gemm(false, true, 2, 4, 3, 1, A, 3, B, 4, 0, C, 4), 'ERR_SHAPE', /B stored as 4x3 with ldb=4 needs 15/);
    expectCode(() => kernels().gemm(false, false, 2, 4, 3, 1, A, 3, B, 4, 0, C, 5), 'ERR_SHAPE', /C stored/);
    expectCode(() => kernels().gemm(false, false, -2, 4, 3, 1, A, 3, B, 4, 0, C, 4), 'ERR_SHAPE', /M=-2/);
    expectCode(() => kernels().gemm(false, false, 2, 4, 3, 1, A, 2 ** 40, B, 4, 0, C, 4), 'ERR_SHAPE', /lda/);
    expectCode(() => kernels().gemm(false, false, 2, 4, 3, 1, A, 3, B, 4, 0, B, 4), 'ERR_ARG', /share memory/);
    expectCode(() => kernels().gemm(false, false, 2, 4, 3, 1, A, 3, B, 4, 0, C, 4, 'mkl' as any), 'ERR_ATTR', /mkl/);
    expectCode(() => kernels().gemm(false, false, 2, 4, 3, 1, new Int32Array(6) as any, 3, B, 4, 0, C, 4), 'ERR_DTYPE', /gemm/);
    expectCode(() => kernels().gemm('no' as any, false, 2, 4, 3, 1, A, 3, B, 4, 0, C, 4), 'ERR_ARG', /transA/);
  });
});

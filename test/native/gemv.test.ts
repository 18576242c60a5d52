// sgemm with one row in A takes a matrix-vector path (no packing): every transpose and stride
// combination against a float64 reference, small and large enough to split across threads.
import { describe, expect, it } from 'vitest';
import { kernels } from '../helpers/kernels.js';
import { native } from '../../lib/native/load.js';

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  });
}

describe('sgemm with M = 1 (matrix-vector path)', () => {
  const sizes: [number, number][] = [[1, 1], [3, 17], [33, 5], [512, 784], [1000, 300]];
  for (const [N, K] of sizes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        for (const beta of [0, 0.5]) {
          it(`N=${N} K=${K} transA=${ta} transB=${tb} beta=${beta}`, () => {
            const lda = ta ? 3 : K; // transA: A is a K x 1 column stored with row stride 3
            const A = rand(ta ? (K - 1) * lda + 1 : K, 1);
            const ldb = tb ? K + 2 : N + 1; // padded rows
            const B = rand(tb ? (N - 1) * ldb + K : (K - 1) * ldb + N, 2);
            const C0 = beta === 0 ? new Float32Array(N).fill(NaN) : rand(N, 3); // beta 0 must not read C
            const C = C0.slice();
            kernels().gemm(ta, tb, 1, N, K, 0.75, A, lda, B, ldb, beta, C, N);
            for (let n = 0; n < N; n++) {
              let s = 0;
              for (let k = 0; k < K; k++) s += (ta ? A[k * lda]! : A[k]!) * (tb ? B[n * ldb + k]! : B[k * ldb + n]!);
              const want = 0.75 * s + (beta === 0 ? 0 : beta * C0[n]!);
              expect(Math.abs(C[n]! - want), `C[${n}] = ${C[n]}, want ${want}`).toBeLessThan(1e-5 * Math.sqrt(K) + 1e-6);
            }
          });
        }
      }
    }
  }
});

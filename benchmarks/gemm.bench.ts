// Square SGEMM (C = A @ B, n x n x n) in GFLOP/s: ravdl's built-in packed SIMD GEMM against
// OpenBLAS, both called through the same checked entry point (native().gemm with a forced
// backend) and measured side by side in this run, for each thread count. OpenBLAS runs
// single-threaded per call and is partitioned over ravdl's pool, as in every ravdl op.
// Also tf.matMul on tfjs's cpu and wasm backends (1-thread rows), and the FP32 peak of the
// machine measured by the FMA probe as the row's limit.
import { backendInfo, native, setNumThreads } from '../lib/index.js';
import { type BenchRow, type BenchSuite, timeIt } from './harness.js';
import { peakGflops } from './limits.js';
import { tfGemm, timeTfjs } from './peers/tfjs/index.js';

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

export const suite: BenchSuite = {
  name: 'gemm',
  async run({ threads, quick }) {
    const sizes = quick ? [256, 1024] : [256, 512, 1024, 2048];
    const haveBlas = backendInfo().blas !== 'none';
    const nat = native();
    const rows: BenchRow[] = [];
    for (const n of sizes) {
      const A = rand(n * n, 1), B = rand(n * n, 2), C = new Float32Array(n * n);
      const flop = 2 * n * n * n;
      // Enough samples for a stable median without minutes at n=2048.
      const timeMs = quick ? 200 : n >= 2048 ? 1500 : 600;
      const gflops = async (backend: 'blas' | 'builtin') => {
        const t = await timeIt(() => nat.gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n, backend), { timeMs, minIterations: 3 });
        return flop / (t.medianMs * 1e6);
      };
      // tfjs is single-threaded here; its plain-JS cpu backend needs ~3 s per call at n=1024
      // (about 0.7 GFLOP/s), so it is not run at n=2048 (~25 s per call).
      const tfjs = await timeTfjs(`GEMM n=${n}`, tfGemm(n), {
        timeMs,
        threads,
        skip: n >= 2048 ? { 'tfjs-cpu': 'about 25 s per call at this size (0.7 GFLOP/s at n=1024)' } : undefined,
      });
      const tfGflops = (ms: number | null) => (ms == null ? null : flop / (ms * 1e6));
      for (const t of threads) {
        setNumThreads(t);
        rows.push({
          suite: 'gemm',
          workload: `GEMM n=${n} threads=${t}`,
          unit: 'GFLOP/s',
          higherIsBetter: true,
          threads: t,
          ravdl: await gflops('builtin'),
          peers: {
            OpenBLAS: haveBlas ? await gflops('blas') : null,
            'tfjs-cpu': t === 1 ? tfGflops(tfjs.ms['tfjs-cpu']) : null,
            'tfjs-wasm': t === 1 ? tfGflops(tfjs.ms['tfjs-wasm']) : null,
          },
          limit: peakGflops(t, quick),
          target: { peer: 'OpenBLAS', min: 0.95 },
          notes: [...(haveBlas ? [] : ['OpenBLAS not built in (install libopenblas-dev and rebuild)']), ...tfjs.notes],
        });
      }
    }
    setNumThreads(0);
    return rows;
  },
};

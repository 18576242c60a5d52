// Memory-bound elementwise kernels: add of two 1e7-float arrays into an existing output and a
// full sum-reduction of 1e7 floats, in GB/s, for each thread count, next to tf.add / tf.sum on
// tfjs's cpu and wasm backends (1-thread rows) and to the machine's memory bandwidth measured
// in the same run by the STREAM-style triad probe (limits.ts) at the same thread count. The
// target is >= 0.8x that triad figure. Bytes counted as the triad counts them: each array read
// or written once (add: 12 B/elem, sum: 4 B/elem), write-allocate traffic not counted.
import { native, setNumThreads } from '../lib/index.js';
import { type BenchRow, type BenchSuite, timeIt } from './harness.js';
import { triadGBs } from './limits.js';
import { tfAdd, tfSum, timeTfjs } from './peers/tfjs/index.js';
import { runKernel } from '../lib/native/kernels.js';

const N = 1e7;

function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

/** GB/s of moving `bytes` in `ms` milliseconds. */
const gbps = (bytes: number, ms: number | null) => (ms == null ? null : bytes / (ms * 1e6));

export const suite: BenchSuite = {
  name: 'elementwise',
  async run({ threads, quick }) {
    const timeMs = quick ? 150 : 500;
    const a = filled(N, 1);
    const b = filled(N, 2);
    const out = new Float32Array(N);
    const sum = new Float32Array(1);
    const tfAddMs = await timeTfjs('add 1e7', tfAdd(N), { timeMs, threads });
    const tfSumMs = await timeTfjs('sum 1e7', tfSum(N), { timeMs, threads });

    const rows: BenchRow[] = [];
    try {
      for (const t of threads) {
        const limit = triadGBs(t, quick);
        setNumThreads(t);
        const add = await timeIt(() => runKernel('add', 'cpu', [{ _native: a, shape: [N] }, { _native: b, shape: [N] }], [{ _native: out, shape: [N] }], {}), { timeMs });
        rows.push({
          suite: 'elementwise',
          workload: `add 1e7 floats, 12 B/elem (${t} thr)`,
          unit: 'GB/s',
          higherIsBetter: true,
          threads: t,
          ravdl: gbps(12 * N, add.medianMs)!,
          peers: {
            'tfjs-cpu': t === 1 ? gbps(12 * N, tfAddMs.ms['tfjs-cpu']) : null,
            'tfjs-wasm': t === 1 ? gbps(12 * N, tfAddMs.ms['tfjs-wasm']) : null,
          },
          limit,
          target: { peer: 'limit', min: 0.8 },
          notes: [`add: ${add.medianMs.toFixed(2)} ms median`, ...tfAddMs.notes],
        });
        const red = await timeIt(() => runKernel('sum', 'cpu', [{ _native: a, shape: [N] }], [{ _native: sum, shape: [] }], {}), { timeMs });
        rows.push({
          suite: 'elementwise',
          workload: `sum 1e7 floats, 4 B/elem (${t} thr)`,
          unit: 'GB/s',
          higherIsBetter: true,
          threads: t,
          ravdl: gbps(4 * N, red.medianMs)!,
          peers: {
            'tfjs-cpu': t === 1 ? gbps(4 * N, tfSumMs.ms['tfjs-cpu']) : null,
            'tfjs-wasm': t === 1 ? gbps(4 * N, tfSumMs.ms['tfjs-wasm']) : null,
          },
          limit,
          target: { peer: 'limit', min: 0.8 },
          notes: [`sum: ${red.medianMs.toFixed(2)} ms median`, ...tfSumMs.notes],
        });
      }
    } finally {
      setNumThreads(0);
    }
    return rows;
  },
};

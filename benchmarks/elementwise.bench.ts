// Memory-bound elementwise kernels: add of two 1e7-float arrays into an existing output and a
// full sum-reduction of 1e7 floats, in GB/s, for each thread count, next to the copy
// bandwidth of this machine measured in the same run (Float32Array.prototype.set of 1e7 floats).
import { native, setNumThreads } from '../lib/index.js';
import { type BenchRow, type BenchSuite, timeIt } from './harness.js';

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
const gbps = (bytes: number, ms: number) => bytes / (ms * 1e6);

export const suite: BenchSuite = {
  name: 'elementwise',
  async run({ threads, quick }) {
    const timeMs = quick ? 150 : 500;
    const nat = native();
    const a = filled(N, 1);
    const b = filled(N, 2);
    const out = new Float32Array(N);
    const sum = new Float32Array(1);

    // Peer: a plain copy, 4 bytes read + 4 written per element (single-threaded, V8's memcpy).
    const copy = await timeIt(() => out.set(a), { timeMs });
    const memcpyGBs = gbps(8 * N, copy.medianMs);
    const note = `memcpy-bandwidth: Float32Array.prototype.set of ${N} floats, ${copy.medianMs.toFixed(2)} ms`;

    const rows: BenchRow[] = [];
    try {
      for (const t of threads) {
        setNumThreads(t);
        const add = await timeIt(() => nat.add(a, [N], b, [N], out), { timeMs });
        rows.push({
          suite: 'elementwise',
          workload: `add 1e7 floats, 12 B/elem (${t} thr)`,
          unit: 'GB/s',
          higherIsBetter: true,
          ravdl: gbps(12 * N, add.medianMs),
          peers: { 'memcpy-bandwidth': memcpyGBs },
          notes: [note, `add: ${add.medianMs.toFixed(2)} ms median`],
        });
        const red = await timeIt(() => nat.sum(a, [N], sum, null), { timeMs });
        rows.push({
          suite: 'elementwise',
          workload: `sum 1e7 floats, 4 B/elem (${t} thr)`,
          unit: 'GB/s',
          higherIsBetter: true,
          ravdl: gbps(4 * N, red.medianMs),
          peers: { 'memcpy-bandwidth': memcpyGBs },
          notes: [`sum: ${red.medianMs.toFixed(2)} ms median`],
        });
      }
    } finally {
      setNumThreads(0);
    }
    return rows;
  },
};

// Physical limits of this machine, measured in the same run as the suites by the native probes
// (native/src/cpu/probe.cpp): FP32 peak from an FMA loop, memory bandwidth from a STREAM-style
// triad. Each figure is measured once per thread count and reused by every row that needs it.
import { getNumThreads, native, setNumThreads } from '../lib/index.js';
import type { Limit } from './harness.js';

const peak = new Map<number, number>();
const triad = new Map<number, number>();

// 2^25 floats = 128 MiB per array, 384 MiB in all: far beyond any L3, so the triad streams
// from DRAM (STREAM asks for at least 4x the caches).
const TRIAD_N = 1 << 25;

function withThreads<T>(threads: number, fn: () => T): T {
  const before = getNumThreads();
  setNumThreads(threads);
  try {
    return fn();
  } finally {
    setNumThreads(before);
  }
}

/** FP32 peak GFLOP/s on `threads` threads: best of a few FMA-loop runs (a peak is a maximum). */
export function peakGflops(threads: number, quick = false): Limit {
  if (!peak.has(threads)) {
    const runs = quick ? 2 : 3;
    const ms = quick ? 100 : 200;
    let best = 0;
    withThreads(threads, () => {
      for (let i = 0; i < runs; i++) best = Math.max(best, native().probe_fma_gflops(ms, threads));
    });
    peak.set(threads, best);
  }
  return { name: 'FP32 peak', value: peak.get(threads)! };
}

/** Triad GB/s (12 bytes per element, best of the passes) on `threads` threads. */
export function triadGBs(threads: number, quick = false): Limit {
  if (!triad.has(threads)) {
    const reps = quick ? 4 : 10;
    triad.set(threads, withThreads(threads, () => native().probe_triad_gbps(TRIAD_N, reps)));
  }
  return { name: 'triad', value: triad.get(threads)! };
}

/** Every limit measured so far, for the JSON file: { fp32PeakGflops: { threads: value }, ... }. */
export function measuredLimits(): { fp32PeakGflops: Record<string, number>; triadGBs: Record<string, number> } {
  return { fp32PeakGflops: Object.fromEntries(peak), triadGBs: Object.fromEntries(triad) };
}

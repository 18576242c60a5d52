// Shared pieces of the benchmark suites: timing with tinybench and the row format that
// benchmarks/run.ts prints. A benchmark reports figures and ratios; it never asserts.
import { Bench } from 'tinybench';

export interface Timing {
  /** Median time per call, milliseconds. */
  medianMs: number;
  /** Median absolute deviation, milliseconds. */
  madMs: number;
  samples: number;
}

/** Times `fn` (sync or async) with tinybench: warm-up, then samples for about `timeMs`. */
export async function timeIt(
  fn: () => unknown,
  { timeMs = 500, minIterations = 5, warmupMs = 100 }: { timeMs?: number; minIterations?: number; warmupMs?: number } = {},
): Promise<Timing> {
  const bench = new Bench({ time: timeMs, iterations: minIterations, warmupTime: warmupMs, warmupIterations: 2 });
  bench.add('task', fn as () => void);
  await bench.run();
  const result: any = bench.tasks[0]!.result;
  if (!result || result.state === 'errored' || !result.latency) {
    throw new Error(`benchmark task failed: ${result?.error?.message ?? 'no result'}`);
  }
  return { medianMs: result.latency.p50, madMs: result.latency.mad, samples: result.latency.samplesCount ?? 0 };
}

/** One line of the results table: ravdl's figure next to each peer's, in the same unit. */
export interface BenchRow {
  suite: string;
  workload: string;
  /** e.g. 'GFLOP/s', 'GB/s', 'ms', 'steps/s', 'µs' */
  unit: string;
  higherIsBetter: boolean;
  ravdl: number;
  /** Peer name -> figure; null when the peer is not installed (with `notes` saying why). */
  peers: Record<string, number | null>;
  /** The ratio ravdl/peer this row is judged by, e.g. { peer: 'OpenBLAS', min: 0.6 }. */
  target?: { peer: string; min: number };
  notes?: string[];
}

export interface SuiteOptions {
  threads: number[];
  /** Fewer sizes and shorter timings (for a smoke run). */
  quick: boolean;
}

export interface BenchSuite {
  name: string;
  run(opts: SuiteOptions): Promise<BenchRow[]>;
}

/** ravdl/peer as a speed ratio (>1 means ravdl is faster), whatever the unit's direction. */
export function speedRatio(row: BenchRow, peer: string): number | null {
  const p = row.peers[peer];
  if (p == null || p === 0 || row.ravdl === 0) return null;
  return row.higherIsBetter ? row.ravdl / p : p / row.ravdl;
}

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

/**
 * What a row is judged by (reported, never asserted):
 * - `{ peer, min }`: speed ratio ravdl/peer >= min; peer 'limit' means the row's physical limit;
 * - `{ max }`: ravdl's own figure <= max, in the row's unit (e.g. dispatch <= 1 µs).
 */
export type Target = { peer: string; min: number } | { max: number };

/** A physical limit of the machine in the row's unit, measured in the same run (limits.ts). */
export interface Limit {
  /** e.g. 'FP32 peak (FMA loop)' or 'triad bandwidth' */
  name: string;
  value: number;
}

/** One line of the results table: ravdl's figure next to each peer's, in the same unit. */
export interface BenchRow {
  suite: string;
  workload: string;
  /** e.g. 'GFLOP/s', 'GB/s', 'ms', 'steps/s', 'µs' */
  unit: string;
  higherIsBetter: boolean;
  /** Threads of this row (every peer at the same count, or no figure for that peer). */
  threads?: number;
  ravdl: number;
  /** Peer name -> figure; null when the peer is not installed or not run (with `notes` saying why). */
  peers: Record<string, number | null>;
  limit?: Limit;
  target?: Target;
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
  const p = peer === 'limit' ? row.limit?.value : row.peers[peer];
  if (p == null || p === 0 || row.ravdl === 0 || !Number.isFinite(p)) return null;
  return row.higherIsBetter ? row.ravdl / p : p / row.ravdl;
}

export interface TargetStatus {
  /** e.g. '>= 0.95x OpenBLAS' or '<= 1 µs' */
  label: string;
  /** The figure compared: a ratio for peer targets, ravdl's figure for absolute ones. */
  value: number | null;
  /** null when the figure is missing (peer not installed). */
  met: boolean | null;
}

export function targetStatus(row: BenchRow): TargetStatus | null {
  const t = row.target;
  if (!t) return null;
  if ('max' in t) return { label: `<= ${t.max} ${row.unit}`, value: row.ravdl, met: row.ravdl <= t.max };
  const value = speedRatio(row, t.peer);
  const name = t.peer === 'limit' ? (row.limit?.name ?? 'limit') : t.peer;
  return { label: `>= ${t.min}x ${name}`, value, met: value == null ? null : value >= t.min };
}

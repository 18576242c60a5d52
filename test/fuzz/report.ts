// The fuzzer's report: per binding function, calls, calls that passed validation and ran the
// kernel (returned normally; "big" = with a buffer of >= 1e5 elements), errors by code.

/** The engine's error codes (lib/errors.ts); out-of-memory is ERR_ARG "<fn>: out of memory". */
export const CODES = ['ERR_SHAPE', 'ERR_DTYPE', 'ERR_INDEX', 'ERR_ATTR', 'ERR_ARG', 'ERR_BACKEND', 'ERR_DEVICE'];

export interface FnStats {
  calls: number;
  ok: number;
  okBig: number;
  /** Plans the harness could not allocate (never sent to the binding). */
  skipped: number;
  /** By code; 'getter' = the fuzzer's own exception from a trapped getter; 'OOM'. */
  errors: Record<string, number>;
  ms: number;
}

export interface Violation {
  fn: string;
  round: number;
  seed: number;
  notes: string;
  message: string;
  args: string;
}

export interface Report {
  seed: number;
  shard: string;
  rounds: number;
  big: number;
  ms: number;
  functions: Record<string, FnStats>;
  violations: Violation[];
  /** Every function of the binding. */
  names: string[];
}

/** Minimum calls per function that must pass validation and run the kernel. */
export const MIN_OK = 20;

/**
 * Functions exempt from MIN_OK, and why. setNumThreads / setGemmBackend change global state:
 * engineControls() calls them with a fixed list of values instead of mutated seeds.
 */
export const EXEMPT: Record<string, string> = {
  setNumThreads: 'global state: a fixed list of values, each followed by a threaded kernel call',
  setGemmBackend: 'global state: a fixed list of values, each followed by a matmul',
  releaseBuffer: 'detaches the buffer it is given (by design): a fixed list of arrays, each outcome checked',
  deviceAlloc: 'no CUDA device where the fuzzer runs and a device buffer cannot be recorded: every call fails cleanly (ERR_DEVICE, ERR_ARG)',
  deviceFree: 'device memory: as deviceAlloc',
  deviceUpload: 'device memory: as deviceAlloc',
  deviceDownload: 'device memory: as deviceAlloc',
  deviceCopy: 'device memory: as deviceAlloc',
  deviceBufferInfo: 'device memory: as deviceAlloc',
  deviceSynchronize: 'device memory: as deviceAlloc',
  deviceCachedBytes: 'device memory: as deviceAlloc',
  deviceEmptyCache: 'device memory: as deviceAlloc',
};

export function merge(reports: Report[]): Report {
  const out: Report = { ...reports[0]!, shard: `${reports.length} shards`, ms: 0, functions: {}, violations: [] };
  for (const r of reports) {
    out.ms = Math.max(out.ms, r.ms);
    Object.assign(out.functions, r.functions);
    out.violations.push(...r.violations);
  }
  return out;
}

/** Problems that fail the run: violations, and functions that did not reach their kernel often enough. */
export function problems(r: Report, minOk = MIN_OK): string[] {
  const bad = r.violations.map((v) => `${v.fn} (FUZZ_SEED=${v.seed} round ${v.round}, ${v.notes}): ${v.message}\n    args ${v.args}`);
  for (const name of r.names) {
    const s = r.functions[name];
    if (!s) bad.push(`${name}: never fuzzed (no seed in test/fuzz/corpus.json?)`);
    else if (!EXEMPT[name] && s.ok < minOk) bad.push(`${name}: only ${s.ok} of ${s.calls} calls passed validation (need ${minOk})`);
  }
  return bad;
}

/** A compact table for CI logs: two functions per line. */
export function table(r: Report): string {
  const codes = (e: Record<string, number>) =>
    Object.entries(e)
      .sort()
      .map(([k, n]) => `${k.replace(/^ERR_/, '')}:${n}`)
      .join(' ');
  const cells = Object.entries(r.functions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([fn, s]) => `${fn.padEnd(23)}${String(s.calls).padStart(5)}${String(s.ok).padStart(5)}${String(s.okBig).padStart(3)}  ${codes(s.errors)}`);
  const rows: string[] = [];
  for (let i = 0; i < cells.length; i += 2) rows.push((cells[i]!.padEnd(88) + (cells[i + 1] ?? '')).trimEnd());
  const total = Object.values(r.functions).reduce((a, s) => ({ calls: a.calls + s.calls, ok: a.ok + s.ok, big: a.big + s.okBig }), { calls: 0, ok: 0, big: 0 });
  return [
    `binding fuzzer, FUZZ_SEED=${r.seed}: ${Object.keys(r.functions).length} functions, ${total.calls} calls, ${total.ok} ran the kernel (${total.big} with >= 1e5 elements), ${r.violations.length} violations, ${(r.ms / 1000).toFixed(1)} s`,
    `${'function'.padEnd(23)}calls   ok big  errors by code (getter: the fuzzer's own getter threw)`,
    ...rows,
  ].join('\n');
}

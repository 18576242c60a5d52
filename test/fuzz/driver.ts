// Runs the fuzzer (run.ts) in child processes, one per shard, with timeouts, and merges their
// reports. Used by fuzz.test.ts and by `npm run fuzz` / `npm run fuzz:asan` (main.ts).
import { execFileSync, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { merge, type Report } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..', '..');

export interface FuzzOptions {
  seed: number;
  shards: number;
  /** Mutated calls per function (each may be followed by repair calls). */
  calls: number;
  /** Of those, scaled-up calls (2e5-1.2e6 elements) per function. */
  big: number;
  /** Share of calls with exact-size buffers instead of canaries. */
  exact?: number;
  /** Load build-asan/Release/ravdl.node under AddressSanitizer + UBSan. */
  asan?: boolean;
  only?: string[];
  timeoutMs: number;
}

export interface ShardResult {
  shard: number;
  /** Set when the process did not finish normally (crash, sanitizer report, timeout). */
  failure?: string;
  report?: Report;
}

export const ASAN_ADDON = join(root, 'build-asan', 'Release', 'ravdl.node');

function asanEnv(): Record<string, string> {
  const lib = execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
  return {
    RAVDL_ADDON_PATH: ASAN_ADDON,
    LD_PRELOAD: lib,
    // Node and V8 are not instrumented: no leak report (V8 keeps its heap), no ODR checks.
    ASAN_OPTIONS: 'detect_leaks=0:detect_odr_violation=0:halt_on_error=1:abort_on_error=1:allocator_may_return_null=1',
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  };
}

function runShard(shard: number, o: FuzzOptions): Promise<ShardResult> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    FUZZ_SEED: String(o.seed),
    FUZZ_SHARD: `${shard}/${o.shards}`,
    FUZZ_CALLS: String(o.calls),
    FUZZ_BIG: String(o.big),
    FUZZ_EXACT: o.exact === undefined ? undefined : String(o.exact),
    FUZZ_ONLY: o.only?.join(','),
    ...(o.asan ? asanEnv() : {}),
  };
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, 'run.ts')], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      let report: Report | undefined;
      try {
        report = JSON.parse(last) as Report;
      } catch {
        report = undefined;
      }
      if (report && code === 0 && !signal) return done({ shard, report });
      const current = [...stderr.matchAll(/^fuzz: (\w+)$/gm)].pop()?.[1];
      // A sanitizer report starts with its error line; otherwise the last lines tell most.
      const at = stderr.search(/ERROR: AddressSanitizer|runtime error:/);
      const lines = (at >= 0 ? stderr.slice(at) : stderr).split('\n').filter((l) => !/^fuzz: \w+$/.test(l));
      const tail = (at >= 0 ? lines.slice(0, 40) : lines.slice(-40)).join('\n');
      done({
        shard,
        report,
        failure:
          `fuzz shard ${shard}/${o.shards} ${signal ? `killed by ${signal}` : `exited with ${code}`}` +
          `${signal === 'SIGKILL' ? ` (timeout ${o.timeoutMs} ms?)` : ''} while fuzzing ${current ?? '?'}` +
          ` (replay: FUZZ_SEED=${o.seed} FUZZ_ONLY=${current ?? '?'} FUZZ_VERBOSE=1 node --expose-gc --import tsx test/fuzz/run.ts)\n${tail}`,
      });
    });
  });
}

/** Runs every shard in parallel; returns the merged report and any process failures. */
export async function fuzz(o: FuzzOptions): Promise<{ report?: Report; failures: string[] }> {
  const results = await Promise.all(Array.from({ length: o.shards }, (_, i) => runShard(i, o)));
  const reports = results.map((r) => r.report).filter((r): r is Report => !!r);
  return { report: reports.length ? merge(reports) : undefined, failures: results.flatMap((r) => (r.failure ? [r.failure] : [])) };
}

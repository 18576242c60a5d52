// How long the Fashion-MNIST example holds the event loop: the example's job (load the dataset,
// train its CNN with await model.fit, predict the test set with predict_async) in a fresh process
// (benchmarks/fashion-stall.ts) with a 1 ms timer watching the loop; the row is the longest stall
// (target: under 50 ms, so a server in the same process stays responsive). The notes give the
// same job through the synchronous forms (load_*_sync, fit_sync, predict), which hold the loop
// for the whole job. A stall includes the time the process waits for a core: on a loaded VM
// (see the load average in the notes) the figure is an upper bound of ravdl's own stalls.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow, BenchSuite } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));

interface StallRun {
  maxStallMs: number;
  p99Ms: number;
  over50: number;
  maxCpuStallMs: number;
  ticks: number;
  seconds: number;
  accuracy: number;
}

function child(args: string[]): StallRun {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES; // the example as a user runs it
  const r = spawnSync(process.execPath, ['--conditions=ravdl-source', '--import', 'tsx', join(here, 'fashion-stall.ts'), ...args], { cwd: join(here, '..'), env, encoding: 'utf8', timeout: 900_000 });
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.error || r.status !== 0 || !last.startsWith('{')) throw new Error(`event-loop: the run failed: ${r.error?.message ?? r.stderr?.trim().split('\n').pop() ?? 'no output'}`);
  return JSON.parse(last) as StallRun;
}

export const suite: BenchSuite = {
  name: 'event-loop',
  async run({ threads, quick }) {
    const epochs = 1;
    const limit = quick ? 2000 : 6000;
    const t = Math.max(...threads);
    const args = ['--epochs', String(epochs), '--limit', String(limit), '--threads', String(t)];
    const load = loadavg()[0]!.toFixed(2);
    const ours = child(args);
    const sync = child([...args, '--sync']);
    const row: BenchRow = {
      suite: 'event-loop',
      workload: `Fashion-MNIST example ${epochs}ep x ${limit} + load + predict, longest event-loop stall ${t}T`,
      unit: 'ms',
      higherIsBetter: false,
      threads: t,
      ravdl: ours.maxStallMs,
      peers: {},
      target: { max: 50 },
      notes: [
        `the job: load both splits (60,000 + 10,000 images), ${epochs} epoch on the first ${limit} images at batch 64, predict the 10,000 test images; a 1 ms timer measures the gaps`,
        `async API: longest stall ${ours.maxStallMs.toFixed(1)} ms (of which the main thread ran ${ours.maxCpuStallMs.toFixed(1)} ms at most), 99th percentile ${ours.p99Ms.toFixed(1)} ms, ${ours.over50} gaps over 50 ms, ${ours.seconds.toFixed(1)} s in all (accuracy ${ours.accuracy.toFixed(3)})`,
        `the same job through the synchronous forms: longest stall ${sync.maxStallMs.toFixed(0)} ms (${sync.seconds.toFixed(1)} s in all)`,
        `1-min load average ${load} at the start (a stall includes waiting for a core)`,
      ],
    };
    return [row];
  },
};

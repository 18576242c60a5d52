// `npm run bench [-- --filter conv] [--threads 1,2] [--quick] [--json file]`
// Runs every benchmarks/*.bench.ts suite and prints one table of ravdl vs each peer, measured
// side by side in this run, with the machine's physical limits (limits.ts) where they apply and
// whether each row's target is met. Reports only; never asserts. `npm run bench:chart` draws
// the --json file.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { backendInfo, setNumThreads } from '../lib/index.js';
import { type BenchRow, type BenchSuite, speedRatio, targetStatus } from './harness.js';
import { fmt, table } from './table.js';
import { writeChart } from './chart.js';
import { measuredLimits } from './limits.js';
import { loadTfjs } from './peers/tfjs/index.js';

function parseArgs(argv: string[]) {
  const opts = { filter: '', threads: [1, 2], quick: false, json: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--filter') opts.filter = argv[++i] ?? '';
    else if (a === '--threads') opts.threads = (argv[++i] ?? '').split(',').map(Number).filter((n) => n > 0);
    else if (a === '--quick') opts.quick = true;
    else if (a === '--json') opts.json = argv[++i] ?? 'bench-results.json';
    else throw new Error(`bench: unknown argument '${a}' (use --filter NAME, --threads 1,2, --quick, --json FILE)`);
  }
  return opts;
}


function torchVersion(): string | null {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

// On this project's VMs the first touch of a fresh page is slow (an 8 MiB buffer: ~27 ms, 10-20x
// bare metal), so a peer that allocates its outputs per call and hands the memory back to the OS
// (glibc returns blocks over its mmap threshold on free) pays it on every call, bimodally: PyTorch's
// conv2d forward swung between 1.5 and 60 ms per call. The suite therefore runs (re-executing
// itself once) with glibc's malloc told to keep freed memory for reuse; the PyTorch peers inherit
// it. This removes a VM artifact, not work: every library still allocates what it allocates.
const MALLOC_TUNABLES = 'glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736';

function reexecWithTunables(): boolean {
  if (process.platform !== 'linux' || process.env.RAVDL_BENCH_CHILD) return false;
  const env = { ...process.env, RAVDL_BENCH_CHILD: '1', GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? MALLOC_TUNABLES };
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env });
  process.exitCode = r.status ?? 1;
  return true;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (reexecWithTunables()) return;
  const here = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort();
  const info = backendInfo();
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  const tfjs = await loadTfjs();
  const machine = {
    cpu: cpuModel,
    cores: cpus().length,
    simd: info.simd,
    blas: info.blas,
    os: `${process.platform} ${release()}`,
    ravdl: info.version,
    node: process.version,
    torch: torchVersion(),
    tfjs: tfjs.version,
    loadAvgStart: loadavg()[0],
    glibcTunables: process.env.GLIBC_TUNABLES ?? null,
  };
  const machineLine = `ravdl ${info.version} | BLAS ${info.blas} | SIMD ${info.simd} | ${info.hardwareThreads} hardware threads | ${cpuModel} | Node ${process.version} | PyTorch ${machine.torch ?? 'not installed'} | tfjs ${tfjs.version ?? 'not installed'}`;
  console.log(machineLine);
  console.log(`1-min load average at start: ${machine.loadAvgStart.toFixed(2)} on ${machine.cores} cores; GLIBC_TUNABLES=${machine.glibcTunables ?? '(unset)'}`);
  for (const n of tfjs.notes) console.log(`  note: ${n}`);

  const started = Date.now();
  const rows: BenchRow[] = [];
  const printed = new Set<string>(tfjs.notes);
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as { suite?: BenchSuite };
    if (!mod.suite) continue;
    if (opts.filter && !mod.suite.name.includes(opts.filter) && !f.includes(opts.filter)) continue;
    const t0 = Date.now();
    console.log(`running ${mod.suite.name} ...`);
    const got = await mod.suite.run({ threads: opts.threads, quick: opts.quick });
    // Each distinct note once (the tfjs and PyTorch notes repeat on many rows).
    for (const r of got)
      for (const n of r.notes ?? [])
        if (!printed.has(n)) {
          printed.add(n);
          console.log(`  note: ${r.workload}: ${n}`);
        }
    console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    rows.push(...got);
    setNumThreads(0);
  }
  const limits = measuredLimits();
  const show = (m: Record<string, number>, unit: string) =>
    Object.entries(m).map(([t, v]) => `${t}T ${fmt(v)} ${unit}`).join(', ') || 'not measured';
  const limitsLine = `limits: FP32 peak (FMA loop) ${show(limits.fp32PeakGflops, 'GFLOP/s')}; triad bandwidth ${show(limits.triadGBs, 'GB/s')}`;
  console.log('\n' + machineLine + '\n' + limitsLine);
  console.log(table(rows));
  const seconds = (Date.now() - started) / 1000;
  console.log(`ratios are speeds, ravdl/peer (>1: ravdl faster); 'of limit' = ravdl / physical limit. ${rows.length} rows in ${seconds.toFixed(0)} s, 1-min load ${loadavg()[0]!.toFixed(2)} at end`);
  if (opts.json) {
    if (dirname(opts.json) !== '.') mkdirSync(dirname(opts.json), { recursive: true });
    const doc = {
      date: new Date().toISOString(),
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
      machine: { ...machine, loadAvgEnd: loadavg()[0], backend: info, line: machineLine },
      limits,
      seconds,
      rows: rows.map((r) => ({
        ...r,
        ratios: Object.fromEntries(Object.keys(r.peers).map((p) => [p, speedRatio(r, p)])),
        ofLimit: speedRatio(r, 'limit'),
        targetStatus: targetStatus(r),
      })),
    };
    writeFileSync(opts.json, JSON.stringify(doc, null, 2) + '\n');
    console.log(`wrote ${opts.json} and its chart ${writeChart(opts.json)} (README section: npm run bench:readme -- ${opts.json})`);
  }
}

await main();

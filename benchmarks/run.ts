// `npm run bench [-- --filter conv] [--threads 1,2] [--quick] [--json file]`
// Runs every benchmarks/*.bench.ts suite and prints one table of ravdl vs each peer,
// measured side by side in this run. Reports only; never asserts.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { backendInfo, setNumThreads } from '../lib/index.js';
import { type BenchRow, type BenchSuite, speedRatio } from './harness.js';

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

function fmt(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '-';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(v >= 1 ? 2 : 3);
}

function table(rows: BenchRow[]): string {
  const peers = [...new Set(rows.flatMap((r) => Object.keys(r.peers)))];
  const head = ['suite', 'workload', 'unit', 'ravdl', ...peers, 'ratio (speed vs target peer)', 'target'];
  const body = rows.map((r) => {
    const ratioPeer = r.target?.peer ?? Object.keys(r.peers)[0];
    const ratio = ratioPeer ? speedRatio(r, ratioPeer) : null;
    const target = r.target ? `>= ${r.target.min}x ${r.target.peer}: ${ratio == null ? 'n/a' : ratio >= r.target.min ? 'met' : 'NOT met'}` : '';
    return [r.suite, r.workload, r.unit, fmt(r.ravdl), ...peers.map((p) => fmt(r.peers[p])), ratio == null ? '-' : `${fmt(ratio)}x ${ratioPeer}`, target];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const here = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort();
  const info = backendInfo();
  console.log(`ravdl ${info.version} | BLAS ${info.blas} | SIMD ${info.simd} | ${info.hardwareThreads} hardware threads | ${cpus()[0]?.model ?? 'unknown CPU'} | Node ${process.version}`);
  const rows: BenchRow[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as { suite?: BenchSuite };
    if (!mod.suite) continue;
    if (opts.filter && !mod.suite.name.includes(opts.filter) && !f.includes(opts.filter)) continue;
    console.log(`running ${mod.suite.name} ...`);
    const got = await mod.suite.run({ threads: opts.threads, quick: opts.quick });
    for (const r of got) for (const n of r.notes ?? []) console.log(`  note: ${r.workload}: ${n}`);
    rows.push(...got);
    setNumThreads(0);
  }
  console.log('\n' + table(rows));
  if (opts.json) {
    if (dirname(opts.json) !== '.') mkdirSync(dirname(opts.json), { recursive: true });
    writeFileSync(opts.json, JSON.stringify({ date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, backend: info }, rows }, null, 2));
    console.log(`wrote ${opts.json}`);
  }
}

await main();

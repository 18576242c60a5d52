// `npm run bench:chart [-- FILE.json]`: draws the ratios of a `npm run bench -- --json FILE`
// run as an SVG bar chart written next to it (FILE.svg; default benchmarks/results/latest.json).
// One group per table row, one horizontal bar per peer (ravdl/peer speed ratio, > 1 = ravdl
// faster) and one for the physical limit (ravdl/limit), on a log scale; a solid line at 1x and a
// dashed red mark at the row's target. Plain SVG text, no dependency.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface Row {
  suite: string;
  workload: string;
  unit: string;
  ravdl: number;
  ratios: Record<string, number | null>;
  ofLimit: number | null;
  limit?: { name: string; value: number };
  target?: { peer: string; min: number } | { max: number };
  targetStatus: { label: string; value: number | null; met: boolean | null } | null;
}
interface Doc { date: string; command: string; machine: { line: string; loadAvgStart?: number }; rows: Row[] }

const COLORS: Record<string, string> = {
  OpenBLAS: '#4c78a8', PyTorch: '#f58518', 'tfjs-cpu': '#54a24b', 'tfjs-wasm': '#b279a2', limit: '#9d9d9d', target: '#e45756',
};
const color = (k: string) => COLORS[k] ?? '#72b7b2';
const ORDER = Object.keys(COLORS);
const rank = (k: string) => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
const tick = (v: number) => (v >= 1 ? `${v}x` : `${Number(v.toPrecision(1))}x`);
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmtX = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3)) + 'x';

interface Bar { key: string; label: string; value: number }

/** Bars of one row: each peer with a figure, the limit, and for an absolute target the budget. */
function bars(r: Row): Bar[] {
  const out: Bar[] = [];
  for (const [peer, v] of Object.entries(r.ratios)) if (v != null && Number.isFinite(v)) out.push({ key: peer, label: `vs ${peer}`, value: v });
  if (r.ofLimit != null) out.push({ key: 'limit', label: `of ${r.limit?.name ?? 'limit'}`, value: r.ofLimit });
  // '<= 1 µs' drawn as budget/figure, so 1x is the target and more is better, like the others.
  if (r.target && 'max' in r.target) out.push({ key: 'target', label: `vs ${r.target.max} ${r.unit} budget`, value: r.target.max / r.ravdl });
  return out.sort((a, b) => rank(a.key) - rank(b.key));
}

/** Where the row's target line goes on the ratio axis. */
function targetAt(r: Row): number | null {
  if (!r.target) return null;
  return 'max' in r.target ? 1 : r.target.min;
}

export function chart(doc: Doc): string {
  const groups = doc.rows.map((r) => ({ row: r, bars: bars(r) })).filter((g) => g.bars.length > 0);
  const all = groups.flatMap((g) => g.bars.map((b) => b.value));
  const lo = 10 ** Math.floor(Math.log10(Math.min(0.1, ...all)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(10, ...all)));
  const labelW = 490, plotW = 560, right = 70, barH = 11, barGap = 2, groupGap = 12, top = 118;
  const width = labelW + plotW + right;
  const x = (v: number) => labelW + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW;
  const out: string[] = [];
  let y = top;
  const body: string[] = [];
  for (const { row, bars: bs } of groups) {
    const h = bs.length * (barH + barGap);
    const st = row.targetStatus;
    const mark = st == null ? '' : st.met == null ? ' (target n/a)' : st.met ? ' ✓' : ' ✗';
    const markColor = st?.met === false ? '#c0392b' : st?.met ? '#2e7d32' : '#555';
    body.push(`<text x="${labelW - 8}" y="${y + Math.min(h, 2 * (barH + barGap)) / 2 + 4}" text-anchor="end" font-size="12"><tspan fill="#888">${esc(row.suite)}&#160;·&#160;</tspan>${esc(row.workload)}<tspan fill="${markColor}" font-weight="bold">${esc(mark)}</tspan></text>`);
    if (st) body.push(`<text x="${labelW - 8}" y="${y + Math.min(h, 2 * (barH + barGap)) / 2 + 17}" text-anchor="end" font-size="10" fill="${markColor}">target ${esc(st.label)}</text>`);
    bs.forEach((b, i) => {
      const by = y + i * (barH + barGap);
      const x0 = x(lo), x1 = x(b.value);
      body.push(`<rect x="${x0}" y="${by}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${barH}" fill="${color(b.key)}"><title>${esc(`${row.workload}: ${b.label} ${fmtX(b.value)}`)}</title></rect>`);
      body.push(`<text x="${(x1 + 4).toFixed(1)}" y="${by + barH - 2}" font-size="10" fill="#333">${esc(fmtX(b.value))}</text>`);
    });
    const t = targetAt(row);
    if (t != null) {
      const tx = x(t).toFixed(1);
      body.push(`<line x1="${tx}" x2="${tx}" y1="${y - 2}" y2="${y + h}" stroke="${COLORS.target}" stroke-width="2" stroke-dasharray="4,2"/>`);
    }
    y += Math.max(h, 30) + groupGap;
    body.push(`<line x1="20" x2="${width - 20}" y1="${y - groupGap / 2}" y2="${y - groupGap / 2}" stroke="#eee"/>`);
  }
  const height = y + 30;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="20" y="26" font-size="17" font-weight="bold">ravdl speed relative to each peer and to the machine's limits</text>`);
  out.push(`<text x="20" y="45" font-size="11" fill="#444">ratio = ravdl / peer as a speed (&gt; 1x: ravdl faster); 'of limit' = ravdl / measured FP32 peak or triad bandwidth. Log scale. Dashed red: the row's target; ✓ met, ✗ not met.</text>`);
  out.push(`<text x="20" y="61" font-size="10" fill="#666">${esc(doc.machine.line)}</text>`);
  out.push(`<text x="20" y="75" font-size="10" fill="#666">${esc(`${doc.date.slice(0, 16).replace('T', ' ')} UTC · ${doc.command}${doc.machine.loadAvgStart != null ? ` · 1-min load ${doc.machine.loadAvgStart.toFixed(2)} at start` : ''}`)}</text>`);
  // Legend.
  const keys = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.key)))].sort((a, b) => rank(a) - rank(b));
  let lx = 20;
  for (const k of keys) {
    const name = k === 'limit' ? 'of physical limit' : k === 'target' ? 'vs absolute budget' : `vs ${k}`;
    out.push(`<rect x="${lx}" y="86" width="12" height="12" fill="${color(k)}"/><text x="${lx + 16}" y="96" font-size="11">${esc(name)}</text>`);
    lx += 30 + name.length * 6.5;
  }
  // Decade grid and the 1x line.
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    const gx = x(d).toFixed(1);
    out.push(`<line x1="${gx}" x2="${gx}" y1="${top - 8}" y2="${y}" stroke="${d === 1 ? '#222' : '#ddd'}" stroke-width="${d === 1 ? 1.5 : 1}"/>`);
    out.push(`<text x="${gx}" y="${top - 12}" font-size="11" text-anchor="middle" fill="#444">${tick(d)}</text>`);
    out.push(`<text x="${gx}" y="${y + 14}" font-size="11" text-anchor="middle" fill="#444">${tick(d)}</text>`);
  }
  out.push(...body, '</svg>');
  return out.join('\n') + '\n';
}

/** Writes the chart of a --json results file next to it (same name, .svg); returns its path. */
export function writeChart(file: string): string {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Doc;
  const svgPath = join(dirname(file), basename(file).replace(/\.json$/, '') + '.svg');
  writeFileSync(svgPath, chart(doc));
  return svgPath;
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const file = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'results', 'latest.json');
  console.log(`wrote ${writeChart(file)}`);
}

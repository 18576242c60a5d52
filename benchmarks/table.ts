// The results table printed by `npm run bench` and written into the README by `npm run bench:readme`.
import { type BenchRow, speedRatio, targetStatus } from './harness.js';

export function fmt(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '-';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(Math.abs(v) >= 1 ? 2 : 3);
}

const PEER_ORDER = ['OpenBLAS', 'PyTorch', 'tfjs-cpu', 'tfjs-wasm'];

function peerNames(rows: BenchRow[]): string[] {
  const seen = new Set(rows.flatMap((r) => Object.keys(r.peers)));
  return [...PEER_ORDER.filter((p) => seen.has(p)), ...[...seen].filter((p) => !PEER_ORDER.includes(p)).sort()];
}

/** Figures, then one speed-ratio column per peer (ravdl/peer, >1: ravdl faster), then the target. */
export function table(rows: BenchRow[]): string {
  const peers = peerNames(rows);
  const hasLimit = rows.some((r) => r.limit);
  const head = ['suite', 'workload', 'unit', 'ravdl', ...peers, ...(hasLimit ? ['limit'] : []),
    ...peers.map((p) => `x ${p}`), ...(hasLimit ? ['of limit'] : []), 'target'];
  const body = rows.map((r) => {
    const t = targetStatus(r);
    const target = t ? `${t.label}: ${t.met == null ? 'n/a' : t.met ? 'met' : 'NOT met'}` : '';
    return [r.suite, r.workload, r.unit, fmt(r.ravdl), ...peers.map((p) => fmt(r.peers[p])),
      ...(hasLimit ? [fmt(r.limit?.value)] : []), ...peers.map((p) => fmt(speedRatio(r, p))),
      ...(hasLimit ? [fmt(speedRatio(r, 'limit'))] : []), target];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n');
}

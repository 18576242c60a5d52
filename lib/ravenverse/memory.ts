// How much memory a (sub)graph needs on a provider: its constants (all downloaded before it runs)
// plus the most bytes of op values alive at once when the executor frees each value after its
// last reader, as lib/graph/execute.ts does (in-place reuse is ignored: an upper bound).
import { type GraphData, outputsOf } from '../graph/graph-data.js';
import { numel } from '../tensor/tensor.js';

export function estimatePeakBytes(g: GraphData): number {
  const readers = g.nodes.map((n) => new Int32Array(outputsOf(n).length));
  for (const n of g.nodes) if (n.kind === 'op') for (const r of n.inputs) if (r) readers[r[0]]![r[1]]!++;
  const held = new Set([...g.persist.values()].map(([n, o]) => `${n}:${o}`));
  const bytes = (i: number, o: number) => 4 * numel(outputsOf(g.nodes[i]!)[o]!.shape);
  let constants = 0;
  const seen = new Set<string>();
  for (const n of g.nodes) {
    if (n.kind === 'const' && !seen.has(n.blob ?? '')) {
      if (n.blob) seen.add(n.blob);
      constants += 4 * numel(n.shape);
    }
  }
  let live = 0;
  let peak = 0;
  g.nodes.forEach((n, i) => {
    if (n.kind !== 'op') return;
    n.outputs.forEach((_, o) => (live += bytes(i, o)));
    peak = Math.max(peak, live);
    for (const r of n.inputs) {
      if (!r || g.nodes[r[0]]!.kind === 'const') continue;
      if (--readers[r[0]]![r[1]]! === 0 && !held.has(`${r[0]}:${r[1]}`)) live -= bytes(r[0], r[1]);
    }
    n.outputs.forEach((_, o) => {
      if (readers[i]![o] === 0 && !held.has(`${i}:${o}`)) live -= bytes(i, o);
    });
  });
  return constants + peak;
}

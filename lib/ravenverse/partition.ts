// The partitioner: splits a graph into subgraphs for provider nodes, with a cost model built
// from the op catalog's inferred shapes (FLOPs per op, bytes per value).
//
// Algorithm (README "Partitioning"): nodes are taken in recorded (topological) order and grouped
// into subgraphs of about `target` FLOPs each, where the target is the larger of (a) the total
// work shared out so every provider gets several subgraphs and (b) the work that makes computing
// a subgraph cost more than moving its inputs (bytes / bandwidth < FLOPs / provider speed).
// A subgraph is closed early when the next node reads nothing it computed and it already holds
// enough work, so independent work starts new subgraphs that other providers can take.
import type { GraphData, GraphNode, OpNode, ValueRef } from '../graph/graph-data.js';
import { outputsOf } from '../graph/graph-data.js';
import { numel } from '../tensor/tensor.js';
import { type Subgraph, refKey } from './subgraph.js';

export interface PartitionOptions {
  /** Providers expected to share the work (default 2). */
  providers?: number;
  /** Subgraphs per provider to aim for, so work can be balanced and reassigned (default 4). */
  perProvider?: number;
  /** A provider's speed, FLOP/s (default 2e10: a small CPU). */
  flopsPerSecond?: number;
  /** Bandwidth between coordinator and providers, bytes/s (default 1e8: 100 MB/s). */
  bytesPerSecond?: number;
  /** How much more a subgraph should compute than it costs to move (default 4). */
  computeToTransfer?: number;
}

const bytesOf = (meta: { shape: readonly number[] }) => 4 * numel(meta.shape);

/** Estimated FLOPs of one node from its inferred shapes (multiply-adds count 2). */
export function nodeFlops(g: GraphData, n: OpNode): number {
  const ins = n.inputs.map((r) => (r ? outputsOf(g.nodes[r[0]]!)[r[1]]! : null));
  const out = n.outputs[0];
  const outN = out ? numel(out.shape) : 0;
  switch (n.op) {
    case 'matmul': {
      const a = ins[0]!.shape;
      const k = n.attrs.trans_a ? a[a.length - 2] ?? 1 : a[a.length - 1] ?? 1;
      return 2 * outN * k;
    }
    case 'conv2d':
    case 'conv2d_backward_input': {
      const w = (n.op === 'conv2d' ? ins[1] : ins[1])!.shape; // weight [Cout, Cin/groups, KH, KW]
      const perOut = (w[1] ?? 1) * (w[2] ?? 1) * (w[3] ?? 1);
      return 2 * (n.op === 'conv2d' ? outN * perOut : numel(ins[0]!.shape) * (w[0] ?? 1) * (w[2] ?? 1) * (w[3] ?? 1) / Math.max(1, Number(n.attrs.groups ?? 1)));
    }
    case 'conv2d_backward_weight': {
      const dy = ins[0]!.shape; // [N, Cout, Ho, Wo]
      return 2 * numel(dy) * numel(out!.shape.slice(1));
    }
    default: {
      // Elementwise, reductions, norms, pooling, losses, optimizer updates: a few FLOPs per element read or written.
      const read = ins.reduce((s, m) => s + (m ? numel(m.shape) : 0), 0);
      return 2 * Math.max(read, outN);
    }
  }
}

/** Splits g into subgraphs (in dependency order) for `providers` provider nodes. */
export function partition(g: GraphData, options: PartitionOptions = {}): Subgraph[] {
  const providers = Math.max(1, options.providers ?? 2);
  const perProvider = Math.max(1, options.perProvider ?? 4);
  const flopsPerSecond = options.flopsPerSecond ?? 2e10;
  const bytesPerSecond = options.bytesPerSecond ?? 1e8;
  const ratio = options.computeToTransfer ?? 4;

  const flops = g.nodes.map((n) => (n.kind === 'op' ? nodeFlops(g, n) : 0));
  const total = flops.reduce((a, b) => a + b, 0);
  const owner = new Int32Array(g.nodes.length).fill(-1); // subgraph of each op node
  let count = 0;
  let cur: { nodes: number[]; flops: number; bytesIn: number; reads: Set<string>; computed: Set<number> } | null = null;
  // Work worth moving its inputs for: enough compute for the bytes it reads.
  const worthIt = (bytesIn: number, f: number) => f / flopsPerSecond >= (ratio * bytesIn) / bytesPerSecond;
  const target = Math.max(total / (providers * perProvider), 1);

  const close = () => {
    if (!cur || cur.nodes.length === 0) return;
    count++;
    cur = null;
  };
  g.nodes.forEach((n: GraphNode, i) => {
    if (n.kind === 'const') return;
    const readsOwn = cur !== null && n.inputs.some((r) => r !== null && cur!.computed.has(r[0]));
    if (cur && !readsOwn && cur.flops >= target / 2 && worthIt(cur.bytesIn, cur.flops)) close();
    if (cur && cur.flops >= target && worthIt(cur.bytesIn, cur.flops)) close();
    cur ??= { nodes: [], flops: 0, bytesIn: 0, reads: new Set(), computed: new Set() };
    cur.nodes.push(i);
    cur.computed.add(i);
    cur.flops += flops[i]!;
    owner[i] = count;
    for (const r of n.inputs) {
      if (!r || cur.computed.has(r[0])) continue;
      const k = refKey(r);
      if (cur.reads.has(k)) continue;
      cur.reads.add(k);
      cur.bytesIn += bytesOf(outputsOf(g.nodes[r[0]]!)[r[1]]!);
    }
  });
  close();

  return fromAssignment(g, owner, count, flops);
}

/** Subgraphs from each op node's subgraph number (-1 for constants): inputs, outputs, dependencies, costs. */
export function fromAssignment(g: GraphData, owner: Int32Array, count: number, flops: number[] = g.nodes.map((n) => (n.kind === 'op' ? nodeFlops(g, n) : 0))): Subgraph[] {
  const subs: Subgraph[] = Array.from({ length: count }, (_, index) => ({ index, nodes: [], inputs: [], outputs: [], deps: [], flops: 0, bytesIn: 0, bytesOut: 0 }));
  g.nodes.forEach((n, i) => {
    if (n.kind !== 'op') return;
    subs[owner[i]!]!.nodes.push(i);
    subs[owner[i]!]!.flops += flops[i]!;
  });
  const outputsOfSub = subs.map(() => new Map<string, ValueRef>());
  for (const s of subs) {
    const seen = new Set<string>();
    const deps = new Set<number>();
    for (const id of s.nodes) {
      for (const r of (g.nodes[id] as OpNode).inputs) {
        if (!r) continue;
        const k = refKey(r);
        if (seen.has(k)) continue;
        const src = g.nodes[r[0]]!;
        const from = owner[r[0]]!;
        if (src.kind === 'op' && from === s.index) continue;
        seen.add(k);
        s.bytesIn += bytesOf(outputsOf(src)[r[1]]!);
        if (src.kind === 'const') continue; // copied in as a blob reference
        s.inputs.push(r);
        deps.add(from);
        outputsOfSub[from]!.set(k, r);
      }
    }
    s.deps = [...deps].sort((a, b) => a - b);
  }
  for (const [, r] of g.persist) if (owner[r[0]]! >= 0) outputsOfSub[owner[r[0]]!]!.set(refKey(r), r);
  subs.forEach((s, i) => {
    s.outputs = [...outputsOfSub[i]!.values()];
    s.bytesOut = s.outputs.reduce((b, r) => b + bytesOf(outputsOf(g.nodes[r[0]]!)[r[1]]!), 0);
  });
  return subs.filter((s) => s.nodes.length > 0);
}

/** The naive plans the benchmark compares with: one subgraph per op node, or one for everything. */
export function naivePartition(g: GraphData, mode: 'per-op' | 'single'): Subgraph[] {
  const owner = new Int32Array(g.nodes.length).fill(-1);
  let count = 0;
  g.nodes.forEach((n, i) => {
    if (n.kind === 'op') owner[i] = mode === 'single' ? 0 : count++;
  });
  return fromAssignment(g, owner, mode === 'single' ? 1 : count);
}

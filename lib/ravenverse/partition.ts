// The partitioner: splits a graph into subgraphs for provider nodes, with a cost model built
// from the op catalog's inferred shapes (FLOPs per op, bytes per value) and a fixed cost per op.
//
// Algorithm (README "Partitioning"): candidate plans are made by grouping nodes in recorded
// (topological) order into subgraphs of about a target amount of work, for several targets
// (the whole graph, and the total shared out over 1 to 8 subgraphs per provider). A subgraph is
// closed only once computing it costs more than moving its inputs and its fixed overhead, early
// when the next node reads nothing it computed (independent work starts a new subgraph another
// provider can take), and always before it would run longer than `maxSeconds` (so persisted
// values arrive during a long run and a lost provider loses little). The naive plans (one
// subgraph per training step, per op) are candidates too. Each candidate's run on the providers
// is simulated with the same cost model, and the fastest plan wins.
//
// planPartition() adds data parallelism: when told of 2 or more providers it also tries each
// training step split along the batch into 2..providers shards (lib/ravenverse/data-parallel.ts,
// a graph rewrite), plans the rewritten graph the same way (plus plans that keep each shard in
// one subgraph), and keeps the split only when its simulated run beats the unsplit plan's.
import type { GraphData, GraphNode, OpNode, ValueRef } from '../graph/graph-data.js';
import { outputsOf } from '../graph/graph-data.js';
import { numel } from '../tensor/tensor.js';
import { type Subgraph, refKey } from './subgraph.js';
import { findSteps, splitBatch } from './data-parallel.js';

export interface PartitionOptions {
  /** Providers expected to share the work (default 2). */
  providers?: number;
  /** A provider's speed, FLOP/s (default 2e10: a small CPU). */
  flopsPerSecond?: number;
  /** Bandwidth between coordinator and providers, bytes/s (default 1e8: 100 MB/s). */
  bytesPerSecond?: number;
  /** Fixed cost of one subgraph (assignment, messages, validation), seconds (default 1e-3). */
  overheadSeconds?: number;
  /**
   * Cost of one op beyond its FLOPs (the executor and the kernel call), seconds (default 1e-4:
   * a graph of 21,820 tiny ops ran in 2.3 s on one thread of the 2-core VM, ~100 µs per op).
   */
  nodeSeconds?: number;
  /** How much more a subgraph should compute than it costs to move and dispatch (default 4). */
  computeToTransfer?: number;
  /** Longest estimated compute time of one subgraph, seconds (default 2). */
  maxSeconds?: number;
  /**
   * planPartition only: may training steps be split along the batch over the providers (default
   * true)? Only when `providers` is given and above 1, and only where the cost model says it pays.
   */
  dataParallel?: boolean;
  /** planPartition only: values of the graph that must stay available after a split (a model's variables). */
  keep?: readonly ValueRef[];
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

type Model = Required<ScheduleModel>;

function modelOf(options: PartitionOptions): Model {
  return {
    providers: Math.max(1, options.providers ?? 2),
    flopsPerSecond: options.flopsPerSecond ?? 2e10,
    bytesPerSecond: options.bytesPerSecond ?? 1e8,
    overheadSeconds: options.overheadSeconds ?? 1e-3,
    nodeSeconds: options.nodeSeconds ?? 1e-4,
  };
}

/** Splits g into subgraphs (in dependency order) for `providers` provider nodes: the fastest candidate plan under the cost model. */
export function partition(g: GraphData, options: PartitionOptions = {}): Subgraph[] {
  return bestPlan(g, options, () => []).plan;
}

/** The fastest of the grouped candidates, the naive plans and `extra(seconds)`'s plans that respect maxSeconds, with its simulated time. */
function bestPlan(g: GraphData, options: PartitionOptions, extra: (seconds: number[]) => Subgraph[][]): { plan: Subgraph[]; seconds: number } {
  const m = modelOf(options);
  const maxSeconds = options.maxSeconds ?? 2;
  const flops = g.nodes.map((n) => (n.kind === 'op' ? nodeFlops(g, n) : 0));
  const seconds = nodeSeconds(g, m, flops);
  const total = seconds.reduce((a, b) => a + b, 0);
  const candidates: Subgraph[][] = [];
  for (const per of [0, 1, 2, 4, 8, 16, 32]) {
    const target = per === 0 ? Infinity : total / (m.providers * per);
    candidates.push(group(g, flops, seconds, target, { ...m, ratio: options.computeToTransfer ?? 4, maxSeconds }));
  }
  // The naive plans compete too (one per step; one per op on graphs small enough to simulate cheaply).
  candidates.push(naivePartition(g, 'per-step'));
  if (g.nodes.length <= 20_000) candidates.push(naivePartition(g, 'per-op'));
  candidates.push(...extra(seconds));
  // maxSeconds bounds every plan (a single node longer than it cannot be split).
  const allowed = candidates.filter((plan) => plan.every((sub) => computeSeconds(sub, m) <= maxSeconds || sub.nodes.length === 1));
  let best = allowed[0]!; // the grouped candidates always respect it
  let bestTime = simulate(best, m).seconds;
  for (const plan of allowed.slice(1)) {
    const time = simulate(plan, m).seconds;
    if (time < bestTime) [best, bestTime] = [plan, time];
  }
  return { plan: best, seconds: bestTime };
}

/** Each node's estimated compute time: its FLOPs at the provider's speed plus the per-op cost. */
function nodeSeconds(g: GraphData, m: Model, flops = g.nodes.map((n) => (n.kind === 'op' ? nodeFlops(g, n) : 0))): number[] {
  return g.nodes.map((n, i) => (n.kind === 'op' ? flops[i]! / m.flopsPerSecond + m.nodeSeconds : 0));
}

/** What planPartition decided about splitting training steps along the batch, and why. */
export interface DataParallelDecision {
  /** Shards per split training step in the chosen plan (1: not split). */
  shards: number;
  /** Why it split or not, in words. */
  reason: string;
  /** Training steps in the graph, and how many of them can be split exactly. */
  steps: number;
  splittable: number;
  /** The distinct reasons steps cannot be split (at most 5), each with its first step's node range. */
  refusals: string[];
  /** Simulated seconds of the best plan for each number of shards tried (1: unsplit). */
  estimates: { shards: number; seconds: number }[];
}

export interface Plan {
  /** The graph the subgraphs refer to: g itself, or g with its training steps split along the batch. */
  graph: GraphData;
  subgraphs: Subgraph[];
  /** Simulated run time of the plan (seconds). */
  seconds: number;
  dataParallel: DataParallelDecision;
  /** The value of `graph` that holds a value of g (persisted and kept values always have one). */
  map(ref: ValueRef): ValueRef;
}

const ms = (s: number) => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(1)} ms`);

/**
 * partition() plus data parallelism: the unsplit plan against each training step split along
 * the batch into 2 to `providers` shards (at most 8), every candidate simulated with the same
 * cost model; the split is kept only when it is faster. The decision and its reasons are in
 * `dataParallel`. Persisted names are unchanged, so requesters see no difference.
 */
export function planPartition(g: GraphData, options: PartitionOptions = {}): Plan {
  const unsplit = bestPlan(g, options, () => []);
  const estimates = [{ shards: 1, seconds: unsplit.seconds }];
  const plan: Plan = { graph: g, subgraphs: unsplit.plan, seconds: unsplit.seconds, map: (r) => r, dataParallel: { shards: 1, reason: '', steps: 0, splittable: 0, refusals: [], estimates } };
  const d = plan.dataParallel;
  const told = options.providers;
  if (options.dataParallel === false) return (d.reason = 'not split: data parallelism is off'), plan;
  if (told === undefined || told < 2) return (d.reason = `not split: told of ${told ?? 'no'} provider${told === 1 ? '' : 's'} (splitting a step needs 2 or more)`), plan;
  d.steps = findSteps(g).length;
  if (!d.steps) return (d.reason = 'not split: no training step (no optimizer update)'), plan;
  let bestSplit: { shards: number; seconds: number } | null = null;
  let splitSteps = 0;
  for (let k = 2; k <= Math.min(told, 8); k++) {
    const sp = splitBatch(g, k, { keep: options.keep });
    const split = sp.steps.filter((s) => !s.refused);
    if (k === 2) {
      d.splittable = split.length;
      const first = new Map<string, string>(); // one entry per reason (node numbers aside), from its first step
      for (const s of sp.steps) if (s.refused && !first.has(s.refused.replace(/node \d+/g, '#'))) first.set(s.refused.replace(/node \d+/g, '#'), `${s.refused} (step at nodes ${s.start}-${s.end - 1})`);
      d.refusals = [...first.values()].slice(0, 5);
    }
    if (!split.length) break;
    const best = bestPlan(sp.graph, options, (seconds) => [shardPartition(sp.graph, sp.shard, options, true, seconds), shardPartition(sp.graph, sp.shard, options, false, seconds)]);
    estimates.push({ shards: k, seconds: best.seconds });
    if (!bestSplit || best.seconds < bestSplit.seconds) bestSplit = { shards: k, seconds: best.seconds };
    if (best.seconds < plan.seconds) {
      Object.assign(plan, { graph: sp.graph, subgraphs: best.plan, seconds: best.seconds, map: sp.map });
      d.shards = k;
      splitSteps = split.length;
    }
  }
  if (!d.splittable) d.reason = `not split: no training step can be split exactly (${d.refusals[0]})`;
  else if (d.shards > 1) d.reason = `split ${splitSteps} of ${d.steps} training steps into ${d.shards} shards: ${ms(plan.seconds)} simulated against ${ms(unsplit.seconds)} unsplit`;
  else d.reason = `not split: unsplit ${ms(unsplit.seconds)} beats ${ms(bestSplit!.seconds)} with ${bestSplit!.shards} shards (moving weights and gradients costs more than the shards save)`;
  return plan;
}

/**
 * The plans made for a split graph: each shard of each step in its own subgraph, the rest
 * (replicated work, the combination, the updates, unsplit steps) in a chain of subgraphs of at
 * most maxSeconds; with `firstInChain`, shard 0 stays in the chain (its provider already holds
 * the weights).
 */
export function shardPartition(g: GraphData, shard: Int32Array, options: PartitionOptions = {}, firstInChain = true, seconds = nodeSeconds(g, modelOf(options))): Subgraph[] {
  const maxSeconds = options.maxSeconds ?? 2;
  const owner = new Int32Array(g.nodes.length).fill(-1);
  let count = 0;
  let kind = -2;
  let run = 0;
  g.nodes.forEach((n, i) => {
    if (n.kind !== 'op') return;
    const k = firstInChain && shard[i] === 0 ? -1 : shard[i]!;
    if (k !== kind || run + seconds[i]! > maxSeconds) {
      count++;
      run = 0;
    }
    kind = k;
    run += seconds[i]!;
    owner[i] = count - 1;
  });
  return fromAssignment(g, owner, count);
}

/** One candidate: nodes grouped in order into subgraphs of about `target` seconds of compute (see the header). */
function group(g: GraphData, flops: number[], seconds: number[], target: number, m: Model & { ratio: number; maxSeconds: number }): Subgraph[] {
  const owner = new Int32Array(g.nodes.length).fill(-1);
  let count = 0;
  let cur: { seconds: number; bytesIn: number; reads: Set<string>; computed: Set<number> } | null = null;
  // Worth its own subgraph: computing it takes `ratio` times longer than moving its inputs and dispatching it.
  const worthIt = (c: { seconds: number; bytesIn: number }) => c.seconds >= m.ratio * (c.bytesIn / m.bytesPerSecond + m.overheadSeconds);
  g.nodes.forEach((n: GraphNode, i) => {
    if (n.kind === 'const') return;
    if (cur) {
      const readsOwn = n.inputs.some((r) => r !== null && cur!.computed.has(r[0]));
      const full = (cur.seconds >= target || (!readsOwn && cur.seconds >= target / 2)) && worthIt(cur);
      if (full || cur.seconds + seconds[i]! > m.maxSeconds) {
        count++;
        cur = null;
      }
    }
    cur ??= { seconds: 0, bytesIn: 0, reads: new Set(), computed: new Set() };
    cur.computed.add(i);
    cur.seconds += seconds[i]!;
    owner[i] = count;
    for (const r of n.inputs) {
      if (!r || cur.computed.has(r[0])) continue;
      const k = refKey(r);
      if (cur.reads.has(k)) continue;
      cur.reads.add(k);
      cur.bytesIn += bytesOf(outputsOf(g.nodes[r[0]]!)[r[1]]!);
    }
  });
  return fromAssignment(g, owner, cur ? count + 1 : count, flops);
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

const UPDATE_OPS = new Set(['adam_update', 'rmsprop_update', 'sgd_update']);

/**
 * The naive plans the benchmark compares with: one subgraph per op node, one per training step
 * (a step ends after its run of optimizer updates), or one for everything.
 */
export function naivePartition(g: GraphData, mode: 'per-op' | 'per-step' | 'single'): Subgraph[] {
  const owner = new Int32Array(g.nodes.length).fill(-1);
  let count = 0;
  let inUpdates = false;
  g.nodes.forEach((n, i) => {
    if (n.kind !== 'op') return;
    if (mode === 'per-step') {
      const isUpdate = UPDATE_OPS.has(n.op);
      if (inUpdates && !isUpdate) count++; // the previous step's updates are done
      inUpdates = isUpdate;
    }
    owner[i] = mode === 'single' ? 0 : mode === 'per-op' ? count++ : count;
  });
  return fromAssignment(g, owner, mode === 'single' ? 1 : mode === 'per-op' ? count : count + 1);
}

export interface ScheduleModel {
  providers: number;
  /** FLOP/s of each provider. */
  flopsPerSecond: number;
  /** Bytes/s between the coordinator and a provider (inputs down, outputs up). */
  bytesPerSecond: number;
  /** Fixed cost of one subgraph: assignment, messages, validation (seconds). */
  overheadSeconds: number;
  /** Cost of one op beyond its FLOPs (seconds; default 0 here, 1e-4 in partition()). */
  nodeSeconds?: number;
}

/** Estimated compute time of a subgraph on one provider: its FLOPs and its ops' dispatch. */
function computeSeconds(s: Subgraph, m: ScheduleModel): number {
  return s.flops / m.flopsPerSecond + s.nodes.length * (m.nodeSeconds ?? 0);
}

/**
 * Simulated run time of a plan: list scheduling of the subgraphs in order on identical providers,
 * each taking overhead + (bytes in + out) / bandwidth + FLOPs / speed + ops x per-op cost, and starting when its
 * dependencies are done. A model of the plan's quality, not a measurement.
 */
export function simulate(subs: readonly Subgraph[], m: ScheduleModel): { seconds: number; busy: number } {
  const free = new Array<number>(Math.max(1, m.providers)).fill(0);
  const done = new Float64Array(subs.length);
  let busy = 0;
  for (const s of subs) {
    const ready = s.deps.reduce((t, d) => Math.max(t, done[d]!), 0);
    let best = 0;
    for (let p = 1; p < free.length; p++) if (Math.max(free[p]!, ready) < Math.max(free[best]!, ready)) best = p;
    const cost = m.overheadSeconds + (s.bytesIn + s.bytesOut) / m.bytesPerSecond + computeSeconds(s, m);
    done[s.index] = Math.max(free[best]!, ready) + cost;
    free[best] = done[s.index]!;
    busy += cost;
  }
  return { seconds: done.reduce((a, b) => Math.max(a, b), 0), busy };
}

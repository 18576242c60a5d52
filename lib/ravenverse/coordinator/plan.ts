// Planning a run at execute: the partition (training steps split along the batch when the cost
// model says it pays) and each subgraph's row. Pure; for a graph of PLAN_IN_WORKER_NODES nodes or
// more it runs in a worker thread (plan-worker.ts): planning a 20,000-node training graph takes
// seconds, during which the event loop would answer no heartbeat, assignment or completion.
import { Worker } from 'node:worker_threads';
import { RavdlError, type ErrorCode } from '../../errors.js';
import { graphJson } from '../../graph/format.js';
import { type GraphData, outputsOf } from '../../graph/graph-data.js';
import type { SubgraphsTable } from '../db/schema.js';
import { estimatePeakBytes } from '../memory.js';
import { type PartitionOptions, partition, planPartition } from '../partition.js';
import { type Subgraph, refKey, subgraphGraph } from '../subgraph.js';

/** Graphs with at least this many nodes are planned in the worker thread (smaller ones plan in milliseconds). */
export const PLAN_IN_WORKER_NODES = 2000;

/** A subgraph's row but for its graph id and time, which the caller adds. */
export type SubgraphRow = Omit<SubgraphsTable, 'graph_id' | 'updated_at'>;

export interface PlanResult {
  /** The graph the subgraphs refer to when its training steps were split (it replaces the uploaded one for the run), else null. */
  split: GraphData | null;
  /** The split graph's graph.json. */
  splitJson: string | null;
  subs: Subgraph[];
  rows: SubgraphRow[];
  /** Why steps were split or not. */
  note: string;
}

/** The rows of `subs`, subgraphs of `g`: what the ready queue and providers need of each. */
export function subgraphRows(g: GraphData, subs: readonly Subgraph[]): SubgraphRow[] {
  const dependents = subs.map(() => [] as number[]);
  for (const s of subs) for (const d of s.deps) dependents[d]!.push(s.index);
  return subs.map((s) => {
    const sg = subgraphGraph(g, s, () => '0'.repeat(64));
    const outputs = s.outputs.map((r) => ({ ref: refKey(r), ...outputsOf(g.nodes[r[0]]!)[r[1]]! }));
    const constBlobs = [...new Set(sg.nodes.slice(s.inputs.length).flatMap((n) => (n.kind === 'const' ? [n.blob!] : [])))];
    return {
      idx: s.index, state: s.deps.length ? 'waiting' : 'ready', spec: JSON.stringify(s), dependents: JSON.stringify(dependents[s.index]),
      deps_left: s.deps.length, outputs: JSON.stringify(outputs), const_blobs: JSON.stringify(constBlobs), node_count: s.nodes.length, flops: s.flops,
      peak_bytes: estimatePeakBytes(sg), attempts: 0, failures: 0, excluded: '[]', last_error: null, done_by: null,
    };
  });
}

/**
 * The cost model's plan of `g`, never with more than `maxNodes` nodes (the limit a restart checks).
 * The constants' data (the class targets read for the plan) is dropped from `g` and the split graph.
 */
export function makePlan(g: GraphData, opts: PartitionOptions, maxNodes: number): PlanResult {
  const plan = planPartition(g, opts);
  for (const n of [...g.nodes, ...plan.graph.nodes]) if (n.kind === 'const') n.data = null; // only the plan needed them
  const fits = plan.graph === g || plan.graph.nodes.length <= maxNodes;
  const used = fits ? plan.graph : g;
  const subs = fits ? plan.subgraphs : partition(g, opts);
  const split = used === g ? null : used;
  return { split, splitJson: split && JSON.stringify(graphJson(split)), subs, rows: subgraphRows(used, subs), note: fits ? plan.dataParallel.reason : `not split: the split graph would exceed ${maxNodes} nodes` };
}

/** What the worker thread is sent and answers. */
export interface PlanRequest {
  id: number;
  graph: GraphData;
  opts: PartitionOptions;
  maxNodes: number;
}
export type PlanReply = { id: number; ok: true; result: PlanResult } | { id: number; ok: false; error: { code: string; message: string } };

/** Plans in a worker thread of its own, started at the first request and kept (it holds the process open only while planning). */
export class Planner {
  private worker: Worker | null = null;
  private pending = new Map<number, { resolve: (r: PlanResult) => void; reject: (e: Error) => void }>();
  private next = 0;

  plan(graph: GraphData, opts: PartitionOptions, maxNodes: number): Promise<PlanResult> {
    const w = (this.worker ??= this.spawn());
    const id = this.next++;
    if (!this.pending.size) w.ref();
    const done = new Promise<PlanResult>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    w.postMessage({ id, graph, opts, maxNodes } satisfies PlanRequest);
    return done;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }

  private spawn(): Worker {
    // From the sources, the thread runs the TypeScript through tsx (as the provider's worker does).
    const w = import.meta.url.endsWith('.ts')
      ? new Worker(new URL('../provider/worker-boot.mjs', import.meta.url), { workerData: { entry: new URL('./plan-worker.ts', import.meta.url).href } })
      : new Worker(new URL('./plan-worker.js', import.meta.url));
    w.unref();
    const failAll = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('message', (m: PlanReply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (!this.pending.size) w.unref();
      if (!p) return;
      if (m.ok) p.resolve(m.result);
      else p.reject(new RavdlError(m.error.code as ErrorCode, m.error.message));
    });
    w.on('error', (err) => failAll(new Error(`the planning thread failed: ${err.message}`)));
    w.on('exit', () => {
      if (this.worker === w) this.worker = null;
      failAll(new Error('the planning thread stopped'));
    });
    return w;
  }
}

// The partitioner: every op node in exactly one subgraph, dependencies first, and running the
// subgraphs one by one (each as its own graph, inputs passed as content-addressed result blobs)
// gives the persisted values of the whole graph bit for bit.
import { afterAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, BatchNormalization1D, Dense, Dropout } from '../../lib/v2/layers/index.js';
import { Adam } from '../../lib/v2/optimizers/index.js';
import { executeGraph } from '../../lib/graph/execute.js';
import { decodeBlob, encodeBlob } from '../../lib/graph/format.js';
import type { ConstNode, GraphData } from '../../lib/graph/graph-data.js';
import type { Data } from '../../lib/tensor/dtype.js';
import { naivePartition, partition } from '../../lib/ravenverse/partition.js';
import { type Subgraph, refKey, subgraphGraph } from '../../lib/ravenverse/subgraph.js';

afterAll(() => R.flush());

function recorded(): GraphData {
  R.flush();
  new R.Graph({ name: 'p', algorithm: 'mlp', approach: 'distributed' });
  R.manual_seed(5);
  const m = new NeuralNetwork(new Adam({ lr: 0.01 }), 'CrossEntropy');
  m.add(new Dense(16, { input_shape: [6] }));
  m.add(new BatchNormalization1D());
  m.add(new Activation('relu'));
  m.add(new Dropout(0.3));
  m.add(new Dense(3));
  m.add(new Activation('softmax'));
  const X = R.t(Array.from({ length: 48 }, (_, i) => Array.from({ length: 6 }, (_, j) => Math.sin(i * 7 + j))));
  const y = R.t(Array.from({ length: 48 }, (_, i) => i % 3), { dtype: 'int32' });
  m.fit(X, y, { n_epochs: 3, batch_size: 16, verbose: false });
  m.predict(X).persist_op('prediction');
  R.activate();
  return R.Graph.current()!.data;
}

const constData = (n: ConstNode): Data => n.data!;

/** Runs the subgraphs in order as a coordinator and providers would; returns the persisted values' bits. */
async function runPartitioned(g: GraphData, subs: Subgraph[]): Promise<Map<string, number[]>> {
  const blobs = new Map<string, Data>(); // result SHA-256 -> data
  const resultHash = new Map<string, string>(); // "node:output" of the full graph -> SHA-256
  for (const s of subs) {
    const sg = subgraphGraph(g, s, (ref) => resultHash.get(refKey(ref))!);
    const run = await executeGraph(sg, { constData: (n) => n.data ?? blobs.get(n.blob!)! });
    for (const [name, t] of run.persisted) {
      const { bytes, sha256 } = encodeBlob(t.shape, t._data);
      blobs.set(sha256, decodeBlob(bytes, sha256, { kind: 'const', shape: [...t.shape], dtype: t.dtype, data: null, blob: sha256 }, 'test'));
      resultHash.set(name, sha256);
    }
  }
  const out = new Map<string, number[]>();
  for (const [name, ref] of g.persist) out.set(name, Array.from(new Uint32Array(new Float32Array(blobs.get(resultHash.get(refKey(ref))!)!).buffer)));
  return out;
}

describe('partition', () => {
  const g = recorded();
  let whole: Map<string, number[]>;

  it('covers every op node once, in dependency order, with consistent inputs and outputs', () => {
    for (const subs of [partition(g, { providers: 2, bytesPerSecond: 1e12 }), partition(g, { providers: 5, perProvider: 8, bytesPerSecond: 1e12 }), naivePartition(g, 'per-op'), naivePartition(g, 'single')]) {
      const seen = new Map<number, number>();
      for (const s of subs) for (const n of s.nodes) seen.set(n, (seen.get(n) ?? 0) + 1);
      const ops = g.nodes.flatMap((n, i) => (n.kind === 'op' ? [i] : []));
      expect([...seen.keys()].sort((a, b) => a - b)).toEqual(ops);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
      subs.forEach((s, i) => {
        expect(s.index).toBe(i);
        expect(s.deps.every((d) => d < i)).toBe(true);
        for (const r of s.inputs) expect(s.deps.some((d) => subs[d]!.outputs.some((o) => refKey(o) === refKey(r)))).toBe(true);
      });
      for (const [, r] of g.persist) expect(subs.some((s) => s.outputs.some((o) => refKey(o) === refKey(r)))).toBe(true);
    }
  });

  it('the cost model: a small graph on a slow network stays whole; on a fast one more providers get more, smaller subgraphs', () => {
    // This graph does little arithmetic per byte: moving its inputs at 100 MB/s costs more than computing.
    expect(partition(g, { providers: 4 }).length).toBe(1);
    const fast = { bytesPerSecond: 1e12 };
    const two = partition(g, { providers: 2, ...fast });
    const five = partition(g, { providers: 5, perProvider: 8, ...fast });
    const perOp = naivePartition(g, 'per-op');
    expect(two.length).toBeGreaterThan(1);
    expect(five.length).toBeGreaterThan(two.length);
    expect(five.length).toBeLessThan(perOp.length);
    // Every closed subgraph computes at least 4x as long as moving its inputs takes.
    for (const s of two.slice(0, -1)) expect(s.flops / 2e10).toBeGreaterThanOrEqual((4 * s.bytesIn) / 1e12);
  });

  it('running the subgraphs one by one gives the whole graph\'s persisted values bit for bit', async () => {
    const full = await executeGraph(g, { constData });
    whole = new Map([...full.persisted].map(([k, t]) => [k, Array.from(new Uint32Array(new Float32Array(t._data).buffer))]));
    for (const subs of [partition(g, { providers: 2, bytesPerSecond: 1e12 }), partition(g, { providers: 4, perProvider: 8, bytesPerSecond: 1e12 }), naivePartition(g, 'per-op')]) {
      const got = await runPartitioned(g, subs);
      expect(got).toEqual(whole);
    }
  });
});

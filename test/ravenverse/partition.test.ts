// The partitioner: every op node in exactly one subgraph, dependencies first, and running the
// subgraphs one by one (each as its own graph, inputs passed as content-addressed result blobs)
// gives the persisted values of the whole graph bit for bit.
import { afterAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, BatchNormalization1D, Dense, Dropout } from '../../lib/v2/layers/index.js';
import { Adam } from '../../lib/v2/optimizers/index.js';
import { executeGraph } from '../../lib/graph/execute.js';
import type { ConstNode, GraphData } from '../../lib/graph/graph-data.js';
import type { Data } from '../../lib/tensor/dtype.js';
import { naivePartition, partition, simulate } from '../../lib/ravenverse/partition.js';
import { type Subgraph, refKey } from '../../lib/ravenverse/subgraph.js';
import { runSubgraphs } from './helpers.js';

afterAll(() => R.flush());

/** A small training run: a chain of steps, each reading the last one's weights. */
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
  m.fit_sync(X, y, { n_epochs: 3, batch_size: 16, verbose: false });
  m.predict(X).persist_op('prediction');
  R.activate();
  return R.Graph.current()!.data;
}

/** Prediction over 16 batches: independent work. */
function independent(): GraphData {
  R.flush();
  new R.Graph({ name: 'q', algorithm: 'mlp', approach: 'distributed' });
  R.manual_seed(6);
  const m = new NeuralNetwork(new Adam(), 'SquareLoss');
  m.add(new Dense(256, { input_shape: [64] }));
  m.add(new Activation('relu'));
  m.add(new Dense(256));
  m.add(new Activation('tanh'));
  m.add(new Dense(4));
  m.predict(R.randn([16 * 32, 64]), { batch_size: 32 }).persist_op('prediction');
  R.activate();
  return R.Graph.current()!.data;
}

const constData = (n: ConstNode): Data => n.data!;
const fast = { bytesPerSecond: 1e12, overheadSeconds: 1e-6 };
/** Each value's float32 bits. */
const bits = (values: Map<string, Data>) => new Map([...values].map(([name, v]) => [name, Array.from(new Uint32Array(new Float32Array(v).buffer))]));


describe('partition', () => {
  const g = recorded();

  it('covers every op node once, in dependency order, with consistent inputs and outputs', () => {
    for (const graph of [g, independent()]) {
      for (const subs of [partition(graph, { providers: 2, ...fast }), partition(graph, { providers: 5, ...fast }), naivePartition(graph, 'per-op'), naivePartition(graph, 'per-step'), naivePartition(graph, 'single')]) {
        const seen = new Map<number, number>();
        for (const s of subs) for (const n of s.nodes) seen.set(n, (seen.get(n) ?? 0) + 1);
        const ops = graph.nodes.flatMap((n, i) => (n.kind === 'op' ? [i] : []));
        expect([...seen.keys()].sort((a, b) => a - b)).toEqual(ops);
        expect([...seen.values()].every((c) => c === 1)).toBe(true);
        subs.forEach((s, i) => {
          expect(s.index).toBe(i);
          expect(s.deps.every((d) => d < i)).toBe(true);
          for (const r of s.inputs) expect(s.deps.some((d) => subs[d]!.outputs.some((o) => refKey(o) === refKey(r)))).toBe(true);
        });
        for (const [, r] of graph.persist) expect(subs.some((s) => s.outputs.some((o) => refKey(o) === refKey(r)))).toBe(true);
      }
    }
  });

  it('the cost model decides: a small chain stays whole; independent work is spread when it pays', () => {
    // A training chain gains nothing from being split over providers (each step needs the last).
    expect(partition(g, { providers: 4 }).length).toBe(1);
    const q = independent();
    expect(partition(q, { providers: 4 }).length).toBe(1); // slow link: moving the data costs more
    const model = { providers: 4, flopsPerSecond: 2e10, ...fast };
    const spread = partition(q, { ...model });
    expect(spread.length).toBeGreaterThan(1);
    const t = (p: Subgraph[]) => simulate(p, model).seconds;
    for (const naive of ['per-op', 'per-step', 'single'] as const) expect(t(spread)).toBeLessThanOrEqual(t(naivePartition(q, naive)));
    expect(t(spread)).toBeLessThan(t(naivePartition(q, 'single')) / 2); // 16 batches on 4 providers
  });

  it('a subgraph never holds more than maxSeconds of work when it can be split', () => {
    const q = independent();
    const subs = partition(q, { providers: 1, flopsPerSecond: 2e10, maxSeconds: 1e-5 });
    expect(subs.length).toBeGreaterThan(4);
  });

  it("running the subgraphs one by one gives the whole graph's persisted values bit for bit", async () => {
    for (const graph of [g, independent()]) {
      const full = await executeGraph(graph, { constData });
      const whole = new Map([...full.persisted].map(([k, t]) => [k, Array.from(new Uint32Array(new Float32Array(t._data).buffer))]));
      for (const subs of [partition(graph, { providers: 4, ...fast }), naivePartition(graph, 'per-step'), naivePartition(graph, 'per-op')]) {
        const got = bits(await runSubgraphs(graph, subs));
        expect(got).toEqual(whole);
      }
    }
  });
});

// Data parallelism (lib/ravenverse/data-parallel.ts, planPartition): a training step split along
// the batch gives the unsplit step's losses and weights (within float rounding: the gradient sums
// run in another order) over several steps, for an MLP and a small CNN, with batches that do not
// divide evenly; steps whose examples are coupled (batch norm in training, a batch statistic fed
// back into the examples, a max over the batch, class-weighted or ignored targets) are refused
// with the reason; the cost model splits only when it pays.
import { afterAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { executeGraph } from '../../lib/graph/execute.js';
import type { ConstNode, GraphData, GraphNode, ValueRef } from '../../lib/graph/graph-data.js';
import { getOp, inferCall } from '../../lib/ops/define.js';
import { parseAttrs } from '../../lib/ops/attrs.js';
import { analyzeStep, findSteps, splitBatch } from '../../lib/ravenverse/data-parallel.js';
import { planPartition, simulate } from '../../lib/ravenverse/partition.js';
import type { Data } from '../../lib/tensor/dtype.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { type Coordinator, startCoordinator } from '../../lib/ravenverse/coordinator/server.js';
import { createToken } from '../../lib/ravenverse/db/tokens.js';
import { type Provider, startProvider } from '../../lib/ravenverse/provider/provider.js';
import { backends, runSubgraphs, waitFor } from './helpers.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, BatchNormalization1D, Conv2D, Dense, Dropout, Flatten, MaxPooling2D } from '../../lib/v2/layers/index.js';
import { Adam, RMSprop } from '../../lib/v2/optimizers/index.js';
import { benchMlp } from '../../benchmarks/models.js';

afterAll(() => R.flush());

const constData = (n: ConstNode): Data => n.data!;

interface Recorded {
  g: GraphData;
  /** The model's variables (weights, optimizer state) in g. */
  keep: ValueRef[];
}

function record(job: () => void): Recorded {
  R.flush();
  const graph = new R.Graph({ name: 'dp', algorithm: 'test', approach: 'distributed' });
  job();
  R.activate();
  return { g: graph.data, keep: [...graph.variableValues().values()] };
}

/** The seed's iris model without its batch norm (which couples the examples): 105 rows, batches of 25 (the last one 5). */
function irisStyle(loss: 'CrossEntropy' | 'SquareLoss'): Recorded {
  R.manual_seed(7);
  const X = R.t(Array.from({ length: 105 }, (_, i) => Array.from({ length: 4 }, (_, j) => Math.sin(i * 1.7 + j) + (i % 3) * 0.5)));
  const labels = Array.from({ length: 105 }, (_, i) => i % 3);
  const y = loss === 'CrossEntropy' ? R.t(labels, { dtype: 'int32' }) : R.t(labels.map((c) => [0, 1, 2].map((k) => (k === c ? 1 : 0))));
  return record(() => {
    const m = new NeuralNetwork(loss === 'CrossEntropy' ? new Adam({ lr: 0.01 }) : new RMSprop(), loss);
    m.add(new Dense(15, { input_shape: [4] }));
    m.add(new Activation('relu'));
    m.add(new Dense(7)); // 7 values per example: dropout's shards must start at multiples of 4 rows
    m.add(new Dropout(0.4));
    m.add(new Dense(3));
    m.add(new Activation('softmax'));
    m.fit_sync(X, y, { n_epochs: 3, batch_size: 25, verbose: false });
  });
}

/** A small CNN, shuffled batches of 10 from 26 images (the last batch 6). */
function smallCnn(): Recorded {
  R.manual_seed(8);
  const X = R.randn([26, 1, 8, 8]);
  const y = R.t(Array.from({ length: 26 }, (_, i) => i % 3), { dtype: 'int32' });
  return record(() => {
    const m = new NeuralNetwork(new Adam({ lr: 0.01 }), 'CrossEntropy');
    m.add(new Conv2D(1, 4, 3, { input_shape: [1, 8, 8] }));
    m.add(new Activation('relu'));
    m.add(new MaxPooling2D(2));
    m.add(new Flatten());
    m.add(new Dense(3));
    m.fit_sync(X, y, { n_epochs: 2, batch_size: 10, verbose: false });
  });
}

/** Persisted values and kept values of a run, as plain numbers. */
async function run(g: GraphData, keep: readonly ValueRef[]): Promise<{ persisted: Map<string, number[]>; kept: number[][] }> {
  const r = await executeGraph(g, { constData, keep });
  return { persisted: new Map([...r.persisted].map(([k, t]) => [k, Array.from(t._data)])), kept: r.kept.map((t) => Array.from(t._data)) };
}

function expectClose(got: number[], want: number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  const worst = got.reduce((w, v, i) => Math.max(w, Math.abs(v - want[i]!) / (1 + Math.abs(want[i]!))), 0);
  expect(worst, `${what}: largest relative difference`).toBeLessThan(2e-5);
}

async function expectSameTraining({ g, keep }: Recorded, shards: number): Promise<void> {
  const sp = splitBatch(g, shards, { keep });
  const steps = findSteps(g);
  expect(sp.steps.length).toBe(steps.length);
  for (const s of sp.steps) {
    if (s.refused) {
      // Only a batch with fewer possible shard starts than shards (the last, short one).
      expect(s.refused).toMatch(/^a batch of \d+ examples is too small/);
      continue;
    }
    expect(s.shards.length).toBe(shards);
    expect(s.shards.reduce((a, b) => a + b, 0)).toBe(s.batch);
  }
  expect(sp.steps.filter((s) => !s.refused).length).toBeGreaterThanOrEqual(sp.steps.length - 3);
  const full = await run(g, keep);
  const split = await run(sp.graph, keep.map((r) => sp.map(r)));
  expect([...split.persisted.keys()]).toEqual([...full.persisted.keys()]);
  for (const [k, v] of full.persisted) expectClose(split.persisted.get(k)!, v, k);
  full.kept.forEach((v, i) => expectClose(split.kept[i]!, v, `variable ${i}`));
  // The losses move: a split that ignored the updates would still match the first one only.
  const losses = [...full.persisted.values()].map((v) => v[0]!);
  expect(new Set(losses).size).toBeGreaterThan(losses.length / 2);
}

describe('splitBatch', () => {
  it('an iris-style MLP (cross-entropy, Adam, dropout): the same losses and weights as unsplit over 15 steps, 2 to 4 shards', async () => {
    const rec = irisStyle('CrossEntropy');
    for (const k of [2, 3, 4]) await expectSameTraining(rec, k);
    // 25 rows of 7 dropout values: shards start at multiples of 4 rows (Philox words); 5 rows: 4 and 1.
    expect(splitBatch(rec.g, 2, { keep: rec.keep }).steps.map((s) => s.shards.join('+'))).toEqual(Array.from({ length: 3 }, () => ['12+13', '12+13', '12+13', '12+13', '4+1']).flat());
  });

  it('an iris-style MLP with a mean squared error and RMSprop: the same losses and weights', async () => {
    await expectSameTraining(irisStyle('SquareLoss'), 3);
  });

  it('a small CNN with shuffled batches (rows gathered by a slice of the order): the same losses and weights', async () => {
    const rec = smallCnn();
    for (const k of [2, 3]) await expectSameTraining(rec, k);
    expect(splitBatch(rec.g, 3).steps.map((s) => s.shards.join('+'))).toEqual(['3+3+4', '3+3+4', '2+2+2', '3+3+4', '3+3+4', '2+2+2']);
  });

  it('each shard is independent work: no node of a shard reads another shard', () => {
    const { g, keep } = smallCnn();
    const sp = splitBatch(g, 3, { keep });
    sp.graph.nodes.forEach((n, i) => {
      if (n.kind !== 'op' || sp.shard[i]! < 0) return;
      for (const r of n.inputs) if (r) expect([-1, sp.shard[i]]).toContain(sp.shard[r[0]]);
    });
    expect(new Set(sp.shard).size).toBe(4);
  });

  it('refuses batch norm in training mode, and leaves the graph as it was', () => {
    const { g } = record(() => {
      R.manual_seed(9);
      const m = new NeuralNetwork(new Adam(), 'CrossEntropy');
      m.add(new Dense(6, { input_shape: [4] }));
      m.add(new BatchNormalization1D());
      m.add(new Dense(3));
      m.fit_sync(R.randn([20, 4]), R.t(Array.from({ length: 20 }, (_, i) => i % 3), { dtype: 'int32' }), { n_epochs: 1, batch_size: 10, verbose: false });
    });
    const sp = splitBatch(g, 2);
    expect(sp.steps.length).toBe(2);
    for (const s of sp.steps) expect(s.refused).toMatch(/batch_norm in training mode normalizes over the batch/);
    expect(sp.graph.nodes.length).toBe(g.nodes.length);
    const plan = planPartition(g, { providers: 4, flopsPerSecond: 1e3, bytesPerSecond: 1e15, overheadSeconds: 0 });
    expect(plan.graph).toBe(g);
    expect(plan.dataParallel.shards).toBe(1);
    expect(plan.dataParallel.reason).toMatch(/^not split: no training step can be split exactly \(node \d+ \('batch_norm'\): batch_norm in training mode/);
  });

  it('refuses what couples the examples or cannot be proven per example (hand-made steps)', () => {
    // A batch statistic fed back into the examples (batch norm written out).
    expect(analyze((b, x, w) => b.op('sub', {}, [x, b.op('mean', { axis: 0, keepdims: true }, [x])]))).toMatch(/combines per-example values with node \d+'s reduction over the batch/);
    // A maximum over the batch.
    expect(analyze((b, x) => b.op('add', {}, [x, b.op('max', { axis: 0, keepdims: true }, [x])]))).toMatch(/'max'\): max over the batch axis couples the examples/);
    // Softmax over the batch axis.
    expect(analyze((b, x) => b.op('softmax', { axis: 0 }, [x]))).toMatch(/softmax normalizes over the batch axis/);
    // A variance over the batch.
    expect(analyze((b, x) => b.op('mul', {}, [x, b.op('variance', { axis: 0, keepdims: true }, [x])]))).toMatch(/'variance'\): variance over the batch axis couples the examples/);
    // The per-example path alone is fine.
    expect(analyze((b, x) => b.op('tanh', {}, [x]))).toBeNull();
    // A mean cross-entropy whose denominator is not the batch size: class weights, an ignored target.
    expect(analyzeCe([0, 1, 2, 1], true)).toMatch(/class weights/);
    expect(analyzeCe([0, 1, -100, 1], false)).toMatch(/a target equals ignore_index -100/);
    expect(analyzeCe([0, 1, 2, 1], false)).toBeNull();
  });

  it('a hand-made step: per-example values read after it are joined, replicated values with a row per example are sliced', async () => {
    const b = new Builder();
    const X = b.const([9, 3], Float32Array.from({ length: 27 }, (_, i) => Math.sin(i)));
    const shift = b.const([9, 3], Float32Array.from({ length: 27 }, (_, i) => Math.cos(i * 0.3))); // one row per example, replicated
    const W = b.const([2, 3], Float32Array.from({ length: 6 }, (_, i) => Math.cos(i)));
    const Y = b.const([9, 2], Float32Array.from({ length: 18 }, (_, i) => i % 3));
    const x = b.op('add', {}, [rows(b, X, 9, [3]), shift]);
    const y = rows(b, Y, 9, [2]);
    const pred = b.op('matmul', { trans_b: true }, [x, W]);
    const loss = b.op('mse_loss', { reduction: 'sum' }, [pred, y]);
    const gpred = b.op('mse_loss_backward', { reduction: 'sum' }, [pred, y, b.op('full', { shape: [], value: 1 }, [])]);
    const w2 = b.op('sgd_update', { lr: 0.01 }, [W, b.op('matmul', { trans_a: true }, [gpred, x]), null]);
    const g: GraphData = { info: { name: 'h', algorithm: '', approach: 'distributed' }, nodes: b.nodes, persist: new Map([['loss', loss], ['pred', pred]]) };
    const sp = splitBatch(g, 2, { keep: [w2] });
    expect(sp.steps.map((s) => [s.refused, s.shards])).toEqual([[null, [4, 5]]]);
    const ops = sp.graph.nodes.flatMap((n) => (n.kind === 'op' ? [n.op] : []));
    expect(ops.filter((o) => o === 'concat').length).toBe(1); // pred, persisted
    expect(ops.filter((o) => o === 'slice').length).toBe(6); // X, Y and shift, per shard
    const full = await run(g, [w2]);
    const split = await run(sp.graph, [sp.map(w2)]);
    for (const k of ['loss', 'pred']) expectClose(split.persisted.get(k)!, full.persisted.get(k)!, k);
    expectClose(split.kept[0]!, full.kept[0]!, 'W');
  });

  it('refuses a batch too small for the shards; rejects a bad shard count', () => {
    const { g } = irisStyle('CrossEntropy');
    const sp = splitBatch(g, 3);
    expect(sp.steps.filter((s) => s.refused).map((s) => s.refused)).toEqual(Array.from({ length: 3 }, () => 'a batch of 5 examples is too small for 3 shards starting at multiples of 4 rows (dropout)'));
    expect(sp.steps.filter((s) => !s.refused).length).toBe(12);
    expect(() => splitBatch(g, 0)).toThrow(/shards must be a positive integer, got 0/);
  });
});

describe('planPartition: the cost model decides', () => {
  it('no split for a tiny model, nor unless told of 2 or more providers', () => {
    const { g, keep } = irisStyle('CrossEntropy');
    const plan = planPartition(g, { providers: 4, keep });
    expect(plan.graph).toBe(g);
    expect(plan.dataParallel.shards).toBe(1);
    expect(plan.dataParallel.splittable).toBe(15);
    expect(plan.dataParallel.estimates.map((e) => e.shards)).toEqual([1, 2, 3, 4]);
    for (const e of plan.dataParallel.estimates.slice(1)) expect(e.seconds).toBeGreaterThan(plan.seconds);
    expect(plan.dataParallel.reason).toMatch(/^not split: unsplit [\d.]+ ms beats [\d.]+ ms with \d shards/);
    expect(planPartition(g).dataParallel.reason).toBe('not split: told of no providers (splitting a step needs 2 or more)');
    expect(planPartition(g, { providers: 1 }).dataParallel.reason).toBe('not split: told of 1 provider (splitting a step needs 2 or more)');
    expect(planPartition(g, { providers: 4, dataParallel: false }).dataParallel.reason).toBe('not split: data parallelism is off');
  });

  it('a split for a large-batch, compute-heavy step (an MLP 784-512-512-10, batches of 512) on a fast link', () => {
    R.manual_seed(10);
    const X = R.randn([1024, 784]);
    const y = R.t(Int32Array.from({ length: 1024 }, (_, i) => i % 10));
    const { g, keep } = record(() => benchMlp().fit_sync(X, y, { n_epochs: 1, batch_size: 512, verbose: false }));
    const model = { flopsPerSecond: 2e10, bytesPerSecond: 1e9, overheadSeconds: 1e-3, nodeSeconds: 1e-4 };
    const plan = planPartition(g, { providers: 4, keep, ...model });
    expect(plan.dataParallel.shards).toBeGreaterThan(1);
    expect(plan.graph).not.toBe(g);
    expect(plan.dataParallel.reason).toMatch(/^split 2 of 2 training steps into \d shards: [\d.]+ ms simulated against [\d.]+ ms unsplit$/);
    const unsplit = plan.dataParallel.estimates[0]!.seconds;
    expect(plan.seconds).toBeLessThan(unsplit);
    expect(simulate(plan.subgraphs, { providers: 4, ...model }).seconds).toBeCloseTo(plan.seconds, 9);
    // Shards on different providers: more subgraphs than steps, several of them at once.
    expect(plan.subgraphs.length).toBeGreaterThan(2);
    // The same step on a slow link: moving weights and gradients costs more than the shards save.
    expect(planPartition(g, { providers: 4, keep, ...model, bytesPerSecond: 1e7 }).dataParallel.shards).toBe(1);
  });

  it("the split plan's subgraphs, run one by one as providers would, give the unsplit graph's losses", async () => {
    const { g, keep } = smallCnn();
    // A slow provider makes compute dominate: the cost model splits.
    const plan = planPartition(g, { providers: 2, keep, flopsPerSecond: 1e6, bytesPerSecond: 1e12, overheadSeconds: 1e-6 });
    expect(plan.dataParallel.shards).toBe(2);
    const full = await run(g, keep);
    const got = new Map([...(await runSubgraphs(plan.graph, plan.subgraphs))].map(([k, v]) => [k, Array.from(v)]));
    for (const [k, v] of full.persisted) expectClose(got.get(k)!, v, k);
  });
});


// ---------------------------------------------------------------- hand-made steps

class Builder {
  nodes: GraphNode[] = [];
  const(shape: number[], data: Data): ValueRef {
    this.nodes.push({ kind: 'const', shape, dtype: data instanceof Int32Array ? 'int32' : 'float32', data, blob: null });
    return [this.nodes.length - 1, 0];
  }
  /** An op node with its outputs inferred by the catalog. */
  op(name: string, attrs: Record<string, unknown>, inputs: (ValueRef | null)[], output = 0): ValueRef {
    const def = getOp(name);
    const parsed = parseAttrs(name, def.attrs, attrs) as Record<string, unknown>;
    const sym = inputs.map((r) => {
      if (!r) return null;
      const n = this.nodes[r[0]]!;
      const m = n.kind === 'const' ? n : n.outputs[r[1]]!;
      return Tensor._symbolic(m.shape, m.dtype);
    });
    const outputs = inferCall(def, sym, parsed).map((m) => ({ shape: [...m.shape], dtype: m.dtype }));
    this.nodes.push({ kind: 'op', op: name, attrs: parsed, inputs, outputs });
    return [this.nodes.length - 1, output];
  }
}

const rows = (b: Builder, data: ValueRef, n: number, width: number[]) => b.op('slice', { starts: [0, ...width.map(() => 0)], ends: [n, ...width], steps: [1, ...width.map(() => 1)] }, [data]);

/** One linear-regression step whose features go through `mid(x)`: the analysis's refusal (null: splittable). */
function analyze(mid: (b: Builder, x: ValueRef, w: ValueRef) => ValueRef): string | null {
  const b = new Builder();
  const X = b.const([8, 3], Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)));
  const W = b.const([2, 3], Float32Array.from({ length: 6 }, (_, i) => Math.cos(i)));
  const Y = b.const([8, 2], Float32Array.from({ length: 16 }, (_, i) => i % 2));
  const start = b.nodes.length;
  const x = mid(b, rows(b, X, 8, [3]), W);
  const pred = b.op('matmul', { trans_b: true }, [x, W]);
  const loss = b.op('mse_loss', {}, [pred, rows(b, Y, 8, [2])]);
  const gw = b.op('matmul', { trans_a: true }, [b.op('mse_loss_backward', {}, [pred, rows(b, Y, 8, [2]), b.op('full', { shape: [], value: 1 }, [])]), x]);
  b.op('sgd_update', { lr: 0.1 }, [W, gw, null]);
  return analyzeStep({ info: { name: 'h', algorithm: '', approach: 'distributed' }, nodes: b.nodes, persist: new Map([['loss', loss]]) }, start, b.nodes.length).refused;
}

/** One softmax-regression step with a mean cross-entropy over these labels (and class weights): the refusal. */
function analyzeCe(labels: number[], weighted: boolean): string | null {
  const b = new Builder();
  const X = b.const([4, 3], Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)));
  const W = b.const([3, 3], Float32Array.from({ length: 9 }, (_, i) => Math.cos(i)));
  const T = b.const([4], Int32Array.from(labels));
  const cw = weighted ? b.const([3], Float32Array.of(1, 2, 3)) : null;
  const start = b.nodes.length;
  const logits = b.op('matmul', {}, [rows(b, X, 4, [3]), W]);
  const t = b.op('slice', { starts: [0], ends: [4], steps: [1] }, [T]);
  b.op('cross_entropy', {}, [logits, t, cw]);
  const gl = b.op('cross_entropy_backward', {}, [logits, t, cw, b.op('full', { shape: [], value: 1 }, [])]);
  b.op('sgd_update', { lr: 0.1 }, [W, b.op('matmul', { trans_a: true }, [rows(b, X, 4, [3]), gl]), null]);
  return analyzeStep({ info: { name: 'h', algorithm: '', approach: 'distributed' }, nodes: b.nodes, persist: new Map() }, start, b.nodes.length).refused;
}

// ---------------------------------------------------------------- through a coordinator

describe('a split training run through a coordinator and two providers', () => {
  afterAll(() => {
    R.initialize(null);
    R.flush();
  });

  // Planned on the event loop (a small graph), and in the planning thread (any graph, with planInWorkerNodes 0).
  it.each([
    ['on the event loop', undefined],
    ['in the planning thread', 0],
  ])("the coordinator splits the uploaded graph's training steps itself when its cost model says it pays (planned %s): the unsplit run's losses, the shards of each step on both providers", async (_where, planInWorkerNodes) => {
    const { g, keep } = smallCnn();
    const sp = splitBatch(g, 2, { keep });
    const unsplit = await run(g, keep);
    const local = await run(sp.graph, []);
    const db = await backends()[0]!.create();
    const providers: Provider[] = [];
    let c: Coordinator | undefined;
    try {
      // Slow providers assumed (1 MFLOP/s) on a fast link: compute dominates, so two shards per step pay.
      const lines: string[] = [];
      c = await startCoordinator({ db: db.spec, port: 0, log: (l) => lines.push(l), flopsPerSecond: 1e6, bytesPerSecond: 1e12, planInWorkerNodes });
      const token = await createToken(c.db.db, 'requester');
      for (let i = 0; i < 2; i++) providers.push(await startProvider({ server: c.url, token: await createToken(c.db.db, 'provider'), threads: 1, log: null, name: `p${i}` }));
      await waitFor('two providers connected', async () => ((await c!.state.dashboard(null)).providers as { connected: boolean }[]).filter((p) => p.connected).length === 2);
      R.initialize(token, { server: c.url });
      R.flush();
      new R.Graph(g.info, g); // the graph as recorded, activated: the coordinator decides
      await R.execute();
      expect(lines.join('\n')).toMatch(/data parallel: split \d+ of \d+ training steps into 2 shards/);
      expect(lines.some((l) => l.includes('planned in the planning thread'))).toBe(planInWorkerNodes === 0);
      const graphs = (await c.state.dashboard(null)).graphs as { nodes_total: number }[];
      expect(graphs[0]!.nodes_total).toBe(sp.graph.nodes.length);
      for (const [name, v] of local.persisted) {
        const got = Array.from(R.fetch_persisting_op(name).data() as Float32Array);
        expect(got, name).toEqual(v); // the coordinator's split is splitBatch's: the same bits
        expectClose(got, unsplit.persisted.get(name)!, name);
      }
      // Protocol 3: the last answers reach the providers up to 20 ms after the run ends.
    await waitFor('both providers counted accepted results', () => providers.every((p) => p.completed > 0), 10_000);
    } finally {
      R.initialize(null);
      R.flush();
      await Promise.all(providers.map((p) => p.stop()));
      await c?.close();
      await db.drop();
    }
  }, 120_000);
});

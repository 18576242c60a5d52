// The partitioner's plans against the naive ones (one subgraph per op, one per training step, one
// for everything) on recorded graphs: the seed's iris fit, a CNN training run, and a batched
// prediction (independent work). Each plan's run time on 2 providers is simulated with the cost
// model (lib/ravenverse/partition.ts simulate: per-subgraph overhead, bytes over the link, FLOPs at
// the provider's measured speed): it compares plans, it is not a measurement of the network.
// The data-parallel rows: planPartition (training steps split along the batch when the cost model
// says it pays) on 2 and 4 providers, against the unsplit plan and the naive ones, on the training
// graphs and a compute-heavy one (an MLP 784-512-512-10 with batches of 512).
import * as R from '../lib/index.js';
import type { GraphData } from '../lib/graph/graph-data.js';
import { NeuralNetwork } from '../lib/v2/index.js';
import { Activation, BatchNormalization1D, Dense, Dropout } from '../lib/v2/layers/index.js';
import { RMSprop } from '../lib/v2/optimizers/index.js';
import { DatasetNotFoundError, load_iris_sync, standardize, to_categorical, train_test_split } from '../lib/v2/utils/index.js';
import { type ScheduleModel, naivePartition, partition, planPartition, simulate } from '../lib/ravenverse/partition.js';
import type { Subgraph } from '../lib/ravenverse/subgraph.js';
import type { BenchRow, BenchSuite } from './harness.js';
import { benchCnn, benchMlp } from './models.js';

/** The recorded graph and its variables (what must survive a split). */
const keeps = new WeakMap<GraphData, readonly (readonly [number, number])[]>();

function record(job: () => void): GraphData {
  R.flush();
  new R.Graph({ name: 'plan', algorithm: 'bench', approach: 'distributed' });
  job();
  R.activate();
  const graph = R.Graph.current()!;
  const g = graph.data;
  keeps.set(g, [...graph.variableValues().values()]);
  R.flush();
  return g;
}

const mbMoved = (plan: Subgraph[]) => plan.reduce((b, s) => b + s.bytesIn + s.bytesOut, 0) / 2 ** 20;


export const suite: BenchSuite = {
  name: 'partition',
  async run({ quick }) {
    // A provider's speed: the FP32 peak of this machine's FMA probe at 1 thread, as one core would run kernels.
    const flopsPerSecond = R.native().probe_fma_gflops(quick ? 20 : 200, 1) * 1e9 * 0.5;
    const model: Required<ScheduleModel> = { providers: 2, flopsPerSecond, bytesPerSecond: 1e9, overheadSeconds: 1e-3, nodeSeconds: 1e-4 };
    const graphs: [string, GraphData][] = [];
    try {
      load_iris_sync();
      graphs.push([
        "seed's iris fit 100 epochs",
        record(() => {
          R.manual_seed(42);
          const { X, y } = load_iris_sync();
          const [Xtr, , ytr] = train_test_split(standardize(X), to_categorical(y), { test_size: 0.3, seed: 42 });
          const m = new NeuralNetwork(new RMSprop(), 'SquareLoss');
          m.add(new Dense(15, { input_shape: [4] }));
          m.add(new BatchNormalization1D());
          m.add(new Dense(30));
          m.add(new Dropout(0.9));
          m.add(new Dense(3));
          m.add(new Activation('softmax'));
          m.fit_sync(Xtr, ytr, { n_epochs: 100, batch_size: 25, verbose: false });
        }),
      ]);
    } catch (e) {
      if (!(e instanceof DatasetNotFoundError)) throw e;
    }
    const steps = quick ? 10 : 40;
    R.manual_seed(1);
    const X = R.randn([steps * 64, 1, 28, 28]);
    const y = R.t(Int32Array.from({ length: steps * 64 }, (_, i) => i % 10));
    graphs.push([`CNN training ${steps} steps b64`, record(() => benchCnn().fit_sync(X, y, { n_epochs: 1, batch_size: 64, shuffle: false, verbose: false }))]);
    graphs.push([`CNN predict ${steps * 64} images b64`, record(() => benchCnn().predict(X, { batch_size: 64 }).persist_op('prediction'))]);
    const mlpSteps = quick ? 2 : 8;
    const Xm = R.randn([mlpSteps * 512, 784]);
    const ym = R.t(Int32Array.from({ length: mlpSteps * 512 }, (_, i) => i % 10));
    const heavy: [string, GraphData] = [`MLP 784-512-512-10 training ${mlpSteps} steps b512`, record(() => benchMlp().fit_sync(Xm, ym, { n_epochs: 1, batch_size: 512, shuffle: false, verbose: false }))];

    const rows: BenchRow[] = [];
    for (const [label, g] of graphs) {
      const plans = {
        ravdl: partition(g, model),
        'per-op': naivePartition(g, 'per-op'),
        'per-step': naivePartition(g, 'per-step'),
        single: naivePartition(g, 'single'),
      };
      const time = Object.fromEntries(Object.entries(plans).map(([k, p]) => [k, simulate(p, model).seconds * 1000]));
      const moved = (k: keyof typeof plans) => plans[k].reduce((b, s) => b + s.bytesIn + s.bytesOut, 0) / 2 ** 20;
      rows.push({
        suite: 'partition',
        workload: `${label}: simulated time on 2 providers`,
        unit: 'ms',
        higherIsBetter: false,
        ravdl: time.ravdl!,
        peers: { 'per-op': time['per-op']!, 'per-step': time['per-step']!, single: time.single! },
        target: { peer: 'per-step', min: 1 },
        notes: [
          `${label}: ${g.nodes.length} nodes; subgraphs ravdl ${plans.ravdl.length}, per-op ${plans['per-op'].length}, per-step ${plans['per-step'].length}; MB moved ravdl ${moved('ravdl').toFixed(1)}, per-op ${moved('per-op').toFixed(1)}, per-step ${moved('per-step').toFixed(1)}`,
          `model: ${model.providers} providers at ${(flopsPerSecond / 1e9).toFixed(0)} GFLOP/s (half this machine's 1-thread FMA peak), 1 GB/s link, 1 ms per subgraph, 0.1 ms per op`,
        ],
      });
    }
    // Data parallelism: the plan with training steps split along the batch where it pays.
    for (const [label, g] of [...graphs.filter(([l]) => !l.includes('predict')), heavy]) {
      for (const providers of [2, 4]) {
        const m = { ...model, providers };
        const t0 = performance.now();
        const dp = planPartition(g, { ...m, keep: keeps.get(g) });
        const planMs = performance.now() - t0;
        const unsplit = partition(g, m);
        const naive = { 'per-op': naivePartition(g, 'per-op'), 'per-step': naivePartition(g, 'per-step') };
        const time = (p: Subgraph[]) => simulate(p, m).seconds * 1000;
        const d = dp.dataParallel;
        rows.push({
          suite: 'partition',
          workload: `${label}: data-parallel plan, simulated time on ${providers} providers`,
          unit: 'ms',
          higherIsBetter: false,
          ravdl: dp.seconds * 1000,
          peers: { unsplit: time(unsplit), 'per-op': time(naive['per-op']), 'per-step': time(naive['per-step']) },
          target: { peer: 'unsplit', min: 1 },
          notes: [
            `${label} on ${providers} providers: ${d.reason}; estimates by shards ${d.estimates.map((e) => `${e.shards}: ${(e.seconds * 1000).toFixed(1)} ms`).join(', ')}`,
            `${label} on ${providers} providers: subgraphs ${dp.subgraphs.length} (unsplit ${unsplit.length}), MB moved ${mbMoved(dp.subgraphs).toFixed(1)} (unsplit ${mbMoved(unsplit).toFixed(1)}, per-step ${mbMoved(naive['per-step']).toFixed(1)}); planning took ${planMs.toFixed(0)} ms`,
          ],
        });
      }
    }
    return rows;
  },
};

// The partitioner's plans against the naive ones (one subgraph per op, one per training step, one
// for everything) on recorded graphs: the seed's iris fit, a CNN training run, and a batched
// prediction (independent work). Each plan's run time on 2 providers is simulated with the cost
// model (lib/ravenverse/partition.ts simulate: per-subgraph overhead, bytes over the link, FLOPs at
// the provider's measured speed): it compares plans, it is not a measurement of the network.
import * as R from '../lib/index.js';
import type { GraphData } from '../lib/graph/graph-data.js';
import { NeuralNetwork } from '../lib/v2/index.js';
import { Activation, BatchNormalization1D, Dense, Dropout } from '../lib/v2/layers/index.js';
import { RMSprop } from '../lib/v2/optimizers/index.js';
import { DatasetNotFoundError, load_iris_sync, standardize, to_categorical, train_test_split } from '../lib/v2/utils/index.js';
import { type ScheduleModel, naivePartition, partition, simulate } from '../lib/ravenverse/partition.js';
import type { BenchRow, BenchSuite } from './harness.js';
import { benchCnn } from './models.js';

function record(job: () => void): GraphData {
  R.flush();
  new R.Graph({ name: 'plan', algorithm: 'bench', approach: 'distributed' });
  job();
  R.activate();
  const g = R.Graph.current()!.data;
  R.flush();
  return g;
}


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
    return rows;
  },
};

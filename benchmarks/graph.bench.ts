// Graph mode against eager mode, measured side by side in this run: the same training steps
// (MLP 784-512-512-10 at batch 128, the CNN of training.bench.ts at batch 64, Adam,
// cross-entropy, through NeuralNetwork.fit) executed eagerly and recorded then executed as a
// graph in this process. Rows: execution speed (steps/s, the eager run as the peer), the cost
// of recording a step (% of executing it), peak tensor memory during the steps, and the size of
// the seed's iris fit and of one Fashion-MNIST epoch as graphs (nodes, JSON and blob bytes).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as R from '../lib/index.js';
import { NeuralNetwork } from '../lib/v2/index.js';
import { Activation, BatchNormalization1D, Dense, Dropout } from '../lib/v2/layers/index.js';
import { RMSprop } from '../lib/v2/optimizers/index.js';
import { DatasetNotFoundError, load_fashion_mnist_sync, load_iris_sync, standardize, to_categorical, train_test_split } from '../lib/v2/utils/index.js';
import type { BenchRow, BenchSuite } from './harness.js';
import { benchCnn, benchMlp } from './models.js';



interface Job {
  label: string;
  build: () => NeuralNetwork;
  sample: number[];
  batch: number;
}

/**
 * The most live tensor memory fn needs on top of what existed before it (R.memory().bytes after
 * each op): activations, gradients, and in graph mode the parameter and optimizer-state values
 * its first step writes beside the recorded constants.
 */
async function peakBytes<T>(fn: () => Promise<T> | T): Promise<{ value: T; peak: number }> {
  const base = R.memory().bytes;
  let peak = 0;
  const stop = R.onDispatch(() => void (peak = Math.max(peak, R.memory().bytes - base)));
  try {
    return { value: await fn(), peak };
  } finally {
    stop();
  }
}

/** Steps/s eager and in graph mode (record, then execute), recording cost, peak memory; best of `reps`. */
async function compare(job: Job, steps: number, reps: number) {
  R.manual_seed(1);
  const X = R.keep(R.randn([steps * job.batch, ...job.sample]));
  const y = R.keep(R.t(Int32Array.from({ length: steps * job.batch }, (_, i) => (i * 7) % 10)));
  const fitOnce = (m: NeuralNetwork) => m.fit_sync(X, y, { n_epochs: 1, batch_size: job.batch, shuffle: false, verbose: false });
  let eagerMs = Infinity;
  let graphMs = Infinity;
  let recordMs = Infinity;
  let eagerPeak = 0;
  let graphPeak = 0;
  let nodes = 0;
  for (let r = 0; r < reps; r++) {
    const m1 = job.build();
    fitOnce(m1); // warm-up: builds the optimizer state, JIT, buffer pool
    const t0 = performance.now();
    const e = await peakBytes(() => fitOnce(m1));
    eagerMs = Math.min(eagerMs, performance.now() - t0);
    eagerPeak = Math.max(eagerPeak, e.peak);

    const m2 = job.build();
    fitOnce(m2);
    R.flush();
    new R.Graph({ name: job.label, algorithm: 'bench', approach: 'distributed' });
    // Recording the steps: a graph-mode fit less fit's own checks of the data (a 0-epoch fit).
    const t1 = performance.now();
    m2.fit_sync(X, y, { n_epochs: 0, batch_size: job.batch, verbose: false });
    const t2 = performance.now();
    fitOnce(m2);
    recordMs = Math.min(recordMs, performance.now() - t2 - (t2 - t1));
    R.activate(); // once per graph, not per step
    nodes = R.Graph.current()!.nodeCount;
    const t3 = performance.now();
    const g = await peakBytes(() => R.execute());
    graphMs = Math.min(graphMs, performance.now() - t3);
    graphPeak = Math.max(graphPeak, g.peak);
    R.flush();
  }
  X.dispose();
  y.dispose();
  return { eagerSps: (1000 * steps) / eagerMs, graphSps: (1000 * steps) / graphMs, recordPct: (100 * recordMs) / graphMs, recordNodesPerSec: (1000 * nodes) / recordMs, eagerPeak, graphPeak, nodesPerStep: nodes / steps };
}

/** Nodes, graph.json bytes and blob bytes of a graph saved by job(). */
function graphSize(job: () => void): { nodes: number; json: number; blobs: number; files: number } {
  const dir = mkdtempSync(join(tmpdir(), 'ravdl-bench-graph-'));
  try {
    R.flush();
    new R.Graph({ name: 'size', algorithm: 'bench', approach: 'distributed' });
    job();
    R.activate();
    const g = R.Graph.current()!;
    g.save(dir);
    const blobFiles = readdirSync(join(dir, 'blobs'));
    return { nodes: g.nodeCount, json: statSync(join(dir, 'graph.json')).size, blobs: blobFiles.reduce((s, f) => s + statSync(join(dir, 'blobs', f)).size, 0), files: blobFiles.length };
  } finally {
    R.flush();
    rmSync(dir, { recursive: true, force: true });
  }
}

const mb = (b: number) => b / 2 ** 20;

export const suite: BenchSuite = {
  name: 'graph',
  async run({ threads, quick }) {
    const rows: BenchRow[] = [];
    const t = Math.max(...threads);
    R.setNumThreads(t);
    const jobs: Job[] = [
      { label: 'MLP 784-512-512-10 Adam b128', build: benchMlp, sample: [784], batch: 128 },
      { label: 'CNN conv32-conv64-fc128 1x28x28 Adam b64', build: benchCnn, sample: [1, 28, 28], batch: 64 },
    ];
    for (const job of jobs) {
      const c = await compare(job, quick ? 5 : 50, quick ? 1 : 3);
      const note = `graph: ${c.nodesPerStep.toFixed(0)} nodes per step, recorded at ${(c.recordNodesPerSec / 1000).toFixed(0)}k nodes/s, then executed in this process; eager: the same fit() run eagerly`;
      rows.push(
        { suite: 'graph', workload: `${job.label} graph-mode steps/s ${t}T`, unit: 'steps/s', higherIsBetter: true, threads: t, ravdl: c.graphSps, peers: { eager: c.eagerSps }, target: { peer: 'eager', min: 0.95 }, notes: [note] },
        { suite: 'graph', workload: `${job.label} recording cost, % of executing`, unit: '%', higherIsBetter: false, ravdl: c.recordPct, peers: {}, target: { max: 5 } },
        { suite: 'graph', workload: `${job.label} working tensor MB of the steps, graph vs eager`, unit: 'MB', higherIsBetter: false, ravdl: mb(c.graphPeak), peers: { eager: mb(c.eagerPeak) }, target: { peer: 'eager', min: 1 } },
      );
    }

    // Graph sizes of the seed's iris fit (100 epochs) and of one Fashion-MNIST epoch.
    const sizes: [string, () => void][] = [];
    try {
      load_iris_sync();
      sizes.push([
        "seed's iris fit, 100 epochs",
        () => {
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
        },
      ]);
    } catch (e) {
      if (!(e instanceof DatasetNotFoundError)) throw e;
    }
    try {
      const limit = quick ? 6000 : undefined;
      const fm = load_fashion_mnist_sync({ split: 'train', limit });
      sizes.push([
        `Fashion-MNIST CNN, 1 epoch of ${fm.X.shape[0]} images b64`,
        () => {
          R.manual_seed(42);
          const m = benchCnn();
          m.fit_sync(fm.X, fm.y, { n_epochs: 1, batch_size: 64, verbose: false });
        },
      ]);
    } catch (e) {
      if (!(e instanceof DatasetNotFoundError)) throw e;
    }
    for (const [label, job] of sizes) {
      const s = graphSize(job);
      const notes = [`${s.files} blob files; graph.json ${(s.json / s.nodes).toFixed(0)} bytes per node`];
      rows.push(
        { suite: 'graph', workload: `${label}: graph nodes`, unit: 'nodes', higherIsBetter: false, ravdl: s.nodes, peers: {}, notes },
        { suite: 'graph', workload: `${label}: graph.json MB`, unit: 'MB', higherIsBetter: false, ravdl: mb(s.json), peers: {} },
        { suite: 'graph', workload: `${label}: blob MB`, unit: 'MB', higherIsBetter: false, ravdl: mb(s.blobs), peers: {} },
      );
    }
    return rows;
  },
};

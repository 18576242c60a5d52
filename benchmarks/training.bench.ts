// Training throughput of whole models through the v2 API (NeuralNetwork.train_on_batch with Adam
// and softmax cross-entropy), next to the same models in PyTorch eager measured in the same run by
// benchmarks/peers/torch_training.py: an MLP 784-512-512-10 at batch 128, a small CNN on
// 1x28x28 at batch 64 (steps/s), and the MLP's batch-1 inference latency (µs), per thread count.
// Also the same models in tfjs (cpu and wasm backends; tf.train.adam, tf.losses.softmaxCrossEntropy,
// fused matMul/conv2d as tfjs-layers would run them), in the 1-thread rows.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import * as R from '../lib/index.js';
import { NeuralNetwork } from '../lib/v2/index.js';
import { type BenchRow, type BenchSuite, timeIt } from './harness.js';
import { benchCnn, benchMlp } from './models.js';
import { type TfBuilder, type TfjsFigures, tfCnn, tfInferB1, tfMlp, tfTrainStep, timeTfjs } from './peers/tfjs/index.js';

const peerScript = join(dirname(fileURLToPath(import.meta.url)), 'peers', 'torch_training.py');

type Key = 'mlp' | 'cnn' | 'mlp_infer_b1';
const us = (ms: number | null) => (ms == null ? null : ms * 1000);
const perSecond = (ms: number | null) => (ms == null ? null : 1000 / ms);
/** key -> threads -> ms per call (median). */
type PeerMs = Record<Key, Record<string, number>>;

/** Runs the PyTorch peer once for all thread counts; null figures and a note when unavailable. */
function torchPeer(threads: number[], timeMs: number): { ms: PeerMs | null; note: string } {
  const r = spawnSync('/usr/bin/python3', [peerScript, '--threads', threads.join(','), '--time-ms', String(timeMs)], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.error || r.status !== 0) return { ms: null, note: `PyTorch peer failed: ${r.error?.message ?? r.stderr.trim().split('\n').pop()}` };
  const doc = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  if (doc.error) return { ms: null, note: `PyTorch peer unavailable: ${doc.error}` };
  const blas = doc.openblas_capped ? ' (its OpenBLAS pool capped to the same count)' : '';
  return { ms: doc.ms, note: `PyTorch ${doc.torch} eager (nn.Sequential, F.cross_entropy, torch.optim.Adam), same thread count${blas}` };
}

/** Labels in [0, classes) from a fixed LCG, as int32 (class indices, as the model takes them). */
function labels(n: number, classes: number, seed: number): R.Tensor {
  let s = seed >>> 0;
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s % classes;
  }
  return R.keep(R.t(a));
}



/** One optimizer step per call; tidy() frees the step's activations as fit() does. */
function trainStep(model: NeuralNetwork, xShape: number[], seed: number): () => void {
  R.manual_seed(seed);
  const X = R.keep(R.randn(xShape));
  const y = labels(xShape[0]!, 10, seed);
  return () => {
    R.tidy(() => model.train_on_batch(X, y));
  };
}

function inferStep(model: NeuralNetwork): () => void {
  R.manual_seed(3);
  const x = R.keep(R.randn([1, 784]));
  return () => {
    R.tidy(() => model.predict(x));
  };
}

export const suite: BenchSuite = {
  name: 'training',
  async run({ threads, quick }) {
    const timeMs = quick ? 300 : 1500;
    // On shared cores PyTorch's OpenMP workers spin-wait and its multi-thread figures collapse
    // (10x and worse), so the load seen at the start goes with the figures.
    const load = `1-min load average ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores at start`;
    const peer = torchPeer(threads, timeMs);
    R.manual_seed(0);
    const mlpModel = benchMlp();
    const cnnModel = benchCnn();
    const work: { key: Key; label: string; step: () => void; infer?: boolean; tf: TfBuilder; tfSkip?: string }[] = [
      { key: 'mlp', label: 'MLP 784-512-512-10 Adam b128', step: trainStep(mlpModel, [128, 784], 1), tf: tfTrainStep(tfMlp, [128, 784]) },
      {
        key: 'cnn', label: 'CNN conv32-conv64-fc128 1x28x28 Adam b64', step: trainStep(cnnModel, [64, 1, 28, 28], 2),
        tf: tfTrainStep(tfCnn, [64, 28, 28, 1]),
        // Measured once on the 2-core reference VM: 42 s per step, nearly all in tfjs-cpu's
        // plain-JS Conv2DBackpropFilter kernel.
        tfSkip: 'about 40 s per step (its plain-JS Conv2DBackpropFilter kernel)',
      },
      { key: 'mlp_infer_b1', label: 'MLP 784-512-512-10 predict b1', step: inferStep(mlpModel), infer: true, tf: tfInferB1 },
    ];
    const tfjs = new Map<Key, TfjsFigures>();
    for (const w of work)
      tfjs.set(w.key, await timeTfjs(w.label, w.tf, { timeMs, threads, skip: w.tfSkip ? { 'tfjs-cpu': w.tfSkip } : undefined }));
    const firstNotes = [peer.note, load];
    const rows: BenchRow[] = []; // the notes go on the first row only (run.ts prints every note)
    for (const t of threads) {
      R.setNumThreads(t);
      for (const w of work) {
        // Warm-up covers the first steps' allocations (Adam state, lazy buffers) before sampling.
        const timing = await timeIt(w.step, { timeMs, warmupMs: quick ? 100 : 300 });
        const peerMs = peer.ms?.[w.key]?.[String(t)] ?? null;
        const tf = tfjs.get(w.key)!;
        const tfMs = (p: 'tfjs-cpu' | 'tfjs-wasm') => (t === 1 ? tf.ms[p] : null);
        const notes = [...(rows.length === 0 ? firstNotes : []), ...tf.notes];
        rows.push(
          w.infer
            ? {
                suite: 'training',
                workload: `${w.label} µs ${t}T`,
                unit: 'µs',
                higherIsBetter: false,
                threads: t,
                ravdl: timing.medianMs * 1000,
                peers: {
                  PyTorch: peerMs == null ? null : peerMs * 1000,
                  'tfjs-cpu': us(tfMs('tfjs-cpu')),
                  'tfjs-wasm': us(tfMs('tfjs-wasm')),
                },
                target: { peer: 'PyTorch', min: 1.0 },
                notes,
              }
            : {
                suite: 'training',
                workload: `${w.label} steps/s ${t}T`,
                unit: 'steps/s',
                higherIsBetter: true,
                threads: t,
                ravdl: 1000 / timing.medianMs,
                peers: {
                  PyTorch: perSecond(peerMs),
                  'tfjs-cpu': perSecond(tfMs('tfjs-cpu')),
                  'tfjs-wasm': perSecond(tfMs('tfjs-wasm')),
                },
                target: { peer: 'PyTorch', min: 1.2 },
                notes,
              },
        );
      }
    }
    R.setNumThreads(0);
    return rows;
  },
};

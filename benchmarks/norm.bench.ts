// Normalization, pooling and loss kernels vs PyTorch (ATen kernels called directly, measured in
// the same run by benchmarks/peers/torch_norm.py): batchnorm2d forward+backward, maxpool2d
// forward+backward and fused softmax-cross-entropy forward+backward, milliseconds per step, for
// each thread count; batchnorm and maxpool also vs tfjs (cpu and wasm backends, NHWC, gradients
// by tf.grad; 1-thread rows).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native, setNumThreads } from '../lib/index.js';
import { type BenchRow, type BenchSuite, timeIt } from './harness.js';
import { type TfBuilder, type TfjsFigures, tfBatchnorm, tfMaxpool, timeTfjs } from './peers/tfjs/index.js';
import { runKernel } from '../lib/native/kernels.js';

const peerScript = join(dirname(fileURLToPath(import.meta.url)), 'peers', 'torch_norm.py');

function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296) * 3.4 - 1.7;
  }
  return a;
}

/** Runs the PyTorch peer once for all thread counts; null figures and a note when unavailable. */
function torchPeer(threads: number[], timeMs: number): { ms: Record<string, Record<string, number>> | null; note?: string } {
  const r = spawnSync('/usr/bin/python3', [peerScript, '--threads', threads.join(','), '--time-ms', String(timeMs)], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.error || r.status !== 0) return { ms: null, note: `PyTorch peer failed: ${r.error?.message ?? r.stderr.trim().split('\n').pop()}` };
  const doc = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  if (doc.error) return { ms: null, note: `PyTorch peer unavailable: ${doc.error}` };
  return { ms: doc.ms, note: `PyTorch ${doc.torch}, ATen kernels without autograd` };
}

function batchnormStep(): () => void {
  const shape = [32, 64, 16, 16];
  const n = 32 * 64 * 16 * 16;
  const x = randn(n, 1);
  const gy = randn(n, 2);
  const gamma = new Float32Array(64).fill(1.2);
  const beta = new Float32Array(64).fill(0.1);
  const rm = new Float32Array(64);
  const rv = new Float32Array(64).fill(1);
  const y = new Float32Array(n);
  const gx = new Float32Array(n);
  const sm = new Float32Array(64);
  const si = new Float32Array(64);
  const gg = new Float32Array(64);
  const gb = new Float32Array(64);
  const nat = native();
  return () => {
    nat.batch_norm(x, shape, gamma, beta, rm, rv, y, sm, si, { training: true, momentum: 0.1, eps: 1e-5 });
    nat.batch_norm_backward(gy, x, shape, gamma, sm, si, gx, gg, gb, { training: true });
  };
}

/** maxpool2d k2 s2 on (32,64,32,32): forward with indices, then the input gradient. */
function maxpoolStep(): () => void {
  const shape = [32, 64, 32, 32];
  const n = 32 * 64 * 32 * 32;
  const x = randn(n, 5);
  const attrs = { kernel_size: 2 };
  const nat = native();
  const yShape = nat.maxpool2d_shape(shape, attrs);
  const m = yShape.reduce((a, b) => a * b, 1);
  const y = new Float32Array(m);
  const idx = new Int32Array(m);
  const gy = randn(m, 6);
  const gx = new Float32Array(n);
  return () => {
    runKernel('max_pool2d', 'cpu', [{ _native: x, shape }], [{ _native: y, shape: yShape }, { _native: idx, shape: yShape }], attrs);
    runKernel('max_pool2d_backward', 'cpu', [{ _native: gy, shape: yShape }, { _native: idx, shape: yShape }], [{ _native: gx, shape }], {});
  };
}

function crossEntropyStep(n: number, c: number): () => void {
  const z = randn(n * c, 3);
  const t = Int32Array.from({ length: n }, (_, i) => (i * 7) % c);
  const out = new Float32Array(1);
  const one = new Float32Array([1]);
  const gz = new Float32Array(n * c);
  const T = (data: Float32Array | Int32Array, shape: number[]) => ({ _native: data, shape });
  return () => {
    runKernel('cross_entropy', 'cpu', [T(z, [n, c]), T(t, [n]), null], [T(out, [])], {});
    runKernel('cross_entropy_backward', 'cpu', [T(z, [n, c]), T(t, [n]), null, T(one, [])], [T(gz, [n, c])], {});
  };
}

export const suite: BenchSuite = {
  name: 'norm',
  async run({ threads, quick }) {
    const timeMs = quick ? 150 : 500;
    const peer = torchPeer(threads, timeMs);
    const work: { key: string; suite: string; label: string; step: () => void; tf?: TfBuilder }[] = [
      { key: 'batchnorm2d', suite: 'norm', label: 'batchnorm2d fwd+bwd (32,64,16,16)', step: batchnormStep(), tf: tfBatchnorm([32, 16, 16, 64]) },
      { key: 'maxpool2d', suite: 'pool', label: 'maxpool2d k2 fwd+bwd (32,64,32,32)', step: maxpoolStep(), tf: tfMaxpool([32, 32, 32, 64], 2) },
      { key: 'ce_128x10', suite: 'norm', label: 'softmax-CE fwd+bwd (128,10)', step: crossEntropyStep(128, 10) },
      { key: 'ce_512x1000', suite: 'norm', label: 'softmax-CE fwd+bwd (512,1000)', step: crossEntropyStep(512, 1000) },
    ];
    const tfjs = new Map<string, TfjsFigures>();
    for (const w of work) if (w.tf) tfjs.set(w.key, await timeTfjs(w.label, w.tf, { timeMs, threads }));
    const rows: BenchRow[] = [];
    for (const t of threads) {
      setNumThreads(t);
      for (const w of work) {
        const timing = await timeIt(w.step, { timeMs });
        const tf = tfjs.get(w.key);
        rows.push({
          suite: w.suite,
          workload: `${w.label} ${t}T`,
          unit: 'ms',
          higherIsBetter: false,
          threads: t,
          ravdl: timing.medianMs,
          peers: {
            PyTorch: peer.ms?.[w.key]?.[String(t)] ?? null,
            ...(tf ? { 'tfjs-cpu': t === 1 ? tf.ms['tfjs-cpu'] : null, 'tfjs-wasm': t === 1 ? tf.ms['tfjs-wasm'] : null } : {}),
          },
          notes: [...(peer.note ? [peer.note] : []), ...(tf?.notes ?? [])],
        });
      }
    }
    setNumThreads(0);
    return rows;
  },
};

// Normalization and loss kernels vs PyTorch (ATen kernels called directly, measured in the
// same run by benchmarks/peers/torch_norm.py): batchnorm2d forward+backward and fused
// softmax-cross-entropy forward+backward, milliseconds per step, for each thread count.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native, setNumThreads } from '../lib/index.js';
import { type BenchRow, type BenchSuite, timeIt } from './harness.js';

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

function crossEntropyStep(n: number, c: number): () => void {
  const z = randn(n * c, 3);
  const t = Int32Array.from({ length: n }, (_, i) => (i * 7) % c);
  const out = new Float32Array(1);
  const one = new Float32Array([1]);
  const gz = new Float32Array(n * c);
  const nat = native();
  return () => {
    nat.cross_entropy(z, [n, c], t, null, out);
    nat.cross_entropy_backward(z, [n, c], t, null, one, gz);
  };
}

export const suite: BenchSuite = {
  name: 'norm',
  async run({ threads, quick }) {
    const timeMs = quick ? 150 : 500;
    const peer = torchPeer(threads, timeMs);
    const work: { key: string; label: string; step: () => void }[] = [
      { key: 'batchnorm2d', label: 'batchnorm2d fwd+bwd (32,64,16,16)', step: batchnormStep() },
      { key: 'ce_128x10', label: 'softmax-CE fwd+bwd (128,10)', step: crossEntropyStep(128, 10) },
      { key: 'ce_512x1000', label: 'softmax-CE fwd+bwd (512,1000)', step: crossEntropyStep(512, 1000) },
    ];
    const rows: BenchRow[] = [];
    for (const t of threads) {
      setNumThreads(t);
      for (const w of work) {
        const timing = await timeIt(w.step, { timeMs });
        rows.push({
          suite: 'norm',
          workload: `${w.label} ${t}T`,
          unit: 'ms',
          higherIsBetter: false,
          ravdl: timing.medianMs,
          peers: { PyTorch: peer.ms?.[w.key]?.[String(t)] ?? null },
          notes: peer.note ? [peer.note] : undefined,
        });
      }
    }
    setNumThreads(0);
    return rows;
  },
};

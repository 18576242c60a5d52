// Per-op dispatch overhead: R.add on two 16-element tensors (per call, inside tidy), and a small
// MLP forward + backward at batch 1 (per step), next to the same ops in PyTorch measured in the
// same run by benchmarks/peers/torch_dispatch.py, and tf.add on tfjs's cpu and wasm backends
// (in-process, inside tf.tidy). All on one thread: this measures overhead. Target: <= 1 µs per op.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as R from '../lib/index.js';
import { type BenchRow, type BenchSuite, timeIt } from './harness.js';
import { tfAddLoop, timeTfjs } from './peers/tfjs/index.js';

const peerScript = join(dirname(fileURLToPath(import.meta.url)), 'peers', 'torch_dispatch.py');

function torchPeer(timeMs: number): { us: Record<string, number> | null; note: string } {
  const r = spawnSync('/usr/bin/python3', [peerScript, '--time-ms', String(timeMs)], { encoding: 'utf8', timeout: 300_000 });
  if (r.error || r.status !== 0) return { us: null, note: `PyTorch peer failed: ${r.error?.message ?? r.stderr.trim().split('\n').pop()}` };
  const doc = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  if (doc.error) return { us: null, note: `PyTorch peer unavailable: ${doc.error}` };
  return { us: doc.us, note: `PyTorch ${doc.torch} eager, 1 thread` };
}

const CALLS = 1000;

function addLoop(): () => void {
  const a = R.keep(R.randn([16]));
  const b = R.keep(R.randn([16]));
  return () =>
    R.tidy(() => {
      for (let i = 0; i < CALLS; i++) R.add(a, b);
    });
}

/** x(1,64) @ W1(64,32) + b1 -> relu -> @ W2(32,10) + b2, MSE, backward, gradients reset. */
function mlpStep(): () => void {
  R.manual_seed(0);
  const x = R.keep(R.randn([1, 64]));
  const y = R.keep(R.randn([1, 10]));
  const param = (t: R.Tensor) => R.keep(t.requires_grad_(true));
  const w1 = param(R.mul(R.randn([64, 32]), 0.1));
  const b1 = param(R.zeros([32]));
  const w2 = param(R.mul(R.randn([32, 10]), 0.1));
  const b2 = param(R.zeros([10]));
  const params = [w1, b1, w2, b2];
  return () =>
    R.tidy(() => {
      const h = R.relu(R.add(R.matmul(x, w1), b1));
      const out = R.add(R.matmul(h, w2), b2);
      const loss = R.mean(R.square(R.sub(out, y)));
      loss.backward();
      for (const p of params) {
        p.grad!.dispose();
        p.grad = null;
      }
    });
}

export const suite: BenchSuite = {
  name: 'dispatch',
  async run({ quick }): Promise<BenchRow[]> {
    const timeMs = quick ? 200 : 1000;
    const peer = torchPeer(timeMs);
    const tf = await timeTfjs('tf.add 16 elems', tfAddLoop(CALLS), { timeMs, threads: [1] });
    const perOp = (ms: number | null) => (ms == null ? null : (ms * 1000) / CALLS);
    R.setNumThreads(1);
    const add = await timeIt(addLoop(), { timeMs });
    const mlp = await timeIt(mlpStep(), { timeMs });
    R.setNumThreads(0);
    const notes = [peer.note];
    return [
      {
        suite: 'dispatch',
        workload: 'R.add 16 elems, per op 1T',
        unit: 'µs',
        higherIsBetter: false,
        threads: 1,
        ravdl: (add.medianMs * 1000) / CALLS,
        peers: { PyTorch: peer.us?.add16 ?? null, 'tfjs-cpu': perOp(tf.ms['tfjs-cpu']), 'tfjs-wasm': perOp(tf.ms['tfjs-wasm']) },
        target: { max: 1 },
        notes: [...notes, ...tf.notes],
      },
      {
        suite: 'dispatch',
        workload: 'MLP 64-32-10 fwd+bwd batch 1, per step 1T',
        unit: 'µs',
        higherIsBetter: false,
        threads: 1,
        ravdl: mlp.medianMs * 1000,
        peers: { PyTorch: peer.us?.mlp_b1 ?? null },
        target: { peer: 'PyTorch', min: 1 },
        notes,
      },
    ];
  },
};

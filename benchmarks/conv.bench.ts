// conv2d forward, and forward + all gradients (input, weight, bias), vs PyTorch measured in
// the same run by benchmarks/peers/torch_conv.py (same shapes, same thread counts). The peer
// is run once per (shape, threads) right before ravdl's timing of that row, so both see
// about the same machine load. tfjs (cpu and wasm backends, NHWC, fused conv2d + bias; gradients
// by tf.grads) is measured once per shape and shown in the 1-thread rows.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native, setNumThreads } from '../lib/index.js';
import { type BenchRow, type BenchSuite, timeIt } from './harness.js';
import { type TfjsFigures, tfConv, timeTfjs } from './peers/tfjs/index.js';
import { runKernel } from '../lib/native/kernels.js';

interface Shape2d { name: string; N: number; C: number; H: number; W: number; Cout: number; k: number; pad: number }

// Kept in sync with SHAPES in benchmarks/peers/torch_conv.py.
const SHAPES: Shape2d[] = [
  { name: 'N=32 3x32x32->64 k3 p1', N: 32, C: 3, H: 32, W: 32, Cout: 64, k: 3, pad: 1 },
  { name: 'N=32 64x16x16->128 k3 p1', N: 32, C: 64, H: 16, W: 16, Cout: 128, k: 3, pad: 1 },
];

interface PeerResult { workload: string; threads: number; fwd_ms: number; fwdbwd_ms: number }

/** Runs the PyTorch peer for one shape and thread count; an error string when it cannot. */
function torchPeer(threads: number, shape: number, quick: boolean): PeerResult[] | string {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'peers', 'torch_conv.py');
  const args = [script, '--threads', String(threads), '--shape', String(shape), ...(quick ? ['--quick'] : [])];
  const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', timeout: 600_000 });
  if (r.error) return `could not run /usr/bin/python3: ${r.error.message}`;
  try {
    const doc = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
    if (doc.error) return doc.error;
    return doc.results as PeerResult[];
  } catch {
    return `torch peer failed (status ${r.status}): ${r.stderr.trim().split('\n').pop() ?? ''}`;
  }
}

function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.618 + seed);
  return a;
}

export const suite: BenchSuite = {
  name: 'conv',
  async run({ threads, quick }) {
    const n = native();
    const timeMs = quick ? 200 : 1000;
    const rows: BenchRow[] = [];
    // tfjs first, per shape and direction (single-threaded: used by the 1-thread rows).
    const tfjs = new Map<string, TfjsFigures>();
    for (const s of SHAPES)
      for (const bwd of [false, true])
        tfjs.set(`${s.name}|${bwd}`, await timeTfjs(`conv2d ${bwd ? 'fwd+bwd' : 'fwd'} ${s.name}`, tfConv(s, bwd), {
          timeMs,
          threads,
          // tfjs-cpu's filter gradient is plain JS loops: ~17 s per call on the first shape and
          // ~90 s on this one (measured once on the 2-core reference VM), too long to include.
          skip: bwd && s.C >= 64 ? { 'tfjs-cpu': 'about 90 s per call (its plain-JS filter gradient)' }
            : bwd && quick ? { 'tfjs-cpu': 'about 17 s per call, left out of --quick' } : undefined,
        }));
    for (const t of threads) {
      setNumThreads(t);
      for (const [si, s] of SHAPES.entries()) {
        const peer = torchPeer(t, si, quick);
        const xs = [s.N, s.C, s.H, s.W], ws = [s.Cout, s.C, s.k, s.k];
        const attrs = { padding: s.pad };
        const ys = n.conv2d_shape(xs, ws, attrs);
        const size = (d: number[]) => d.reduce((a, b) => a * b, 1);
        const x = filled(size(xs), 1), w = filled(size(ws), 2).map((v) => v * 0.1), b = filled(s.Cout, 3);
        const gy = filled(size(ys), 4);
        const y = new Float32Array(size(ys)), gx = new Float32Array(size(xs));
        const gw = new Float32Array(size(ws)), gb = new Float32Array(s.Cout);
        const T = (data: Float32Array, shape: number[]) => ({ _native: data, shape });
        const fwd = () => runKernel('conv2d', 'cpu', [T(x, xs), T(w, ws), T(b, [s.Cout])], [T(y, ys)], attrs);
        const fwdbwd = () => {
          fwd();
          runKernel('conv2d_backward_input', 'cpu', [T(gy, ys), T(w, ws)], [T(gx, xs)], attrs);
          runKernel('conv2d_backward_weight', 'cpu', [T(gy, ys), T(x, xs)], [T(gw, ws)], attrs);
          runKernel('conv2d_backward_bias', 'cpu', [T(gy, ys)], [T(gb, [s.Cout])], {});
        };
        for (const [label, fn, key] of [['fwd', fwd, 'fwd_ms'], ['fwd+bwd', fwdbwd, 'fwdbwd_ms']] as const) {
          const timing = await timeIt(fn, { timeMs });
          const p = typeof peer === 'string' ? undefined : peer.find((r) => r.workload === s.name && r.threads === t);
          const tf = tfjs.get(`${s.name}|${label === 'fwd+bwd'}`)!;
          rows.push({
            suite: 'conv',
            workload: `conv2d ${label} ${s.name} @${t}t`,
            unit: 'ms',
            higherIsBetter: false,
            threads: t,
            ravdl: timing.medianMs,
            peers: {
              PyTorch: p ? p[key] : null,
              'tfjs-cpu': t === 1 ? tf.ms['tfjs-cpu'] : null,
              'tfjs-wasm': t === 1 ? tf.ms['tfjs-wasm'] : null,
            },
            target: { peer: 'PyTorch', min: 1.2 },
            notes: [...(typeof peer === 'string' ? [peer] : p ? [] : ['no PyTorch figure for this row']), ...tf.notes],
          });
        }
      }
    }
    setNumThreads(0);
    return rows;
  },
};

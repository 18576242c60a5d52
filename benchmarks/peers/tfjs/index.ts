// tfjs peers, measured in-process next to ravdl: @tensorflow/tfjs-core with its cpu backend
// (plain JavaScript kernels) and its wasm backend (XNNPACK, WebAssembly SIMD), plus
// @tensorflow/tfjs for its gradient registrations. Each suite builds the same workload as its
// ravdl row with the builders below and times it with timeTfjs(); a backend that is not
// installed, or lacks a kernel the workload needs, gives no figure and a note saying why.
//
// Installed on demand: the tfjs packages (about 300 MB) live in this folder's own node_modules
// (package.json and package-lock.json beside this file; node_modules ignored by git), installed
// by the first benchmark run that needs them (npm ci here), never by the repository's npm ci.
// RAVDL_BENCH_NO_INSTALL=1 skips the install (the tfjs columns then stay empty, with a note).
//
// Threads: tfjs's cpu backend is single-threaded JavaScript, and tfjs turns wasm threads off under
// Node (WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE; tensorflow/tfjs#3830), so both run
// on one thread and their figures go in the 1-thread rows only.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Timing, timeIt } from '../../harness.js';
// Typed when the peers are installed here; `any` on a machine that never ran the benchmark.
// @ts-ignore -- resolvable only after the on-demand install
import type * as tfc from '@tensorflow/tfjs-core';

type TF = typeof tfc;
type Tensor = tfc.Tensor;
type Tensor1D = tfc.Tensor1D;
type Tensor2D = tfc.Tensor2D;
type Tensor4D = tfc.Tensor4D;
type Scalar = tfc.Scalar;
type Variable = tfc.Variable;

const here = dirname(fileURLToPath(import.meta.url));
/** A peer package from this folder's node_modules (a name, not a literal: it may not be installed). */
const load = (name: string): Promise<any> => import(name);

/** Installs the peers into this folder when they are missing; a note when that is not possible. */
function ensureInstalled(): string | null {
  if (existsSync(join(here, 'node_modules', '@tensorflow', 'tfjs-core', 'package.json'))) return null;
  if (process.env.RAVDL_BENCH_NO_INSTALL) return 'tfjs not installed and RAVDL_BENCH_NO_INSTALL is set';
  console.log('installing the tfjs peers into benchmarks/peers/tfjs (npm ci, once, about 300 MB) ...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: here, stdio: 'inherit', timeout: 900_000 });
  return r.status === 0 ? null : `installing tfjs into benchmarks/peers/tfjs failed (${r.error?.message ?? `npm ci exited ${r.status}`}); run npm ci there by hand`;
}

export type TfjsPeer = 'tfjs-cpu' | 'tfjs-wasm';
export const TFJS_PEERS: TfjsPeer[] = ['tfjs-cpu', 'tfjs-wasm'];
const BACKEND: Record<TfjsPeer, string> = { 'tfjs-cpu': 'cpu', 'tfjs-wasm': 'wasm' };

export interface Tfjs {
  tf: TF | null;
  available: TfjsPeer[];
  version: string | null;
  /** Why a backend is missing, and the thread note. */
  notes: string[];
}

let loading: Promise<Tfjs> | undefined;

// A call slower than SLOW_MS is timed by hand, at most 3 calls and about SLOW_BUDGET_MS in all.
const SLOW_MS = 1000;
const SLOW_BUDGET_MS = 6000;

const message = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

/** Imports tfjs and initialises each backend once per process. */
export function loadTfjs(): Promise<Tfjs> {
  loading ??= (async (): Promise<Tfjs> => {
    const failed = ensureInstalled();
    if (failed) return { tf: null, available: [], version: null, notes: [failed] };
    let tf: TF;
    try {
      tf = await load('@tensorflow/tfjs-core');
    } catch (e) {
      return { tf: null, available: [], version: null, notes: [`tfjs not installed (@tensorflow/tfjs-core: ${message(e)}); run npm ci in benchmarks/peers/tfjs`] };
    }
    // PROD: no debug checks (tfjs's fast path) and no "install tfjs-node" banner on first use.
    tf.env().set('PROD', true);
    const available: TfjsPeer[] = [];
    const notes: string[] = [];
    // tfjs-core's Node bundle registers no gradients (only ops with a custom gradient, such as
    // fused conv2d, can be differentiated); the @tensorflow/tfjs bundle registers them all in
    // tfjs's global registry, as it does for any tfjs user.
    try {
      await load('@tensorflow/tfjs');
    } catch (e) {
      notes.push(`@tensorflow/tfjs not installed (${message(e)}): tfjs gradients (fwd+bwd and training rows) unavailable`);
    }
    try {
      await load('@tensorflow/tfjs-backend-cpu');
      if (await tf.setBackend('cpu')) available.push('tfjs-cpu');
      else notes.push('tfjs-cpu: backend failed to initialise');
    } catch (e) {
      notes.push(`tfjs-cpu not installed (@tensorflow/tfjs-backend-cpu: ${message(e)})`);
    }
    try {
      const wasm = await load('@tensorflow/tfjs-backend-wasm');
      if (await tf.setBackend('wasm')) {
        available.push('tfjs-wasm');
        const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
        notes.push(`tfjs-wasm ${wasm.version_wasm}: SIMD ${simd ? 'on' : 'off'}, ${wasm.getThreadsCount()} thread (tfjs disables wasm threads under Node)`);
      } else notes.push('tfjs-wasm: backend failed to initialise');
    } catch (e) {
      notes.push(`tfjs-wasm not installed (@tensorflow/tfjs-backend-wasm: ${message(e)})`);
    }
    notes.push(`tfjs ${tf.version_core} runs single-threaded in Node: its figures are in the 1-thread rows only`);
    return { tf, available, version: tf.version_core, notes };
  })();
  return loading;
}

/** A workload step for tfjs; tensors it creates outside tidy() are freed after timing. */
export type TfBuilder = (tf: TF) => () => unknown;

export interface TfjsFigures {
  /** Median ms per call, per peer (null: not installed, skipped or failed, see notes). */
  ms: Record<TfjsPeer, number | null>;
  notes: string[];
}

/**
 * Times `build(tf)` on each installed tfjs backend, when the run has 1-thread rows (`threads`).
 * `skip` names backends not to run with the reason (e.g. far too slow at this size), noted.
 */
export async function timeTfjs(
  label: string,
  build: TfBuilder,
  opts: { timeMs: number; skip?: Partial<Record<TfjsPeer, string>>; threads: number[] },
): Promise<TfjsFigures> {
  const out: TfjsFigures = { ms: { 'tfjs-cpu': null, 'tfjs-wasm': null }, notes: [] };
  if (!opts.threads.includes(1)) return out; // tfjs figures go in 1-thread rows only
  const t = await loadTfjs();
  for (const peer of TFJS_PEERS) {
    const skip = opts.skip?.[peer];
    if (!t.tf || !t.available.includes(peer)) continue;
    if (skip) {
      out.notes.push(`${peer} not run for ${label}: ${skip}`);
      continue;
    }
    const tf = t.tf;
    await tf.setBackend(BACKEND[peer]);
    tf.engine().startScope();
    try {
      const step = build(tf);
      // One untimed-by-tinybench call first: tfjs-cpu takes seconds per call on some rows
      // (conv gradients), where tinybench's warm-up + samples would cost minutes.
      const t0 = performance.now();
      step();
      const first = performance.now() - t0;
      if (first < SLOW_MS) {
        const timing: Timing = await timeIt(step, { timeMs: opts.timeMs, minIterations: 3, warmupMs: 50 });
        out.ms[peer] = timing.medianMs;
      } else {
        const calls = [first];
        while (calls.length < 3 && calls.reduce((a, b) => a + b, 0) < SLOW_BUDGET_MS) {
          const t1 = performance.now();
          step();
          calls.push(performance.now() - t1);
        }
        calls.sort((a, b) => a - b);
        out.ms[peer] = calls[Math.floor(calls.length / 2)]!;
        out.notes.push(`${peer} on ${label}: ${(first / 1000).toFixed(1)} s per call, median of ${calls.length} call(s) only`);
      }
    } catch (e) {
      out.notes.push(`${peer} failed on ${label}: ${message(e)}`);
    } finally {
      tf.engine().endScope();
      tf.disposeVariables();
    }
  }
  return out;
}

// ---- builders: the same workloads as the ravdl rows, in tfjs's layout (NHWC) ----

function uniform(tf: TF, shape: number[], scale = 1, seed = 1): Tensor {
  return tf.randomUniform(shape, -scale, scale, 'float32', seed);
}

/** C = A @ B, n x n. */
export const tfGemm = (n: number): TfBuilder => (tf) => {
  const a = uniform(tf, [n, n]), b = uniform(tf, [n, n], 1, 2);
  return () => tf.tidy(() => { tf.matMul(a, b); });
};

export interface ConvShape { N: number; C: number; H: number; W: number; Cout: number; k: number; pad: number }

/** conv2d + bias (tfjs's fused kernel), forward only or forward + gradients of x, w and b. */
export const tfConv = (s: ConvShape, backward: boolean): TfBuilder => (tf) => {
  const x = uniform(tf, [s.N, s.H, s.W, s.C]) as Tensor4D;
  const w = uniform(tf, [s.k, s.k, s.C, s.Cout], 0.1, 2) as Tensor4D;
  const b = uniform(tf, [s.Cout], 1, 3);
  const conv = (xx: Tensor, ww: Tensor, bb: Tensor) =>
    tf.fused.conv2d({ x: xx as typeof x, filter: ww as typeof w, bias: bb, strides: 1, pad: s.pad });
  if (!backward) return () => tf.tidy(() => { conv(x, w, b); });
  const dy = uniform(tf, conv(x, w, b).shape, 1, 4);
  const grads = tf.grads(conv as (...t: Tensor[]) => Tensor);
  return () => tf.tidy(() => { grads([x, w, b], dy); });
};

/** maxPool k2 s2 forward + gradient of x, input NHWC. */
export const tfMaxpool = (nhwc: number[], k: number): TfBuilder => (tf) => {
  const x = uniform(tf, nhwc) as Tensor4D;
  const pool = (xx: Tensor) => tf.maxPool(xx as typeof x, k, k, 'valid');
  const dy = uniform(tf, pool(x).shape, 1, 2);
  const grad = tf.grad(pool);
  return () => tf.tidy(() => { grad(x, dy); });
};

/** Training-mode batch norm (batch moments, affine) forward + gradients of x, gamma, beta. */
export const tfBatchnorm = (nhwc: number[]): TfBuilder => (tf) => {
  const c = nhwc[3]!;
  const x = uniform(tf, nhwc);
  const gamma = tf.fill([c], 1.2), beta = tf.fill([c], 0.1);
  const dy = uniform(tf, nhwc, 1, 2);
  const bn = (xx: Tensor, g: Tensor, bt: Tensor) => {
    const { mean, variance } = tf.moments(xx, [0, 1, 2]);
    return tf.batchNorm(xx, mean, variance, bt, g, 1e-5);
  };
  const grads = tf.grads(bn as (...t: Tensor[]) => Tensor);
  return () => tf.tidy(() => { grads([x, gamma, beta], dy); });
};

/** out = a + b on n floats (tfjs allocates the output). */
export const tfAdd = (n: number): TfBuilder => (tf) => {
  const a = uniform(tf, [n]), b = uniform(tf, [n], 1, 2);
  return () => tf.tidy(() => { tf.add(a, b); });
};

/** Full sum of n floats. */
export const tfSum = (n: number): TfBuilder => (tf) => {
  const a = uniform(tf, [n]);
  return () => tf.tidy(() => { tf.sum(a); });
};

/** `calls` tf.add on two 16-element tensors, inside one tidy (as ravdl's dispatch row). */
export const tfAddLoop = (calls: number): TfBuilder => (tf) => {
  const a = uniform(tf, [16]), b = uniform(tf, [16], 1, 2);
  return () => tf.tidy(() => { for (let i = 0; i < calls; i++) tf.add(a, b); });
};

// Models as tfjs-layers would run them: Dense = fused matMul + bias + activation, Conv2D = fused
// conv2d; Adam(1e-3) and softmax cross-entropy on one-hot labels (mean over the batch).

interface Model { vars: Variable[]; forward(x: Tensor): Tensor }

function dense(tf: TF, vars: Variable[], nin: number, nout: number, seed: number) {
  const w = tf.variable(uniform(tf, [nin, nout], Math.sqrt(6 / (nin + nout)), seed));
  const b = tf.variable(tf.zeros([nout]));
  vars.push(w, b);
  return (x: Tensor, relu: boolean) =>
    tf.fused.matMul({ a: x as Tensor2D, b: w as Tensor as Tensor2D, bias: b, activation: relu ? 'relu' : 'linear' });
}

/** MLP 784-512-512-10 with ReLU. */
export function tfMlp(tf: TF): Model {
  const vars: Variable[] = [];
  const l1 = dense(tf, vars, 784, 512, 11), l2 = dense(tf, vars, 512, 512, 12), l3 = dense(tf, vars, 512, 10, 13);
  return { vars, forward: (x) => l3(l2(l1(x, true), true), false) };
}

/** conv32-pool-conv64-pool-fc128-fc10 on 28x28x1 (NHWC), the CNN of training.bench.ts. */
export function tfCnn(tf: TF): Model {
  const vars: Variable[] = [];
  const conv = (cin: number, cout: number, seed: number) => {
    const w = tf.variable(uniform(tf, [3, 3, cin, cout], Math.sqrt(6 / (9 * (cin + cout))), seed));
    const b = tf.variable(tf.zeros([cout]));
    vars.push(w, b);
    return (x: Tensor) =>
      tf.fused.conv2d({ x: x as Tensor4D, filter: w as Tensor as Tensor4D, bias: b, strides: 1, pad: 'valid', activation: 'relu' });
  };
  const c1 = conv(1, 32, 21), c2 = conv(32, 64, 22);
  const f1 = dense(tf, vars, 1600, 128, 23), f2 = dense(tf, vars, 128, 10, 24);
  const pool = (x: Tensor) => tf.maxPool(x as Tensor4D, 2, 2, 'valid');
  return {
    vars,
    forward: (x) => {
      const h = pool(c2(pool(c1(x))));
      return f2(f1(tf.reshape(h, [x.shape[0]!, 1600]), true), false);
    },
  };
}

/** One Adam step of `model` on a fixed batch, reading the loss back as ravdl's train_on_batch does. */
export const tfTrainStep = (makeModel: (tf: TF) => Model, xShape: number[]): TfBuilder => (tf) => {
  const model = makeModel(tf);
  const x = tf.randomNormal(xShape, 0, 1, 'float32', 5);
  const labels = tf.randomUniform([xShape[0]!], 0, 10, 'int32', 6);
  const onehot = tf.oneHot(labels as Tensor1D, 10);
  const opt = tf.train.adam(1e-3);
  return () =>
    tf.tidy(() => {
      const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(onehot, model.forward(x)) as Scalar, true, model.vars);
      cost!.dataSync();
    });
};

/** The MLP's forward pass on one sample. */
export const tfInferB1: TfBuilder = (tf) => {
  const model = tfMlp(tf);
  const x = tf.randomNormal([1, 784], 0, 1, 'float32', 7);
  return () => tf.tidy(() => { model.forward(x); });
};

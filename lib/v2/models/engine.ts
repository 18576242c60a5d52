// What Sequential (NeuralNetwork) and Functional models share: fit, evaluate and predict (each
// written once as a generator of lib/io/drive.ts, run synchronously by the *_sync forms and
// asynchronously, yielding to the event loop between batches, by the Promise forms), the
// backward pass with an optimizer step, and weight snapshots.
import { AbortError, ArgError, AttrError, GraphError } from '../../errors.js';
import { isRecording, withoutRecordingWork } from '../../ops/define.js';
import { type AttrCheck, type AttrSchema, abortSignal, any, bool, int, nullable, parseAttrs } from '../../ops/attrs.js';
import { add, mul } from '../../ops/binary.js';
import { full } from '../../ops/creation.js';
import { gather } from '../../ops/indexing.js';
import { concat, slice } from '../../ops/join.js';
import { no_grad } from '../../autograd/mode.js';
import { tidy, tidyWork } from '../../tensor/scope.js';
import { t } from '../../tensor/create.js';
import type { DType } from '../../tensor/dtype.js';
import type { Device } from '../../tensor/device.js';
import { placeModel } from './device.js';
import { Tensor } from '../../tensor/tensor.js';
import { Graph } from '../../graph/graph.js';
import { type Work, call, io, noPause, runSync, timeSlice } from '../../io/drive.js';
import { backwardWork } from '../../autograd/backward.js';
import type { NamedTensors } from '../layers/layer.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { sliceRows, takeRows } from '../utils/rows.js';
import { permutation, resolveSeed } from '../utils/rng.js';
import type { Callback, EpochLogs, TrainingModel } from './callbacks.js';
import { type DataInput, asTensor, checkNoNaNWork, checkSameLength, countCorrect, prepareTargets } from './data.js';
import type { Loss } from './losses.js';
import { Progress, type ProgressStream } from './progress.js';

export interface Trainable {
  /** The model's forward pass on a batch. */
  _forward_pass(x: Tensor, training?: boolean): Tensor;
  /** The forward pass as work that may pause between its parts (Sequential: between layers). */
  _forwardWork?(x: Tensor, training: boolean, pause: () => Work<void>): Work<Tensor>;
  parameters(): NamedTensors;
  state_tensors(): NamedTensors;
  optimizer: Optimizer | null;
  /** Where model.to() put it (undefined: the CPU). */
  _device?: Device;
}

/** A model fit/evaluate/predict can drive (NeuralNetwork, Functional). */
export interface Model extends Trainable, TrainingModel {
  /** Its loss (Functional: the one given to initialize_params, default SquareLoss). */
  readonly loss: Loss;
  /** dtype of its input samples. */
  _inputDtype(): DType;
  /** Builds the model for X's samples if needed and returns its output sample shape. */
  _outputShape(where: string, X: Tensor): number[];
  /** Validation data fit uses when its options give none. */
  validation_data?: [DataInput, DataInput] | null;
}

// ---- options, validated by the op catalog's schema mechanism (unknown names are errors) ----

export interface FitOptions {
  /** Passes over the data (default 1). */
  n_epochs?: number;
  batch_size?: number;
  /** Reshuffle the samples every epoch (seeded by R.manual_seed unless `seed` is given). */
  shuffle?: boolean;
  seed?: number;
  /** [X_val, y_val], evaluated after every epoch. */
  validation_data?: [DataInput, DataInput] | null;
  /** Hooks per batch and epoch; each may return a Promise, which fit awaits (fit_sync cannot). */
  callbacks?: Callback[];
  /**
   * Progress output: true or 1 (default) a bar on a terminal and a line per epoch otherwise,
   * 2 a line per epoch always, false or 0 nothing (Keras's spellings).
   */
  verbose?: boolean | 0 | 1 | 2;
  /** Where progress goes (default process.stdout). */
  stream?: ProgressStream;
  /**
   * Stops training between two batches: the model keeps the weights of the last completed batch
   * and fit rejects with an AbortError.
   */
  signal?: AbortSignal;
}

export interface BatchOptions {
  /** Samples per forward pass (default 256; predict_async: 64). */
  batch_size?: number;
}

const list =
  (what: string): AttrCheck<unknown[]> =>
  (v, bad) =>
    Array.isArray(v) ? v : bad(what);
const verbosity: AttrCheck<0 | 1 | 2> = (v, bad) => {
  if (v === true || v === 1) return 1;
  if (v === false || v === 0) return 0;
  return v === 2 ? 2 : bad('true, false, 0, 1 or 2');
};
const stream: AttrCheck<ProgressStream> = (v, bad) =>
  v !== null && typeof v === 'object' && typeof (v as ProgressStream).write === 'function' ? (v as ProgressStream) : bad('a stream with a write(string) method');

interface FitSettings {
  n_epochs: number;
  batch_size: number;
  shuffle: boolean;
  seed: number | null;
  validation_data: unknown;
  callbacks: unknown[];
  verbose: 0 | 1 | 2;
  stream: ProgressStream | null;
  signal: AbortSignal | null;
}

const FIT_SCHEMA: AttrSchema<FitSettings> = {
  n_epochs: { check: int({ min: 0 }), default: 1 },
  batch_size: { check: int({ min: 1 }), default: 32 },
  shuffle: { check: bool, default: true },
  seed: { check: nullable(int({ min: 0 })), default: null },
  validation_data: { check: any, default: null },
  callbacks: { check: list('a list of callbacks'), default: [] },
  verbose: { check: verbosity, default: 1 },
  stream: { check: nullable(stream), default: null },
  signal: { check: nullable(abortSignal), default: null },
};

const batchSchema = (fallback: number): AttrSchema<{ batch_size: number }> => ({ batch_size: { check: int({ min: 1 }), default: fallback } });
const DEFAULT_BATCH = 256;
const BATCH_SCHEMA = batchSchema(DEFAULT_BATCH);
/**
 * predict_async's default: smaller slices of work between pauses (a first batch of 256 images
 * through the Fashion-MNIST CNN held the loop 100 ms, of 64 11 ms). Inference gives the same
 * values whatever the batch size.
 */
export const ASYNC_PREDICT_BATCH = 64;
const ASYNC_BATCH_SCHEMA = batchSchema(ASYNC_PREDICT_BATCH);

export function batchSize(where: string, options: BatchOptions | undefined, async = false): number {
  if (options === undefined) return async ? ASYNC_PREDICT_BATCH : DEFAULT_BATCH; // predict on one sample is a hot path
  return parseAttrs(where, async ? ASYNC_BATCH_SCHEMA : BATCH_SCHEMA, options).batch_size;
}

/** The event loop gets a turn at the next batch boundary once this much time has passed (see timeSlice). */
export const SLICE_MS = 5;

// ---- training ----

/** loss.backward(); with step, one optimizer update of every parameter and the gradients reset. */
export function backwardPass(model: Trainable, where: string, loss: Tensor, step: boolean): void {
  runSync(backwardPassWork(model, where, loss, step, noPause));
}

function* backwardPassWork(model: Trainable, where: string, loss: Tensor, step: boolean, pause: () => Work<void>): Work<void> {
  if (!(loss instanceof Tensor)) throw new ArgError(`${where}: loss must be a Tensor, got ${String(loss)}`);
  if (loss.size !== 1) throw new ArgError(`${where}: loss must hold one value, got shape [${loss.shape.join(', ')}]`);
  yield* backwardWork(loss, null, {}, pause);
  if (!step) return;
  if (!model.optimizer) throw new AttrError(`${where}: no optimizer (call initialize_params(optimizer) in the constructor)`);
  yield* pause();
  const params = model.parameters();
  model.optimizer.step(params);
  model.optimizer.zero_grad(params);
}

export interface EpochRecord extends EpochLogs {
  epoch: number;
}

/** fit()'s result: every batch loss under the seed's names (1-based), and per-epoch logs. */
export type History = { [key: `training_loss_epoch_${number}_batch_${number}`]: number } & { epochs: EpochRecord[] };

/** One training step on a batch: its loss and (for accuracy) how many samples it got right. */
export function trainStep(model: Model, where: string, X: Tensor, y: Tensor, withAccuracy = false): { loss: number; correct: number } {
  return runSync(trainStepWork(model, where, X, y, withAccuracy, noPause));
}

/**
 * trainStep as work that calls `pause` between the forward pass, the tape nodes of the backward
 * pass and the update, so the async fit never holds the event loop for a whole step. Its tidy
 * scope and its eager mode hold only while it runs: what other code does during a pause (create
 * tensors, begin a graph) neither joins nor changes the step.
 */
function trainStepWork(model: Model, where: string, X: Tensor, y: Tensor, withAccuracy: boolean, pause: () => Work<void>): Work<{ loss: number; correct: number }> {
  return tidyWork(withoutRecordingWork((function* () {
    const out = model._forwardWork ? yield* model._forwardWork(X, true, pause) : model._forward_pass(X, true);
    const loss = model.loss.fn(y, out);
    const value = loss.item();
    if (!Number.isFinite(value)) throw new ArgError(`${where}: the loss became ${value} (lower the learning rate or check the data)`);
    const correct = withAccuracy ? countCorrect(out, y) : 0;
    yield* pause();
    yield* backwardPassWork(model, where, loss, true, pause);
    return { loss: value, correct };
  })()));
}

/** Graph mode: records one training step; its loss is persisted under `name`. */
function recordStep(model: Model, where: string, graph: Graph, X: Tensor, y: Tensor, name: string): void {
  const loss = model.loss.fn(y, model._forward_pass(X, true));
  graph.persist(loss, name);
  backwardPass(model, where, loss, true);
}

/** x on `device`: x itself when it is there, else a copy there (the caller disposes both). */
function onDevice(x: Tensor, device: Device): Tensor {
  return x.device === device || x.isSymbolic ? x : no_grad(() => x.to(device));
}

/** Models with a fit running (a second one on the same model would interleave their steps). */
const fitting = new WeakSet<object>();

function checkNotEmpty(where: string, name: string, x: Tensor): void {
  if (x.shape[0] === 0) throw new ArgError(`${where}: ${name} has no samples (the data is empty)`);
}

/** X and the targets for it (checked against the model's output). */
function* prepare(model: Model, where: string, X: DataInput, y: DataInput, what = ''): Work<{ X: Tensor; y: Tensor; out: number[] }> {
  const Xt = asTensor(where, `${what}X`, X, model._inputDtype(), false);
  checkNotEmpty(where, `${what}X`, Xt);
  yield* checkNoNaNWork(where, `${what}X`, Xt);
  const out = model._outputShape(where, Xt);
  placeModel(model); // layers the build just made go where model.to() put the model
  const yt = prepareTargets(where, y, out, model.loss.classifier);
  checkSameLength(what ? `${where} (validation_data)` : where, Xt, yt);
  return { X: Xt, y: yt, out };
}

/** Whether the model reports accuracy on targets y: a classifier, or one-hot rows over 2+ outputs. */
function reportsAccuracy(model: Model, out: number[], y: Tensor): boolean {
  if (out.length !== 1 || out[0]! < 2) return false;
  return model.loss.classifier || (y.ndim === 2 && y.shape[1] === out[0]);
}

function checkSignal(where: string, signal: AbortSignal | null, done: string): void {
  if (signal?.aborted) throw new AbortError(`${where}: aborted ${done}`, { cause: signal.reason });
}

/**
 * fit's work: validates everything first, then trains batch by batch. Between batches it checks
 * the signal, awaits async callbacks and, once SLICE_MS have passed since the last pause, pauses
 * (the async form lets the event loop run there).
 * While a graph is being defined it records every step and never pauses (recording is
 * synchronous, so no other code can add ops to the graph in between).
 */
export function* fitWork(model: Model, where: string, X: DataInput, y: DataInput, options: FitOptions | undefined): Work<History> {
  const o = parseAttrs(where, FIT_SCHEMA, options);
  checkSignal(where, o.signal, 'before training');
  if (fitting.has(model)) throw new ArgError(`${where}: this model is already being trained by another fit (await it first)`);
  fitting.add(model);
  try {
    return yield* fitLoop(model, where, X, y, o, isRecording());
  } finally {
    fitting.delete(model);
  }
}

const graphBegan = (where: string) => new GraphError(`${where}: a graph began being defined while this fit was training eagerly; await fit before new R.Graph()`);

function* fitLoop(model: Model, where: string, X: DataInput, y: DataInput, o: FitSettings, recording: boolean): Work<History> {
  const data = yield* prepare(model, where, X, y);
  const { X: Xt, y: yt } = data;
  let valData: { X: Tensor; y: Tensor } | null = null;
  const val = o.validation_data ?? model.validation_data;
  if (val) {
    if (!Array.isArray(val) || val.length !== 2) throw new ArgError(`${where}: validation_data must be [X_val, y_val]`);
    valData = yield* prepare(model, where, val[0] as DataInput, val[1] as DataInput, 'validation ');
  }
  const callbacks = o.callbacks as Callback[];
  callbacks.forEach((c, i) => {
    if (c === null || typeof c !== 'object') throw new AttrError(`${where}: callbacks[${i}] must be an object with on_batch_end, on_epoch_end, ... methods, got ${String(c)}`);
  });
  const { n_epochs, batch_size, shuffle } = o;
  const withAccuracy = reportsAccuracy(model, data.out, yt);
  const n = Xt.shape[0]!;
  const nBatches = Math.ceil(n / batch_size);
  if (isRecording() !== recording) throw graphBegan(where); // during the pauses of the data checks
  // Graph mode: the steps are recorded, each batch loss persisted under its seed name.
  const graph = recording ? Graph.current() : null;
  if (graph && callbacks.length) {
    throw new GraphError(`${where}: callbacks need loss values, which a graph has only after R.execute(); fetch the persisted training_loss_epoch_{e}_batch_{b} instead`);
  }
  const out = o.stream ?? process.stdout;
  const progress = o.verbose === 0 ? null : new Progress(o.verbose === 2 ? { write: (s: string) => out.write(s), isTTY: false } : out, n_epochs, nBatches, recording ? 'recorded' : '');
  const seed = shuffle ? resolveSeed(where, o.seed ?? undefined) : 0;
  const history = { epochs: [] as EpochRecord[] } as History;
  const run = function* (name: keyof Callback, ...args: unknown[]): Work<void> {
    for (const c of callbacks) {
      const fn = c[name] as ((...a: unknown[]) => unknown) | undefined;
      if (fn) yield* io(call(() => fn.apply(c, args), () => new ArgError(`${where}: callback ${name} returned a Promise; fit_sync cannot wait for it (use await model.fit(...))`)));
    }
  };

  const pause = timeSlice(SLICE_MS);
  const device = model._device ?? 'cpu';
  model.stop_training = false;
  yield* run('on_train_begin', model);
  for (let epoch = 1; epoch <= n_epochs && !model.stop_training; epoch++) {
    yield* run('on_epoch_begin', epoch, model);
    progress?.epochStart();
    const order = shuffle ? permutation(n, (seed + Math.imul(epoch, 0x9e3779b9)) >>> 0) : null;
    // Graph mode: the epoch's order is one constant, each batch a slice of it gathering rows of the data.
    const orderT = graph && order ? t(Int32Array.from(order)) : null;
    let lossSum = 0;
    let correct = 0;
    for (let b = 0; b < nBatches; b++) {
      const lo = b * batch_size;
      const hi = Math.min(n, lo + batch_size);
      if (graph) {
        tidy(() => {
          const rows = (d: Tensor) => (orderT ? gather(d, slice(orderT, [lo], [hi]), 0) : slice(d, [lo, ...d.shape.slice(1).map(() => 0)], [hi, ...d.shape.slice(1)]));
          recordStep(model, where, graph, rows(Xt), rows(yt), `training_loss_epoch_${epoch}_batch_${b + 1}`);
        });
        progress?.batch(epoch, b + 1, {});
        continue;
      }
      yield* pause();
      checkSignal(where, o.signal, `after ${epoch - 1} epochs and ${b} batches; the model holds the weights of the last completed batch`);
      if (isRecording()) throw graphBegan(where);
      const idx = order ? order.subarray(lo, hi) : Uint32Array.from({ length: hi - lo }, (_, i) => lo + i);
      const Xh = takeRows(Xt, idx);
      const yh = takeRows(yt, idx);
      let r: { loss: number; correct: number };
      let Xb = Xh;
      let yb = yh;
      try {
        Xb = onDevice(Xh, device);
        yb = onDevice(yh, device);
        r = yield* trainStepWork(model, where, Xb, yb, withAccuracy, pause);
      } finally {
        for (const b of [Xh, yh, Xb, yb]) b.dispose(); // the batch goes back to the buffer pool at once
      }
      lossSum += r.loss * (hi - lo);
      correct += r.correct;
      history[`training_loss_epoch_${epoch}_batch_${b + 1}`] = r.loss;
      const logs = withAccuracy ? { loss: r.loss, accuracy: r.correct / (hi - lo) } : { loss: r.loss };
      yield* run('on_batch_end', b + 1, logs, model, epoch);
      progress?.batch(epoch, b + 1, { loss: lossSum / hi, accuracy: withAccuracy ? correct / hi : undefined });
    }
    if (graph) {
      if (valData) tidy(() => graph.persist(lossOverBatches(model, valData.X, valData.y, Math.max(batch_size, 256)), `validation_loss_epoch_${epoch}`));
      progress?.epochEnd(epoch, {});
      continue;
    }
    const logs: EpochRecord = { epoch, loss: lossSum / n };
    if (withAccuracy) logs.accuracy = correct / n;
    if (valData) {
      const e = yield* evaluateBatches(model, valData.X, valData.y, Math.max(batch_size, 256), withAccuracy);
      logs.val_loss = e.loss;
      if (e.accuracy !== undefined) logs.val_accuracy = e.accuracy;
    }
    history.epochs.push(logs);
    progress?.epochEnd(epoch, { loss: logs.loss, accuracy: logs.accuracy, val_loss: logs.val_loss, val_accuracy: logs.val_accuracy });
    yield* run('on_epoch_end', epoch, logs, model);
  }
  yield* run('on_train_end', model);
  return history;
}

// ---- inference ----

/** Inference over X in batches (training = false, no tape), joined into one tensor; pauses between batches. */
export function* predictWork(model: Model, where: string, X: DataInput, options: BatchOptions | undefined, async = false): Work<Tensor> {
  const bs = batchSize(where, options, async);
  const Xt = asTensor(where, 'X', X, model._inputDtype(), false);
  yield* checkNoNaNWork(where, 'X', Xt);
  model._outputShape(where, Xt);
  const device = placeModel(model);
  const n = Xt.shape[0]!;
  // One scope per batch: a batch's intermediates go back to the pool before the next batch runs.
  const run = (batch: () => Tensor) => tidy(() => no_grad(() => model._forward_pass(onDevice(batch(), device), false)));
  if (n <= bs) return run(() => Xt);
  const parts: Tensor[] = [];
  const pause = timeSlice(SLICE_MS);
  try {
    for (let b = 0; b < n; b += bs) {
      if (b > 0 && !isRecording()) yield* pause();
      parts.push(run(() => sliceRows(Xt, b, Math.min(n, b + bs))));
    }
    return concat(parts, 0);
  } finally {
    for (const p of parts) p.dispose();
  }
}

export interface Evaluation {
  loss: number;
  /** For classifiers: the fraction of samples whose argmax matches the target. */
  accuracy?: number;
}

/** evaluate's work: mean loss (and accuracy) on (X, y) without training. */
export function* evaluateWork(model: Model, where: string, X: DataInput, y: DataInput, options: BatchOptions | undefined): Work<Evaluation> {
  needsValues(where, 'persist predict(X) (or a loss you compute from it) and fetch it after R.execute()');
  const bs = batchSize(where, options);
  const d = yield* prepare(model, where, X, y);
  return yield* evaluateBatches(model, d.X, d.y, bs, reportsAccuracy(model, d.out, d.y));
}

/** Mean loss (weighted by batch sizes) and accuracy of the model on (X, y); pauses between batches. */
function* evaluateBatches(model: Model, X: Tensor, y: Tensor, batch_size: number, withAccuracy: boolean): Work<Evaluation> {
  const n = X.shape[0]!;
  let total = 0;
  let correct = 0;
  const pause = timeSlice(SLICE_MS);
  const device = model._device ?? 'cpu';
  for (let b = 0; b < n; b += batch_size) {
    if (b > 0) yield* pause();
    const e = Math.min(n, b + batch_size);
    tidy(() =>
      no_grad(() => {
        const yb = onDevice(sliceRows(y, b, e), device);
        const out = model._forward_pass(onDevice(sliceRows(X, b, e), device), false);
        total += model.loss.fn(yb, out).item() * (e - b);
        if (withAccuracy) correct += countCorrect(out, yb);
      }),
    );
  }
  return withAccuracy ? { loss: total / n, accuracy: correct / n } : { loss: total / n };
}

/** Graph mode: the mean loss over (X, y) in batches, as a recorded value (weighted by batch sizes). */
function lossOverBatches(model: Model, X: Tensor, y: Tensor, batch_size: number): Tensor {
  const n = X.shape[0]!;
  return no_grad(() => {
    let total: Tensor | null = null;
    for (let b = 0; b < n; b += batch_size) {
      const e = Math.min(n, b + batch_size);
      const part = mul(model.loss.fn(sliceRows(y, b, e), model._forward_pass(sliceRows(X, b, e), false)), (e - b) / n);
      total = total ? add(total, part) : part;
    }
    return total ?? full([], NaN);
  });
}

/** Throws GraphError while a graph is being defined: the caller needs values, which exist only after it runs. */
export function needsValues(where: string, instead: string): void {
  if (isRecording()) throw new GraphError(`${where}: needs computed values, which a graph being defined does not have yet; ${instead}`);
}

// ---- weights ----

/** Copies of every parameter and buffer, by name. */
export function getWeights(model: Trainable): Map<string, Float32Array | Int32Array> {
  return new Map(model.state_tensors().map(([k, v]) => [k, v.data()]));
}

export function setWeights(model: Trainable, w: ReadonlyMap<string, Float32Array | Int32Array>): void {
  for (const [k, v] of model.state_tensors()) {
    const src = w.get(k);
    if (!src || src.length !== v.size) throw new ArgError(`set_weights: no value of ${v.size} elements for '${k}'`);
    v._setValues(src);
  }
}

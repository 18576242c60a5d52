// NeuralNetwork: the seed's Sequential model. add() layers, summary(), fit() with a progress
// bar, history, callbacks and validation, predict(), evaluate(), save()/load().
import { ArgError, AttrError, GraphError, ShapeError } from '../../errors.js';
import { sameShape } from '../../ops/shape-rules.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/tensor.js';
import { Layer, type NamedTensors } from '../layers/layer.js';
import { layerFromConfig } from '../layers/registry.js';
import { withStateSource } from '../layers/layer.js';
import '../layers/index.js'; // registers the built-in layers load() rebuilds
import type { Optimizer } from '../optimizers/optimizer.js';
import { takeRows } from '../utils/rows.js';
import { t } from '../../tensor/create.js';
import { gather } from '../../ops/indexing.js';
import { slice } from '../../ops/join.js';
import { permutation, resolveSeed } from '../utils/rng.js';
import { type Callback, type EpochLogs, type TrainingModel } from './callbacks.js';
import { type DataInput, asTensor, checkSameLength, countCorrect, prepareTargets } from './data.js';
import { type Evaluation, backwardPass, checkBatchSize, evaluateBatches, getWeights, lossOverBatches, needsValues, predictBatches, setWeights } from './engine.js';
import { isRecording } from '../../ops/define.js';
import { Graph } from '../../graph/graph.js';
import { type Loss, type LossFn, type LossName, resolveLoss } from './losses.js';
import { CUSTOM_LOSS, FORMAT, type LoadOptions, type ModelJson, VERSION, openModel, paramsOf, sampleOutput, saveModel } from './persist.js';
import { Progress, type ProgressStream } from './progress.js';

export interface NeuralNetworkOptions {
  /** [X_val, y_val], evaluated after every epoch of fit() (fit's own option overrides it). */
  validation_data?: [DataInput, DataInput] | null;
}

export interface FitOptions {
  n_epochs?: number;
  batch_size?: number;
  /** Reshuffle the samples every epoch (seeded by R.manual_seed unless `seed` is given). */
  shuffle?: boolean;
  seed?: number;
  validation_data?: [DataInput, DataInput] | null;
  callbacks?: Callback[];
  /** Progress output: a bar on a terminal, a line per epoch otherwise. Default true. */
  verbose?: boolean;
  /** Where progress goes (default process.stdout). */
  stream?: ProgressStream;
}

export interface EpochRecord extends EpochLogs {
  epoch: number;
}

/** fit()'s result: every batch loss under the seed's names (1-based), and per-epoch logs. */
export type History = { [key: `training_loss_epoch_${number}_batch_${number}`]: number } & { epochs: EpochRecord[] };

export class NeuralNetwork implements TrainingModel {
  readonly layers: Layer[] = [];
  optimizer: Optimizer | null;
  readonly loss: Loss;
  validation_data: [DataInput, DataInput] | null;
  stop_training = false;
  private readonly nameCounts = new Map<string, number>();

  constructor(optimizer: Optimizer, loss: LossName | LossFn = 'SquareLoss', options: NeuralNetworkOptions = {}) {
    if (optimizer == null || typeof (optimizer as Optimizer).step !== 'function') throw new ArgError(`NeuralNetwork: optimizer must be an Optimizer (e.g. new Adam()), got ${String(optimizer)}`);
    this.optimizer = optimizer;
    this.loss = resolveLoss(loss);
    this.validation_data = options.validation_data ?? null;
  }

  /** Appends a layer; it is built at once when the previous layer's output shape is known. */
  add(layer: Layer): this {
    if (!(layer instanceof Layer)) throw new ArgError(`NeuralNetwork.add: expected a layer, got ${Object.prototype.toString.call(layer)}`);
    if (this.layers.includes(layer)) throw new ArgError(`NeuralNetwork.add: ${layer.describe()} was already added`);
    const prev = this.outputShape();
    if (this.layers.length > 0 && prev === null && layer.input_shape) {
      throw new ShapeError(`NeuralNetwork.add: ${layer.layer_name()} has input_shape ${shapeStr(layer.input_shape)} but the layers before it have no known shape (give input_shape to the first layer)`);
    }
    if (!layer.name) {
      const base = layer.defaultName();
      const k = (this.nameCounts.get(base) ?? 0) + 1;
      this.nameCounts.set(base, k);
      layer.name = `${base}_${k}`;
    }
    if (prev) layer.build(prev);
    else if (this.layers.length === 0 && layer.input_shape) layer.build(layer.input_shape);
    this.layers.push(layer);
    if (prev || layer.built) this.shapes.push(layer.output_shape());
    return this;
  }

  /** Output sample shape of each layer, while known. */
  private readonly shapes: number[][] = [];

  private outputShape(): number[] | null {
    return this.shapes.length === this.layers.length && this.shapes.length > 0 ? this.shapes[this.shapes.length - 1]! : null;
  }

  /** Freezes (false) or unfreezes every layer. */
  set_trainable(trainable: boolean): void {
    for (const l of this.layers) l.trainable = trainable;
  }

  parameters(): NamedTensors {
    return this.layers.flatMap((l) => (l.trainable ? l.parameters() : []));
  }

  state_tensors(): NamedTensors {
    return this.layers.flatMap((l) => l.state_tensors());
  }

  get_weights(): Map<string, Float32Array | Int32Array> {
    return getWeights(this);
  }

  set_weights(w: Map<string, Float32Array | Int32Array>): void {
    setWeights(this, w);
  }

  /**
   * The forward pass through every layer. Its intermediates are released when backward() has
   * used them (or at once without a tape), not when the garbage collector runs.
   */
  _forward_pass(X: Tensor, training = true): Tensor {
    if (this.layers.length === 0) throw new ArgError('NeuralNetwork: the model has no layers (add some with model.add)');
    const out = tidy(() => {
      let h = X;
      for (const l of this.layers) h = l._forward_pass(h, training);
      return h;
    });
    this.syncShapes(X);
    return out;
  }

  /** The seed's table: Layer Type, Parameters, Output Shape, then Total Parameters. Printed and returned. */
  summary(name = 'Model Summary', print = true): string {
    const first = this.layers[0];
    if (!first) throw new ArgError('NeuralNetwork.summary: the model has no layers');
    if (!this.outputShape()) {
      throw new ShapeError(`NeuralNetwork.summary: the input shape is not known yet (give input_shape to the first layer, e.g. new Dense(16, { input_shape: [4] }), or call fit first)`);
    }
    const tuple = (s: number[]) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;
    const rows = this.layers.map((l, i) => [l.layer_name(), String(l.parameters_count()), tuple(this.shapes[i]!)]);
    const head = ['Layer Type', 'Parameters', 'Output Shape'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const sep = '+' + w.map((x) => '-'.repeat(x + 2)).join('+') + '+';
    const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(w[i]!)).join(' | ') + ' |';
    const title = `+${'-'.repeat(name.length + 2)}+\n| ${name} |\n+${'-'.repeat(name.length + 2)}+`;
    const total = this.layers.reduce((n, l) => n + l.parameters_count(), 0);
    const text = [title, `Input Shape: ${tuple(first.input_shape!)}`, sep, line(head), sep, ...rows.map(line), sep, `Total Parameters: ${total}`, ''].join('\n');
    if (print) process.stdout.write(text + '\n');
    return text;
  }

  /** One training step on a batch; returns its loss. */
  train_on_batch(X: DataInput, y: DataInput): number {
    needsValues('NeuralNetwork.train_on_batch', 'use fit(), which persists each batch loss');
    const Xt = asTensor('train_on_batch', 'X', X, this.inputDtype());
    const yt = prepareTargets('train_on_batch', y, this.knownOutput(Xt), this.loss.classifier);
    checkSameLength('train_on_batch', Xt, yt);
    return tidy(() => this.step(Xt, yt).loss); // intermediates go back to the buffer pool at once
  }

  /** Loss (and accuracy for classifiers) on a batch without training. */
  test_on_batch(X: DataInput, y: DataInput): Evaluation {
    return this.evaluate(X, y, { batch_size: Number.MAX_SAFE_INTEGER });
  }

  fit(X: DataInput, y: DataInput, options: FitOptions = {}): History {
    const where = 'NeuralNetwork.fit';
    const n_epochs = options.n_epochs ?? 1;
    const batch_size = options.batch_size ?? 32;
    if (!Number.isSafeInteger(n_epochs) || n_epochs < 0) throw new AttrError(`${where}: n_epochs must be a non-negative integer, got ${String(options.n_epochs)}`);
    checkBatchSize(where, batch_size);
    const Xt = asTensor(where, 'X', X, this.inputDtype());
    const out = this.knownOutput(Xt);
    const yt = prepareTargets(where, y, out, this.loss.classifier);
    checkSameLength(where, Xt, yt);
    const val = options.validation_data ?? this.validation_data;
    let valData: [Tensor, Tensor] | null = null;
    if (val) {
      if (!Array.isArray(val) || val.length !== 2) throw new ArgError(`${where}: validation_data must be [X_val, y_val]`);
      const Xv = asTensor(where, 'validation X', val[0], this.inputDtype());
      const yv = prepareTargets(where, val[1], out, this.loss.classifier);
      checkSameLength(`${where} (validation_data)`, Xv, yv);
      valData = [Xv, yv];
    }
    const withAccuracy = this.reportsAccuracy(yt);
    const n = Xt.shape[0]!;
    const nBatches = Math.ceil(n / batch_size);
    const callbacks = options.callbacks ?? [];
    const recording = isRecording();
    const progress = options.verbose === false ? null : new Progress(options.stream ?? process.stdout, n_epochs, nBatches, recording ? 'recorded' : '');
    const shuffle = options.shuffle ?? true;
    const seed = shuffle ? resolveSeed(where, options.seed) : 0;
    const history = { epochs: [] as EpochRecord[] } as History;

    // Graph mode: the steps are recorded, each batch loss persisted under its seed name.
    const graph = recording ? Graph.current() : null;
    if (graph && callbacks.length) {
      throw new GraphError(`${where}: callbacks need loss values, which a graph has only after R.execute(); fetch the persisted training_loss_epoch_{e}_batch_{b} instead`);
    }

    this.stop_training = false;
    for (const c of callbacks) c.on_train_begin?.(this);
    for (let epoch = 1; epoch <= n_epochs && !this.stop_training; epoch++) {
      for (const c of callbacks) c.on_epoch_begin?.(epoch, this);
      progress?.epochStart();
      const order = shuffle ? permutation(n, (seed + Math.imul(epoch, 0x9e3779b9)) >>> 0) : null;
      // Graph mode: the epoch's order is one constant, each batch a slice of it gathering rows of the data.
      const orderT = graph && order ? t(Int32Array.from(order)) : null;
      let lossSum = 0;
      let correct = 0;
      for (let b = 0; b < nBatches; b++) {
        const lo = b * batch_size;
        const hi = Math.min(n, lo + batch_size);
        const idx = order ? order.subarray(lo, hi) : Uint32Array.from({ length: hi - lo }, (_, i) => lo + i);
        if (graph) {
          tidy(() => {
            const rows = (data: Tensor) => (orderT ? gather(data, slice(orderT, [lo], [hi]), 0) : slice(data, [lo, ...data.shape.slice(1).map(() => 0)], [hi, ...data.shape.slice(1)]));
            this.recordStep(graph, rows(Xt), rows(yt), `training_loss_epoch_${epoch}_batch_${b + 1}`);
          });
          progress?.batch(epoch, b + 1, {});
          continue;
        }
        const r = tidy(() => this.step(takeRows(Xt, idx), takeRows(yt, idx), withAccuracy));
        lossSum += r.loss * (hi - lo);
        correct += r.correct;
        history[`training_loss_epoch_${epoch}_batch_${b + 1}`] = r.loss;
        const logs = withAccuracy ? { loss: r.loss, accuracy: r.correct / (hi - lo) } : { loss: r.loss };
        for (const c of callbacks) c.on_batch_end?.(b + 1, logs, this, epoch);
        progress?.batch(epoch, b + 1, { loss: lossSum / hi, accuracy: withAccuracy ? correct / hi : undefined });
      }
      if (graph) {
        if (valData) tidy(() => graph.persist(lossOverBatches(this, this.loss, valData[0], valData[1], Math.max(batch_size, 256)), `validation_loss_epoch_${epoch}`));
        progress?.epochEnd(epoch, {});
        continue;
      }
      const logs: EpochRecord = { epoch, loss: lossSum / n };
      if (withAccuracy) logs.accuracy = correct / n;
      if (valData) {
        const e = evaluateBatches(this, this.loss, valData[0], valData[1], Math.max(batch_size, 256), withAccuracy);
        logs.val_loss = e.loss;
        if (e.accuracy !== undefined) logs.val_accuracy = e.accuracy;
      }
      history.epochs.push(logs);
      progress?.epochEnd(epoch, { loss: logs.loss, accuracy: logs.accuracy, val_loss: logs.val_loss, val_accuracy: logs.val_accuracy });
      for (const c of callbacks) c.on_epoch_end?.(epoch, logs, this);
    }
    for (const c of callbacks) c.on_train_end?.(this);
    return history;
  }

  /** The model's output for X (inference mode: dropout off, batch norm on running statistics). */
  predict(X: DataInput, options: { batch_size?: number } = {}): Tensor {
    const bs = options.batch_size ?? 256;
    checkBatchSize('NeuralNetwork.predict', bs);
    const Xt = asTensor('NeuralNetwork.predict', 'X', X, this.inputDtype());
    this.knownOutput(Xt);
    return predictBatches(this, Xt, bs);
  }

  /** Mean loss on (X, y) and, for classifiers, accuracy. */
  evaluate(X: DataInput, y: DataInput, options: { batch_size?: number } = {}): Evaluation {
    const where = 'NeuralNetwork.evaluate';
    needsValues(where, 'persist predict(X) (or a loss you compute from it) and fetch it after R.execute()');
    const bs = options.batch_size ?? 256;
    checkBatchSize(where, bs);
    const Xt = asTensor(where, 'X', X, this.inputDtype());
    const yt = prepareTargets(where, y, this.knownOutput(Xt), this.loss.classifier);
    checkSameLength(where, Xt, yt);
    return evaluateBatches(this, this.loss, Xt, yt, bs, this.reportsAccuracy(yt));
  }

  /**
   * Writes the model into dir: model.json and its data files (weights, optimizer state). The
   * save is all-or-nothing: a crash leaves the old model or the new one. A custom loss function is
   * recorded as 'custom' and must be passed again to load (it is code).
   */
  save(dir: string): void {
    const json: ModelJson = {
      format: FORMAT,
      version: VERSION,
      model: 'NeuralNetwork',
      loss: this.loss.name ?? CUSTOM_LOSS,
      optimizer: this.optimizer ? this.optimizer.get_config() : null,
      layers: this.layers.map((l) => ({ class: l.layer_name(), name: l.name, config: { ...l.get_config(), input_shape: l.input_shape } })),
    };
    saveModel('NeuralNetwork.save', dir, json, this.state_tensors(), this.optimizer);
  }

  /**
   * A model written by save(dir): same layers, weights and optimizer state. model.json and the
   * weights file's header are checked before any layer is built, and every layer takes its
   * parameters from the file, so nothing is allocated beyond what the file holds.
   */
  static load(dir: string, options: LoadOptions & { loss?: LossName | LossFn; optimizer?: Optimizer } = {}): NeuralNetwork {
    const where = 'NeuralNetwork.load';
    const saved = openModel(where, dir, options);
    const { json } = saved;
    if (json.model !== 'NeuralNetwork' || !json.layers) throw new ArgError(`${where}: ${dir} holds a '${json.model}' model, not a NeuralNetwork`);
    const custom = json.loss === CUSTOM_LOSS || json.loss == null;
    if (custom && options.loss === undefined) throw new ArgError(`${where}: ${dir} was saved with a custom loss function, which is code: pass it again with NeuralNetwork.load(dir, { loss })`);
    const loss = options.loss ?? (json.loss as LossName);
    resolveLoss(loss, where); // a name from the file: checked before anything is built
    const layers = json.layers.map((spec, i) => {
      const layer = layerFromConfig(spec.class, i === 0 ? spec.config : { ...spec.config, input_shape: undefined });
      layer.name = spec.name;
      return layer;
    });
    const input = layers[0]?.input_shape;
    if (!input) throw new ArgError(`${where}: ${dir}: the saved model was never built (no input shape), so it has no weights to load`);
    saved.checkSample('input', input);
    const shapes: number[][] = [];
    withStateSource(saved.weights, () => {
      let s = input;
      for (const l of layers) {
        l.build(s);
        s = sampleOutput(l, s);
        saved.checkSample(`${l.describe()} output`, s);
        shapes.push(s);
      }
    });
    saved.weights.checkAllUsed();
    const optimizer = options.optimizer ?? saved.readOptimizer(paramsOf(layers.flatMap((l) => l.state_tensors())));
    if (!optimizer) throw new ArgError(`${where}: ${dir} has no optimizer; pass one with { optimizer }`);
    const model = new NeuralNetwork(optimizer, loss);
    model.layers.push(...layers);
    model.shapes.push(...shapes);
    return model;
  }

  /** Builds the layers from X's sample shape if needed; returns the output sample shape. */
  private knownOutput(X: Tensor): number[] {
    if (this.layers.length === 0) throw new ArgError('NeuralNetwork: the model has no layers (add some with model.add)');
    const first = this.layers[0]!;
    const sample = X.shape.slice(1);
    if (first.input_shape && !sameShape(first.input_shape, sample)) {
      throw new ShapeError(`NeuralNetwork: X samples have shape ${shapeStr(sample)} but the first layer (${first.describe()}) expects ${shapeStr(first.input_shape)}`);
    }
    if (!this.outputShape()) {
      this.shapes.length = 0;
      let s = sample;
      for (const l of this.layers) {
        l.build(s);
        s = l.output_shape(s);
        this.shapes.push(s);
      }
    }
    return this.outputShape()!;
  }

  private inputDtype() {
    return this.layers[0]?.input_dtype() ?? 'float32';
  }

  private syncShapes(X: Tensor): void {
    if (!this.outputShape() && X.ndim > 0) this.knownOutput(X);
  }

  private reportsAccuracy(y: Tensor): boolean {
    const out = this.outputShape();
    if (!out || out.length !== 1 || out[0]! < 2) return false;
    return this.loss.classifier || (y.ndim === 2 && y.shape[1] === out[0]);
  }

  /** Graph mode: records one training step; its loss is persisted under `name`. */
  private recordStep(graph: Graph, X: Tensor, y: Tensor, name: string): void {
    const loss = this.loss.fn(y, this._forward_pass(X, true));
    graph.persist(loss, name);
    backwardPass(this, 'NeuralNetwork', loss, true);
  }

  private step(X: Tensor, y: Tensor, withAccuracy = false): { loss: number; correct: number } {
    const out = this._forward_pass(X, true);
    const loss = this.loss.fn(y, out);
    const value = loss.item();
    if (!Number.isFinite(value)) throw new ArgError(`NeuralNetwork: the loss became ${value} (lower the learning rate or check the data)`);
    const correct = withAccuracy ? countCorrect(out, y) : 0;
    backwardPass(this, 'NeuralNetwork', loss, true);
    return { loss: value, correct };
  }
}

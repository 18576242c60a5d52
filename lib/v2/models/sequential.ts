// NeuralNetwork: the seed's Sequential model. add() layers, summary(), fit() with a progress
// bar, history, callbacks and validation, predict(), evaluate(), save()/load().
import { moveModel } from './device.js';
import type { Device, DeviceLike } from '../../tensor/device.js';
import { ArgError, ShapeError } from '../../errors.js';
import { sameShape } from '../../ops/shape-rules.js';
import { tidy, tidyWork } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/tensor.js';
import type { DType } from '../../tensor/dtype.js';
import { Layer, type NamedTensors } from '../layers/layer.js';
import { layerFromConfig } from '../layers/registry.js';
import { withStateSource } from '../layers/layer.js';
import '../layers/index.js'; // registers the built-in layers load() rebuilds
import type { Optimizer } from '../optimizers/optimizer.js';
import { type Work, runAsync, runSync } from '../../io/drive.js';
import type { TrainingModel } from './callbacks.js';
import { type DataInput, asTensor, checkSameLength, prepareTargets } from './data.js';
import {
  type BatchOptions,
  type Evaluation,
  type FitOptions,
  type History,
  type Model,
  evaluateWork,
  fitWork,
  getWeights,
  needsValues,
  predictWork,
  setWeights,
  trainStep,
} from './engine.js';
import { type Loss, type LossFn, type LossName, resolveLoss } from './losses.js';
import { CUSTOM_LOSS, FORMAT, type LoadOptions, type ModelJson, VERSION, openModel, paramsOf, sampleOutput, saveWork } from './persist.js';

export type { FitOptions, History, EpochRecord } from './engine.js';

export interface NeuralNetworkLoadOptions extends LoadOptions {
  /** The loss, required when the model was saved with a custom loss function (it is code). */
  loss?: LossName | LossFn;
  /** An optimizer instead of the saved one. */
  optimizer?: Optimizer;
}

export interface NeuralNetworkOptions {
  /** [X_val, y_val], evaluated after every epoch of fit() (fit's own option overrides it). */
  validation_data?: [DataInput, DataInput] | null;
}

export class NeuralNetwork implements TrainingModel, Model {
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

  /** @internal where to() put the model. */
  _device?: Device;

  /**
   * Moves the parameters, buffers and optimizer state to `device` ('cpu', 'cuda', 'cuda:N') in
   * place and returns the model; layers built later (at the first fit or predict) go there too,
   * and fit/evaluate/predict move each batch there. A DeviceError (nothing moved) when the device
   * is unknown or unavailable.
   */
  to(device: DeviceLike): this {
    moveModel('NeuralNetwork.to', this, device);
    return this;
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

  /** @internal _forward_pass as work that calls `pause` between layers (the async fit's steps). */
  *_forwardWork(X: Tensor, training: boolean, pause: () => Work<void>): Work<Tensor> {
    if (this.layers.length === 0) throw new ArgError('NeuralNetwork: the model has no layers (add some with model.add)');
    const layers = this.layers;
    const out = yield* tidyWork((function* () {
      let h = X;
      for (const l of layers) {
        h = l._forward_pass(h, training);
        yield* pause();
      }
      return h;
    })());
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
    const Xt = asTensor('train_on_batch', 'X', X, this._inputDtype());
    const yt = prepareTargets('train_on_batch', y, this._outputShape('train_on_batch', Xt), this.loss.classifier);
    checkSameLength('train_on_batch', Xt, yt);
    return tidy(() => trainStep(this, 'NeuralNetwork', Xt, yt).loss); // intermediates go back to the buffer pool at once
  }

  /** Loss (and accuracy for classifiers) on a batch without training. */
  test_on_batch(X: DataInput, y: DataInput): Evaluation {
    return this.evaluate_sync(X, y, { batch_size: Number.MAX_SAFE_INTEGER });
  }

  /**
   * Trains on (X, y) for n_epochs; resolves with the history. Between batches it yields to the
   * event loop, awaits async callbacks and checks options.signal. While a graph is being defined
   * it records every step at once (the returned Promise is already settled).
   */
  fit(X: DataInput, y: DataInput, options?: FitOptions): Promise<History> {
    return runAsync(fitWork(this, 'NeuralNetwork.fit', X, y, options));
  }

  /** fit, holding the thread until training ends (scripts, tests; async callbacks are an error). */
  fit_sync(X: DataInput, y: DataInput, options?: FitOptions): History {
    return runSync(fitWork(this, 'NeuralNetwork.fit_sync', X, y, options));
  }

  /** The model's output for X (inference mode: dropout off, batch norm on running statistics); synchronous. */
  predict(X: DataInput, options?: BatchOptions): Tensor {
    return runSync(predictWork(this, 'NeuralNetwork.predict', X, options));
  }

  /** predict for large inputs: yields to the event loop between batches (default batch_size 64; same values as predict). */
  predict_async(X: DataInput, options?: BatchOptions): Promise<Tensor> {
    return runAsync(predictWork(this, 'NeuralNetwork.predict_async', X, options, true));
  }

  /** Mean loss on (X, y) and, for classifiers, accuracy; yields to the event loop between batches. */
  evaluate(X: DataInput, y: DataInput, options?: BatchOptions): Promise<Evaluation> {
    return runAsync(evaluateWork(this, 'NeuralNetwork.evaluate', X, y, options));
  }

  evaluate_sync(X: DataInput, y: DataInput, options?: BatchOptions): Evaluation {
    return runSync(evaluateWork(this, 'NeuralNetwork.evaluate_sync', X, y, options));
  }

  /**
   * Writes the model into dir: model.json and its data files (weights, optimizer state). The
   * save is all-or-nothing: a crash leaves the old model or the new one. The weights are those
   * of the moment save is called. A custom loss function is recorded as 'custom' and must be
   * passed again to load (it is code).
   */
  save(dir: string): Promise<void> {
    return runAsync(this.saveWork('NeuralNetwork.save', dir));
  }

  /** save with synchronous file calls. */
  save_sync(dir: string): void {
    runSync(this.saveWork('NeuralNetwork.save_sync', dir));
  }

  private saveWork(where: string, dir: string): Work<void> {
    const json: ModelJson = {
      format: FORMAT,
      version: VERSION,
      model: 'NeuralNetwork',
      loss: this.loss.name ?? CUSTOM_LOSS,
      optimizer: this.optimizer ? this.optimizer.get_config() : null,
      layers: this.layers.map((l) => ({ class: l.layer_name(), name: l.name, config: { ...l.get_config(), input_shape: l.input_shape } })),
    };
    return saveWork(where, dir, json, this.state_tensors(), this.optimizer);
  }

  /**
   * A model written by save(dir): same layers, weights and optimizer state. model.json and the
   * weights file's header are checked before any layer is built, and every layer takes its
   * parameters from the file, so nothing is allocated beyond what the file holds.
   */
  static load(dir: string, options?: NeuralNetworkLoadOptions): Promise<NeuralNetwork> {
    return runAsync(NeuralNetwork.loadWork('NeuralNetwork.load', dir, options));
  }

  /** load with synchronous file calls. */
  static load_sync(dir: string, options?: NeuralNetworkLoadOptions): NeuralNetwork {
    return runSync(NeuralNetwork.loadWork('NeuralNetwork.load_sync', dir, options));
  }

  private static *loadWork(where: string, dir: string, options: NeuralNetworkLoadOptions = {}): Work<NeuralNetwork> {
    const saved = yield* openModel(where, dir, options);
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
    const optimizer = options.optimizer ?? (yield* saved.readOptimizer(paramsOf(layers.flatMap((l) => l.state_tensors()))));
    if (!optimizer) throw new ArgError(`${where}: ${dir} has no optimizer; pass one with { optimizer }`);
    const model = new NeuralNetwork(optimizer, loss);
    model.layers.push(...layers);
    model.shapes.push(...shapes);
    return model;
  }

  /** @internal Builds the layers from X's sample shape if needed; returns the output sample shape. */
  _outputShape(_where: string, X: Tensor): number[] {
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

  /** @internal */
  _inputDtype(): DType {
    return this.layers[0]?.input_dtype() ?? 'float32';
  }

  private syncShapes(X: Tensor): void {
    if (!this.outputShape() && X.ndim > 0) this._outputShape('NeuralNetwork', X);
  }
}

// Functional: the seed's custom model class. A subclass composes layers in its constructor,
// calls initialize_params(optimizer), and defines _forward_pass_call(input, training); the
// training loop calls _forward_pass(x) and _backward_pass(loss) (step=false accumulates gradients).
import { moveModel } from './device.js';
import type { Device, DeviceLike } from '../../tensor/device.js';
import { ArgError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { DType } from '../../tensor/dtype.js';
import { CustomLayer } from '../layers/custom.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import type { TrainingModel } from './callbacks.js';
import type { DataInput } from './data.js';
import {
  type BatchOptions,
  type Evaluation,
  type FitOptions,
  type History,
  type Model,
  backwardPass,
  evaluateWork,
  fitWork,
  getWeights,
  predictWork,
  setWeights,
} from './engine.js';
import { type Loss, type LossFn, type LossName, resolveLoss } from './losses.js';
import { zeros } from '../../ops/creation.js';
import { no_grad } from '../../autograd/mode.js';
import { tidy } from '../../tensor/scope.js';
import { withStateSource } from '../layers/layer.js';
import { sliceRows } from '../utils/rows.js';
import { type Work, runAsync, runSync } from '../../io/drive.js';
import { CUSTOM_LOSS, FORMAT, type LoadOptions, VERSION, openModel, ownedState, paramsOf, saveWork } from './persist.js';

export abstract class Functional extends CustomLayer implements TrainingModel, Model {
  optimizer: Optimizer | null = null;
  /** The loss fit and evaluate use (initialize_params' second argument; default 'SquareLoss'). */
  loss: Loss = resolveLoss('SquareLoss');
  stop_training = false;
  /** Output sample shape by input sample shape, found once by a one-sample forward pass. */
  private probed: { input: string; output: number[] } | null = null;

  /**
   * Sets the optimizer that _backward_pass and fit step, and the loss fit and evaluate use (call
   * it at the end of the constructor, as the seed does).
   */
  initialize_params(optimizer: Optimizer, loss: LossName | LossFn = 'SquareLoss'): void {
    if (optimizer == null || typeof (optimizer as Optimizer).step !== 'function') throw new ArgError(`${this.layer_name()}.initialize_params: expected an Optimizer (e.g. new Adam()), got ${String(optimizer)}`);
    this.optimizer = optimizer;
    this.loss = resolveLoss(loss, `${this.layer_name()}.initialize_params`);
  }

  /**
   * The forward pass (_forward_pass_call). Tensors it creates other than its result are released
   * when backward() has used them (or at once without a tape), not when the garbage collector
   * runs: keep() one to hold it longer.
   */
  override _forward_pass(x: Tensor, training = true): Tensor {
    return tidy(() => super._forward_pass(x, training));
  }

  /** Backpropagates loss; with step (default) updates the parameters and clears their gradients. */
  _backward_pass(loss: Tensor, step = true): void {
    backwardPass(this, `${this.layer_name()}._backward_pass`, loss, step);
  }

  /** Trains on (X, y) as NeuralNetwork.fit does (same options, history, callbacks, signal). */
  fit(X: DataInput, y: DataInput, options?: FitOptions): Promise<History> {
    return runAsync(fitWork(this, `${this.layer_name()}.fit`, X, y, options));
  }

  fit_sync(X: DataInput, y: DataInput, options?: FitOptions): History {
    return runSync(fitWork(this, `${this.layer_name()}.fit_sync`, X, y, options));
  }

  /** Inference (training = false, no tape) over X in batches; synchronous. */
  predict(X: DataInput, options?: BatchOptions): Tensor {
    return runSync(predictWork(this, `${this.layer_name()}.predict`, X, options));
  }

  /** predict for large inputs: yields to the event loop between batches (default batch_size 64; same values as predict). */
  predict_async(X: DataInput, options?: BatchOptions): Promise<Tensor> {
    return runAsync(predictWork(this, `${this.layer_name()}.predict_async`, X, options, true));
  }

  /** Mean loss (and accuracy for classifiers) on (X, y); yields to the event loop between batches. */
  evaluate(X: DataInput, y: DataInput, options?: BatchOptions): Promise<Evaluation> {
    return runAsync(evaluateWork(this, `${this.layer_name()}.evaluate`, X, y, options));
  }

  evaluate_sync(X: DataInput, y: DataInput, options?: BatchOptions): Evaluation {
    return runSync(evaluateWork(this, `${this.layer_name()}.evaluate_sync`, X, y, options));
  }

  /** @internal */
  _inputDtype(): DType {
    return this.input_dtype();
  }

  /** @internal The output sample shape, from a one-sample forward pass in inference mode (which also builds the layers). */
  _outputShape(_where: string, X: Tensor): number[] {
    const input = X.shape.slice(1).join(',');
    if (this.probed?.input !== input) {
      const output = tidy(() => no_grad(() => this._forward_pass(sliceRows(X, 0, 1), false).shape.slice(1)));
      this.probed = { input, output };
    }
    return this.probed.output.slice();
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
    moveModel('Functional.to', this, device);
    return this;
  }

  get_weights(): Map<string, Float32Array | Int32Array> {
    return getWeights(this);
  }

  set_weights(w: Map<string, Float32Array | Int32Array>): void {
    setWeights(this, w);
  }

  /**
   * Writes weights, optimizer state and the input shape into dir, all-or-nothing (the class itself
   * is code: load into a new instance).
   */
  save(dir: string): Promise<void> {
    return runAsync(this.saveWork(`${this.layer_name()}.save`, dir));
  }

  /** save with synchronous file calls. */
  save_sync(dir: string): void {
    runSync(this.saveWork(`${this.layer_name()}.save_sync`, dir));
  }

  private saveWork(where: string, dir: string): Work<void> {
    if (!this.built || !this.input_shape) throw new ArgError(`${where}: run the model on a batch first, so its layers exist`);
    return saveWork(
      where,
      dir,
      { format: FORMAT, version: VERSION, model: this.layer_name(), loss: this.loss.name ?? CUSTOM_LOSS, optimizer: this.optimizer?.get_config() ?? null, input_shape: this.input_shape, input_dtype: this.input_dtype() },
      this.state_tensors(),
      this.optimizer,
    );
  }

  /**
   * Loads what save(dir) wrote into this instance (same class). An unbuilt model builds its
   * layers with their parameters taken from the file; a built one has every value checked
   * before any is replaced.
   */
  load(dir: string, options?: LoadOptions & { optimizer?: Optimizer }): Promise<this> {
    return runAsync(this.loadWork(`${this.layer_name()}.load`, dir, options));
  }

  /** load with synchronous file calls. */
  load_sync(dir: string, options?: LoadOptions & { optimizer?: Optimizer }): this {
    return runSync(this.loadWork(`${this.layer_name()}.load_sync`, dir, options));
  }

  private *loadWork(where: string, dir: string, options: LoadOptions & { optimizer?: Optimizer } = {}): Work<this> {
    const saved = yield* openModel(where, dir, options);
    const { json } = saved;
    if (json.model !== this.layer_name()) throw new ArgError(`${where}: ${dir} holds a '${json.model}' model`);
    let copy: Array<readonly [Tensor, Tensor]> = [];
    if (!this.built) {
      const shape = json.input_shape;
      if (!shape) throw new ArgError(`${where}: ${dir}: the saved model has no input shape, so its layers cannot be built`);
      withStateSource(saved.weights, () => tidy(() => no_grad(() => void this._forward_pass(zeros([1, ...shape], { dtype: this.input_dtype() }), false))));
    } else {
      copy = ownedState(this).map(([owner, name, target]) => [target, saved.weights.take(owner, name, target.shape)] as const);
    }
    saved.weights.checkAllUsed();
    const opt = options.optimizer ?? (yield* saved.readOptimizer(paramsOf(this.state_tensors())));
    for (const [target, v] of copy) target._copyFrom(v);
    if (opt) this.optimizer = opt;
    return this;
  }
}

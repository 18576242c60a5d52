// Functional: the seed's custom model class. A subclass composes layers in its constructor,
// calls initialize_params(optimizer), and defines _forward_pass_call(input, training); the
// training loop calls _forward_pass(x) and _backward_pass(loss) (step=false accumulates gradients).
import { ArgError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { CustomLayer } from '../layers/custom.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import type { TrainingModel } from './callbacks.js';
import { type DataInput, asTensor } from './data.js';
import { backwardPass, checkBatchSize, getWeights, predictBatches, setWeights } from './engine.js';
import { zeros } from '../../ops/creation.js';
import { no_grad } from '../../autograd/mode.js';
import { tidy } from '../../tensor/scope.js';
import { withStateSource } from '../layers/layer.js';
import { FORMAT, type LoadOptions, VERSION, openModel, ownedState, paramsOf, saveModel } from './persist.js';

export abstract class Functional extends CustomLayer implements TrainingModel {
  optimizer: Optimizer | null = null;
  stop_training = false;

  /** Sets the optimizer that _backward_pass steps (call it at the end of the constructor, as the seed does). */
  initialize_params(optimizer: Optimizer): void {
    if (optimizer == null || typeof (optimizer as Optimizer).step !== 'function') throw new ArgError(`${this.layer_name()}.initialize_params: expected an Optimizer (e.g. new Adam()), got ${String(optimizer)}`);
    this.optimizer = optimizer;
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

  /** Inference (training = false, no tape) over X in batches. */
  predict(X: DataInput, options: { batch_size?: number } = {}): Tensor {
    const where = `${this.layer_name()}.predict`;
    const bs = options.batch_size ?? 256;
    checkBatchSize(where, bs);
    return predictBatches(this, asTensor(where, 'X', X, this.input_dtype()), bs);
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
  save(dir: string): void {
    const where = `${this.layer_name()}.save`;
    if (!this.built || !this.input_shape) throw new ArgError(`${where}: run the model on a batch first, so its layers exist`);
    saveModel(
      where,
      dir,
      { format: FORMAT, version: VERSION, model: this.layer_name(), loss: null, optimizer: this.optimizer?.get_config() ?? null, input_shape: this.input_shape, input_dtype: this.input_dtype() },
      this.state_tensors(),
      this.optimizer,
    );
  }

  /**
   * Loads what save(dir) wrote into this instance (same class). An unbuilt model builds its
   * layers with their parameters taken from the file; a built one has every value checked
   * before any is replaced.
   */
  load(dir: string, options: LoadOptions & { optimizer?: Optimizer } = {}): this {
    const where = `${this.layer_name()}.load`;
    const saved = openModel(where, dir, options);
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
    const opt = options.optimizer ?? saved.readOptimizer(paramsOf(this.state_tensors()));
    for (const [target, v] of copy) (target._data as Float32Array).set(v._data as Float32Array);
    if (opt) this.optimizer = opt;
    return this;
  }
}

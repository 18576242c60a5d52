// BatchNormalization1D / BatchNormalization2D: batch normalization over channel dim 1, with
// running statistics kept in the buffers running_mean / running_var and gamma / beta parameters.
import { AttrError, ShapeError } from '../../errors.js';
import { type Tensor, shapeStr } from '../../tensor/tensor.js';
import { batch_norm_with_stats } from '../../ops/norm.js';
import { ones, zeros } from '../../ops/creation.js';
import { any, bool, num, parseAttrs } from '../../ops/attrs.js';
import { LAYER_OPTIONS, Layer, type LayerOptions } from './layer.js';

export interface BatchNormalizationOptions extends LayerOptions {
  /**
   * Keras meaning (the seed's default 0.99 implies it): running = momentum * running +
   * (1 - momentum) * batch. PyTorch's momentum is the opposite weight (1 - this); the original
   * RavDL passed 0.99 straight to torch, where it made the running stats nearly the last batch's.
   */
  momentum?: number;
  epsilon?: number;
  /** Learn gamma (scale, init 1) and beta (shift, init 0). */
  affine?: boolean;
  initial_gamma?: unknown;
  initial_beta?: unknown;
  initial_running_mean?: unknown;
  initial_running_var?: unknown;
}

const schema = {
  ...LAYER_OPTIONS,
  momentum: { check: num({ min: 0, max: 1 }), default: 0.99 },
  epsilon: { check: num({ gt: 0 }), default: 0.01 },
  affine: { check: bool, default: true },
  initial_gamma: { check: any, default: undefined as unknown },
  initial_beta: { check: any, default: undefined as unknown },
  initial_running_mean: { check: any, default: undefined as unknown },
  initial_running_var: { check: any, default: undefined as unknown },
};

abstract class BatchNormalizationBase extends Layer {
  readonly momentum: number;
  readonly epsilon: number;
  readonly affine: boolean;
  private readonly initial: Record<'gamma' | 'beta' | 'running_mean' | 'running_var', unknown>;

  constructor(name: string, options: BatchNormalizationOptions) {
    super(options, schema);
    const o = parseAttrs(name, schema, options);
    this.momentum = o.momentum;
    this.epsilon = o.epsilon;
    this.affine = o.affine;
    this.initial = { gamma: o.initial_gamma, beta: o.initial_beta, running_mean: o.initial_running_mean, running_var: o.initial_running_var };
  }

  /** Channels of a sample shape (throws a ShapeError for a wrong rank). */
  protected abstract channels(input_shape: number[]): number;

  protected _build(input_shape: number[]): void {
    const c = this.channels(input_shape);
    if (this.affine) {
      this.addParam('gamma', [c], this.initial.gamma, () => ones([c]));
      this.addParam('beta', [c], this.initial.beta, () => zeros([c]));
    }
    this.addBuffer('running_mean', [c], this.initial.running_mean, () => zeros([c]));
    this.addBuffer('running_var', [c], this.initial.running_var, () => ones([c]));
  }

  protected forward(x: Tensor, training: boolean): Tensor {
    const rm = this.buffers.get('running_mean')!;
    const rv = this.buffers.get('running_var')!;
    const out = batch_norm_with_stats(x, rm, rv, this.params.get('gamma') ?? null, this.params.get('beta') ?? null, {
      training,
      momentum: 1 - this.momentum, // torch's weight of the batch statistic (see BatchNormalizationOptions.momentum)
      eps: this.epsilon,
    });
    if (training) {
      // The op is pure (returns new stats); the layer's state is the buffers, updated in place.
      rm._assign(out.running_mean!);
      rv._assign(out.running_var!);
    }
    return out.y;
  }

  protected optionsConfig(): Record<string, unknown> {
    return { momentum: this.momentum, epsilon: this.epsilon, affine: this.affine, input_shape: this.input_shape };
  }
}

/** Batch normalization of (N, C) or (N, C, L); C is taken from the first input. */
export class BatchNormalization1D extends BatchNormalizationBase {
  constructor(options: BatchNormalizationOptions = {}) {
    super('BatchNormalization1D', options);
  }

  get_config(): Record<string, unknown> {
    return this.optionsConfig();
  }

  protected channels(input_shape: number[]): number {
    if (input_shape.length !== 1 && input_shape.length !== 2) {
      throw new ShapeError(`${this.describe()}: input must be (N, C) or (N, C, L), got samples of shape ${shapeStr(input_shape)}`);
    }
    return input_shape[0]!;
  }
}

/** Batch normalization of (N, C, H, W) with C = num_features. */
export class BatchNormalization2D extends BatchNormalizationBase {
  readonly num_features: number;

  constructor(num_features: number, options: BatchNormalizationOptions = {}) {
    super('BatchNormalization2D', options);
    if (!Number.isSafeInteger(num_features) || num_features <= 0) throw new AttrError(`BatchNormalization2D: num_features must be a positive integer, got ${String(num_features)}`);
    this.num_features = num_features;
  }

  get_config(): Record<string, unknown> {
    return { num_features: this.num_features, ...this.optionsConfig() };
  }

  protected channels(input_shape: number[]): number {
    if (input_shape.length !== 3) throw new ShapeError(`${this.describe()}: input must be (N, C, H, W), got samples of shape ${shapeStr(input_shape)}`);
    if (input_shape[0] !== this.num_features) {
      throw new ShapeError(`${this.describe()}: num_features is ${this.num_features} but the input has ${input_shape[0]} channels (samples of shape ${shapeStr(input_shape)})`);
    }
    return this.num_features;
  }
}

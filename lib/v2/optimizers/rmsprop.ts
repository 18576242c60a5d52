// RMSprop (torch 1.13 update rule) on the native fused rmsprop_step kernel.
import type { Tensor } from '../../tensor/tensor.js';
import { rmspropUpdateOp } from '../../ops/optim.js';
import { type AttrSchema, bool, num, parseAttrs } from '../../ops/attrs.js';
import { Optimizer, type UpdateCall, nonNegative } from './optimizer.js';

export interface RMSpropOptions {
  /** Learning rate (default 1e-2). */
  lr?: number;
  /** Smoothing constant of the squared-gradient average, in [0, 1] (default 0.99). */
  alpha?: number;
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps?: number;
  /** L2 penalty (default 0). */
  weight_decay?: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Normalise by the estimated variance of the gradient instead of its second moment (default false). */
  centered?: boolean;
}

type RMSpropConfig = Required<RMSpropOptions>;
const schema: AttrSchema<RMSpropConfig> = {
  lr: { check: nonNegative, default: 1e-2 },
  alpha: { check: num({ min: 0, max: 1 }), default: 0.99 },
  eps: { check: nonNegative, default: 1e-8 },
  weight_decay: { check: nonNegative, default: 0 },
  momentum: { check: nonNegative, default: 0 },
  centered: { check: bool, default: false },
};

export class RMSprop extends Optimizer {
  readonly alpha: number;
  readonly eps: number;
  readonly weight_decay: number;
  readonly momentum: number;
  readonly centered: boolean;

  constructor(options?: RMSpropOptions) {
    const o = parseAttrs('RMSprop', schema, options);
    super('RMSprop', o.lr);
    ({ alpha: this.alpha, eps: this.eps, weight_decay: this.weight_decay, momentum: this.momentum, centered: this.centered } = o);
  }

  protected stateNames(): readonly string[] {
    const names = ['square_avg'];
    if (this.momentum > 0) names.push('momentum_buffer');
    if (this.centered) names.push('grad_avg');
    return names;
  }

  protected update(param: Tensor, grad: Tensor, b: Record<string, Tensor>): UpdateCall {
    const { lr, alpha, eps, weight_decay, momentum, centered } = this;
    const inputs = [param, grad, b.square_avg!, b.momentum_buffer ?? null, b.grad_avg ?? null];
    return { op: rmspropUpdateOp, inputs, attrs: { lr, alpha, eps, weight_decay, momentum, centered } };
  }

  get_config(): { name: string; config: Record<string, unknown> } {
    const { lr, alpha, eps, weight_decay, momentum, centered } = this;
    return { name: this.name, config: { lr, alpha, eps, weight_decay, momentum, centered } };
  }
}

// RMSprop (torch 1.13 update rule) on the native fused rmsprop_step kernel.
import { native } from '../../native/load.js';
import { Optimizer, checkBool, checkNumber, checkOptionNames } from './optimizer.js';

const N = native();

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

const KEYS = ['lr', 'alpha', 'eps', 'weight_decay', 'momentum', 'centered'] as const;

export class RMSprop extends Optimizer {
  readonly alpha: number;
  readonly eps: number;
  readonly weight_decay: number;
  readonly momentum: number;
  readonly centered: boolean;

  constructor(options?: RMSpropOptions) {
    const o = checkOptionNames('RMSprop', options, KEYS);
    super('RMSprop', checkNumber('RMSprop', 'lr', o.lr ?? 1e-2, 0));
    this.alpha = checkNumber('RMSprop', 'alpha', o.alpha ?? 0.99, 0, 1);
    this.eps = checkNumber('RMSprop', 'eps', o.eps ?? 1e-8, 0);
    this.weight_decay = checkNumber('RMSprop', 'weight_decay', o.weight_decay ?? 0, 0);
    this.momentum = checkNumber('RMSprop', 'momentum', o.momentum ?? 0, 0);
    this.centered = checkBool('RMSprop', 'centered', o.centered ?? false);
  }

  protected stateNames(): readonly string[] {
    const names = ['square_avg'];
    if (this.momentum > 0) names.push('momentum_buffer');
    if (this.centered) names.push('grad_avg');
    return names;
  }

  protected update(param: Float32Array, grad: Float32Array, b: Record<string, Float32Array>): void {
    N.rmsprop_step(param, grad, b.square_avg!, b.momentum_buffer ?? null, b.grad_avg ?? null, {
      lr: this.lr,
      alpha: this.alpha,
      eps: this.eps,
      weight_decay: this.weight_decay,
      momentum: this.momentum,
      centered: this.centered,
    });
  }

  get_config(): { name: string; config: Record<string, unknown> } {
    const { lr, alpha, eps, weight_decay, momentum, centered } = this;
    return { name: this.name, config: { lr, alpha, eps, weight_decay, momentum, centered } };
  }
}

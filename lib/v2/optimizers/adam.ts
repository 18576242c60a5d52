// Adam and AdamW (torch 1.13 update rules) on the native fused adam_step kernel.
import type { Tensor } from '../../tensor/tensor.js';
import { adamUpdateOp } from '../../ops/optim.js';
import { type AttrCheck, type AttrSchema, bool, num, parseAttrs } from '../../ops/attrs.js';
import { Optimizer, type UpdateCall, nonNegative } from './optimizer.js';

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Running-average coefficients of the gradient and its square, each in [0, 1) (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weight_decay?: number;
  /** The AMSGrad variant: divides by the running max of the second moment (default false). */
  amsgrad?: boolean;
}

interface AdamConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  amsgrad: boolean;
}

const beta = num({ min: 0, lt: 1, finite: true });
const betas: AttrCheck<[number, number]> = (v, bad) => {
  const what = 'a pair [beta1, beta2] of numbers >= 0 < 1';
  if (!Array.isArray(v) || v.length !== 2) return bad(what);
  return [beta(v[0], () => bad(what)), beta(v[1], () => bad(what))];
};

function parse(opt: string, options: AdamOptions | undefined, defaultDecay: number): AdamConfig {
  const schema: AttrSchema<AdamConfig> = {
    lr: { check: nonNegative, default: 1e-3 },
    betas: { check: betas, default: [0.9, 0.999] },
    eps: { check: nonNegative, default: 1e-8 },
    weight_decay: { check: nonNegative, default: defaultDecay },
    amsgrad: { check: bool, default: false },
  };
  return parseAttrs(opt, schema, options);
}

/** Shared body of Adam and AdamW; they differ in how weight decay is applied and its default. */
abstract class AdamBase extends Optimizer {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weight_decay: number;
  readonly amsgrad: boolean;
  private readonly decoupled: boolean;

  protected constructor(name: string, c: AdamConfig, decoupled: boolean) {
    super(name, c.lr);
    this.betas = c.betas;
    this.eps = c.eps;
    this.weight_decay = c.weight_decay;
    this.amsgrad = c.amsgrad;
    this.decoupled = decoupled;
  }

  protected stateNames(): readonly string[] {
    return this.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
  }

  protected update(param: Tensor, grad: Tensor, b: Record<string, Tensor>, step: number): UpdateCall {
    const attrs = {
      lr: this.lr,
      beta1: this.betas[0],
      beta2: this.betas[1],
      eps: this.eps,
      weight_decay: this.weight_decay,
      amsgrad: this.amsgrad,
      decoupled_weight_decay: this.decoupled,
      step,
    };
    return { op: adamUpdateOp, inputs: [param, grad, b.exp_avg!, b.exp_avg_sq!, b.max_exp_avg_sq ?? null], attrs };
  }

  get_config(): { name: string; config: Record<string, unknown> } {
    const config = { lr: this.lr, betas: [...this.betas], eps: this.eps, weight_decay: this.weight_decay, amsgrad: this.amsgrad };
    return { name: this.name, config };
  }
}

/** Adam (weight_decay is an L2 term added to the gradient). `new Adam({ lr: 0.01 })`. */
export class Adam extends AdamBase {
  constructor(options?: AdamOptions) {
    super('Adam', parse('Adam', options, 0), false);
  }
}

/** AdamW: decoupled weight decay (param *= 1 - lr * weight_decay), default weight_decay 1e-2. */
export class AdamW extends AdamBase {
  constructor(options?: AdamOptions) {
    super('AdamW', parse('AdamW', options, 1e-2), true);
  }
}

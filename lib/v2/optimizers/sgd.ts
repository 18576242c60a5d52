// SGD with momentum / dampening / Nesterov (torch 1.13 update rule) on the native sgd_step kernel.
import { AttrError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { sgdUpdateOp } from '../../ops/optim.js';
import { type AttrSchema, bool, num, parseAttrs } from '../../ops/attrs.js';
import { Optimizer, type UpdateCall, nonNegative } from './optimizer.js';

export interface SGDOptions {
  /** Learning rate (default 1e-2). */
  lr?: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Dampening of the momentum, in [0, 1] (default 0). */
  dampening?: number;
  /** L2 penalty (default 0). */
  weight_decay?: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0 (default false). */
  nesterov?: boolean;
}

type SGDConfig = Required<SGDOptions>;
const schema: AttrSchema<SGDConfig> = {
  lr: { check: nonNegative, default: 1e-2 },
  momentum: { check: nonNegative, default: 0 },
  dampening: { check: num({ min: 0, max: 1 }), default: 0 },
  weight_decay: { check: nonNegative, default: 0 },
  nesterov: { check: bool, default: false },
};

export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly weight_decay: number;
  readonly nesterov: boolean;

  constructor(options?: SGDOptions) {
    const o = parseAttrs('SGD', schema, options);
    super('SGD', o.lr);
    ({ momentum: this.momentum, dampening: this.dampening, weight_decay: this.weight_decay, nesterov: this.nesterov } = o);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new AttrError(`SGD: option 'nesterov' = true needs momentum > 0 and dampening = 0, got momentum ${this.momentum}, dampening ${this.dampening}`);
    }
  }

  protected stateNames(): readonly string[] {
    return this.momentum > 0 ? ['momentum_buffer'] : [];
  }

  protected update(param: Tensor, grad: Tensor, b: Record<string, Tensor>, step: number): UpdateCall {
    const { lr, momentum, dampening, weight_decay, nesterov } = this;
    return { op: sgdUpdateOp, inputs: [param, grad, b.momentum_buffer ?? null], attrs: { lr, momentum, dampening, weight_decay, nesterov, step } };
  }

  get_config(): { name: string; config: Record<string, unknown> } {
    const { lr, momentum, dampening, weight_decay, nesterov } = this;
    return { name: this.name, config: { lr, momentum, dampening, weight_decay, nesterov } };
  }
}

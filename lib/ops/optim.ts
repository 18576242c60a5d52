// Optimizer updates as pure ops: (param, grad, state...) in, (param', state'...) out, on the native
// fused kernels (torch 1.13 update rules). A recorded training step is therefore data flow only;
// eager optimizers run the same ops in place (dispatchInPlace), so both give the same bits.
import { AttrError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { type AttrSchema, bool, int, num } from './attrs.js';
import { type OutMeta, defineOp } from './define.js';
import { expectShape } from './nn-common.js';

const hyper = num({ min: 0, finite: true });

/** Every present input has the param's shape; one float32 output per param/state input. */
function sameAsParam(op: string, names: string[], inputs: (Tensor | null)[], outputsFor: number[]): OutMeta[] {
  const p = inputs[0]!;
  inputs.forEach((t, i) => t && i > 0 && expectShape(op, names[i]!, t.shape, p.shape, 'param'));
  return outputsFor.filter((i) => inputs[i]).map(() => ({ shape: p.shape, dtype: 'float32', differentiable: false }));
}

interface AdamUpdateAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
  amsgrad: boolean;
  decoupled_weight_decay: boolean;
  step: number;
}
const adamSchema: AttrSchema<AdamUpdateAttrs> = {
  lr: { check: hyper, default: 1e-3 },
  beta1: { check: num({ min: 0, lt: 1 }), default: 0.9 },
  beta2: { check: num({ min: 0, lt: 1 }), default: 0.999 },
  eps: { check: hyper, default: 1e-8 },
  weight_decay: { check: hyper, default: 0 },
  amsgrad: { check: bool, default: false },
  decoupled_weight_decay: { check: bool, default: false },
  step: { check: int({ min: 1 }), default: 1 },
};
const ADAM_INPUTS = ['param', 'grad', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'];
export const adamUpdateOp = defineOp<AdamUpdateAttrs>({
  name: 'adam_update',
  doc: 'one Adam/AdamW step (step = 1-based update count): (param, grad, exp_avg, exp_avg_sq[, max_exp_avg_sq]) -> (param, exp_avg, exp_avg_sq[, max_exp_avg_sq])',
  inputs: ADAM_INPUTS.map((name) => ({ name, optional: name === 'max_exp_avg_sq' })),
  attrs: adamSchema,
  inplace: [[0, 0], [1, 2], [2, 3], [3, 4]],
  infer: (inputs, a) => {
    if (a.amsgrad !== (inputs[4] != null)) throw new AttrError(`adam_update: max_exp_avg_sq must be given exactly when amsgrad is set (amsgrad ${a.amsgrad})`);
    return sameAsParam('adam_update', ADAM_INPUTS, inputs, [0, 2, 3, 4]);
  },
});

interface RmspropUpdateAttrs {
  lr: number;
  alpha: number;
  eps: number;
  weight_decay: number;
  momentum: number;
  centered: boolean;
}
const RMS_INPUTS = ['param', 'grad', 'square_avg', 'momentum_buffer', 'grad_avg'];
export const rmspropUpdateOp = defineOp<RmspropUpdateAttrs>({
  name: 'rmsprop_update',
  doc: 'one RMSprop step: (param, grad, square_avg[, momentum_buffer][, grad_avg]) -> (param, square_avg[, momentum_buffer][, grad_avg])',
  inputs: RMS_INPUTS.map((name, i) => ({ name, optional: i >= 3 })),
  attrs: {
    lr: { check: hyper, default: 1e-2 },
    alpha: { check: hyper, default: 0.99 },
    eps: { check: hyper, default: 1e-8 },
    weight_decay: { check: hyper, default: 0 },
    momentum: { check: hyper, default: 0 },
    centered: { check: bool, default: false },
  },
  // Outputs follow the present inputs: param, square_avg, then momentum_buffer and grad_avg when given.
  inplace: [[0, 0], [1, 2]],
  infer: (inputs, a) => {
    if ((a.momentum > 0) !== (inputs[3] != null)) throw new AttrError(`rmsprop_update: momentum_buffer must be given exactly when momentum > 0 (momentum ${a.momentum})`);
    if (a.centered !== (inputs[4] != null)) throw new AttrError(`rmsprop_update: grad_avg must be given exactly when centered is set (centered ${a.centered})`);
    return sameAsParam('rmsprop_update', RMS_INPUTS, inputs, [0, 2, 3, 4]);
  },
});

interface SgdUpdateAttrs {
  lr: number;
  momentum: number;
  dampening: number;
  weight_decay: number;
  nesterov: boolean;
  step: number;
}
const SGD_INPUTS = ['param', 'grad', 'momentum_buffer'];
export const sgdUpdateOp = defineOp<SgdUpdateAttrs>({
  name: 'sgd_update',
  doc: 'one SGD step (step = 1-based update count; step 1 starts the momentum buffer from the gradient): (param, grad[, momentum_buffer]) -> (param[, momentum_buffer])',
  inputs: SGD_INPUTS.map((name, i) => ({ name, optional: i === 2 })),
  attrs: {
    lr: { check: hyper, default: 1e-2 },
    momentum: { check: hyper, default: 0 },
    dampening: { check: num({ min: 0, max: 1 }), default: 0 },
    weight_decay: { check: hyper, default: 0 },
    nesterov: { check: bool, default: false },
    step: { check: int({ min: 1 }), default: 1 },
  },
  inplace: [[0, 0], [1, 2]],
  infer: (inputs, a) => {
    if ((a.momentum > 0) !== (inputs[2] != null)) throw new AttrError(`sgd_update: momentum_buffer must be given exactly when momentum > 0 (momentum ${a.momentum})`);
    return sameAsParam('sgd_update', SGD_INPUTS, inputs, [0, 2]);
  },
});

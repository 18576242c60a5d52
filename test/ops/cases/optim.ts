// Optimizer updates as catalog ops (lib/ops/optim.ts), checked against torch.optim's functional
// updates (torch 1.13). The state steps torch takes are tensors it increments first, so a torch
// step count of k - 1 is our 1-based `step` k.
import type { InputSpec, OpCase, R as RT, Tensor } from '../case.js';

const SHAPE = [3, 4];
const param: InputSpec = { shape: SHAPE, grad: false };
const signed: InputSpec = { shape: SHAPE, grad: false };
const positive: InputSpec = { shape: SHAPE, init: 'positive', grad: false };
const call = (name: string, attrs: object, pad = 0) => (R: RT, inputs: Tensor[]) =>
  R.dispatch(R.getOp(name), [...inputs, ...Array<null>(pad).fill(null)], attrs);
const clone = (...names: string[]) => names.map((n) => `${n}.detach().clone()`).join(', ');
const F = 'torch.optim._functional';

export const cases: OpCase[] = [
  {
    op: 'adam_update',
    id: 'l2-step3',
    inputs: [param, signed, signed, positive],
    torch: `(lambda p, m, v: (${F}.adam([p], [b.detach()], [m], [v], [], [torch.tensor(2.)], amsgrad=False, beta1=0.9, beta2=0.99, lr=0.01, weight_decay=0.1, eps=1e-8, maximize=False), p, m, v)[1:])(${clone('a', 'c', 'd')})`,
    call: call('adam_update', { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weight_decay: 0.1, amsgrad: false, decoupled_weight_decay: false, step: 3 }, 1),
    grad: false,
  },
  {
    op: 'adam_update',
    id: 'amsgrad-step2',
    inputs: [param, signed, signed, positive, positive],
    torch: `(lambda p, m, v, vm: (${F}.adam([p], [b.detach()], [m], [v], [vm], [torch.tensor(1.)], amsgrad=True, beta1=0.8, beta2=0.999, lr=0.05, weight_decay=0.0, eps=1e-6, maximize=False), p, m, v, vm)[1:])(${clone('a', 'c', 'd', 'e')})`,
    call: call('adam_update', { lr: 0.05, beta1: 0.8, beta2: 0.999, eps: 1e-6, weight_decay: 0, amsgrad: true, decoupled_weight_decay: false, step: 2 }),
    grad: false,
  },
  {
    op: 'adam_update',
    id: 'adamw-step1',
    inputs: [param, signed, signed, positive],
    torch: `(lambda p, m, v: (__import__('torch.optim.adamw', fromlist=['adamw']).adamw([p], [b.detach()], [m], [v], [], [torch.tensor(0.)], amsgrad=False, beta1=0.9, beta2=0.999, lr=0.01, weight_decay=0.01, eps=1e-8, maximize=False), p, m, v)[1:])(${clone('a', 'c', 'd')})`,
    call: call('adam_update', { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, amsgrad: false, decoupled_weight_decay: true, step: 1 }, 1),
    grad: false,
  },
  {
    op: 'rmsprop_update',
    id: 'plain',
    inputs: [param, signed, positive],
    torch: `(lambda p, s: (${F}.rmsprop([p], [b.detach()], [s], [], [], lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False), p, s)[1:])(${clone('a', 'c')})`,
    call: call('rmsprop_update', { lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0, momentum: 0, centered: false }, 2),
    grad: false,
  },
  {
    op: 'rmsprop_update',
    id: 'momentum-centered-decay',
    inputs: [param, signed, positive, signed, { shape: SHAPE, init: 'uniform', low: -0.1, high: 0.1, grad: false }],
    torch: `(lambda p, s, mb, ga: (${F}.rmsprop([p], [b.detach()], [s], [ga], [mb], lr=0.02, alpha=0.9, eps=1e-6, weight_decay=0.05, momentum=0.5, centered=True), p, s, mb, ga)[1:])(${clone('a', 'c', 'd', 'e')})`,
    call: call('rmsprop_update', { lr: 0.02, alpha: 0.9, eps: 1e-6, weight_decay: 0.05, momentum: 0.5, centered: true }),
    grad: false,
  },
  {
    op: 'sgd_update',
    id: 'plain-decay',
    inputs: [param, signed],
    torch: `(lambda p: (${F}.sgd([p], [b.detach()], [None], weight_decay=0.1, momentum=0.0, lr=0.1, dampening=0.0, nesterov=False, maximize=False), p)[1:])(${clone('a')})`,
    call: call('sgd_update', { lr: 0.1, momentum: 0, dampening: 0, weight_decay: 0.1, nesterov: false, step: 4 }, 1),
    grad: false,
  },
  {
    op: 'sgd_update',
    id: 'momentum-step1-starts-buffer',
    inputs: [param, signed, signed],
    torch: `(lambda p, bufs: (${F}.sgd([p], [b.detach()], bufs, weight_decay=0.0, momentum=0.9, lr=0.1, dampening=0.0, nesterov=False, maximize=False), p, bufs[0])[1:])(${clone('a')}, [None])`,
    call: call('sgd_update', { lr: 0.1, momentum: 0.9, dampening: 0, weight_decay: 0, nesterov: false, step: 1 }),
    grad: false,
  },
  {
    op: 'sgd_update',
    id: 'nesterov-step2',
    inputs: [param, signed, signed],
    torch: `(lambda p, mb: (${F}.sgd([p], [b.detach()], [mb], weight_decay=0.01, momentum=0.9, lr=0.1, dampening=0.0, nesterov=True, maximize=False), p, mb)[1:])(${clone('a', 'c')})`,
    call: call('sgd_update', { lr: 0.1, momentum: 0.9, dampening: 0, weight_decay: 0.01, nesterov: true, step: 2 }),
    grad: false,
  },
];

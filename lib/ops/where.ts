// where(cond, a, b): a where cond is nonzero, else b, with three-way broadcasting.
import type { Tensor } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { defineOp, dispatch } from './define.js';
import { broadcastShapes } from './shape-rules.js';
import { unbroadcast } from './binary.js';

const whereOp = defineOp({
  name: 'where',
  doc: 'a where cond != 0 (NaN counts as true), else b; cond, a and b broadcast together',
  inputs: [{ name: 'cond' }, { name: 'a' }, { name: 'b' }],
  attrs: {},
  infer: ([c, a, b]) => [{ shape: broadcastShapes('where', broadcastShapes('where', c!.shape, a!.shape), b!.shape), dtype: 'float32' }],
  grad: ({ inputs: [c, a, b], grads: [g] }) => [
    null,
    a!.requires_grad ? unbroadcast(where(c!, g!, 0), a!.shape) : null,
    b!.requires_grad ? unbroadcast(where(c!, 0, g!), b!.shape) : null,
  ],
});

/** a where cond != 0 (NaN counts as true), else b; cond, a and b broadcast together. */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  return dispatch(whereOp, [toTensor(cond, 'where'), toTensor(a, 'where'), toTensor(b, 'where')], {})[0]!;
}

// matmul with torch.matmul semantics (1-D operands, batch broadcasting, optional transposes).
import { native } from '../native/load.js';
import type { Tensor } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { type AttrSchema, bool, parseAttrs } from './attrs.js';
import { defineOp, dispatch } from './define.js';
import { unbroadcast } from './binary.js';
import { reshape } from './shape.js';

const N = native();

interface MatmulAttrs {
  trans_a: boolean;
  trans_b: boolean;
}
const schema: AttrSchema<MatmulAttrs> = { trans_a: { check: bool, default: false }, trans_b: { check: bool, default: false } };

const matmulOp = defineOp<MatmulAttrs>({
  name: 'matmul',
  doc: 'op(a) @ op(b) like torch.matmul; op transposes the last two dims when trans_a / trans_b',
  inputs: [{ name: 'a' }, { name: 'b' }],
  attrs: schema,
  infer: ([a, b], t) => [{ shape: N.matmul_shape(a!.shape as number[], b!.shape as number[], t.trans_a, t.trans_b), dtype: 'float32' }],
  grad: ({ inputs: [a0, b0], grads: [g0], attrs: { trans_a: ta, trans_b: tb } }) => {
    // Work on >= 2-D forms: a [k] acts as [1, k], b [k] as [k, 1], and g gets those dims back.
    const a = a0!.ndim === 1 ? reshape(a0!, [1, a0!.shape[0]!]) : a0!;
    const b = b0!.ndim === 1 ? reshape(b0!, [b0!.shape[0]!, 1]) : b0!;
    const gShape = [...g0!.shape];
    if (a0!.ndim === 1) gShape.splice(gShape.length - (b0!.ndim === 1 ? 0 : 1), 0, 1);
    if (b0!.ndim === 1) gShape.push(1);
    const g = reshape(g0!, gShape);
    // C = op(A) op(B): d op(A) = G op(B)^T, d op(B) = op(A)^T G; transpose back where op did.
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a0!.requires_grad) {
      ga = ta ? matmul(b, g, { trans_a: tb, trans_b: true }) : matmul(g, b, { trans_b: !tb });
      ga = reshape(unbroadcast(ga, a.shape), a0!.shape);
    }
    if (b0!.requires_grad) {
      gb = tb ? matmul(g, a, { trans_a: true, trans_b: ta }) : matmul(a, g, { trans_a: !ta });
      gb = reshape(unbroadcast(gb, b.shape), b0!.shape);
    }
    return [ga, gb];
  },
});

/**
 * a @ b with torch.matmul semantics; options transpose the last two dims of an operand first.
 *
 * Catalog op `matmul`: op(a) @ op(b) like torch.matmul; op transposes the last two dims when trans_a / trans_b.
 */
export function matmul(a: TensorLike, b: TensorLike, options?: Partial<MatmulAttrs>): Tensor {
  const attrs = options ? parseAttrs('matmul', schema, options) : { trans_a: false, trans_b: false };
  return dispatch(matmulOp, [toTensor(a, 'matmul'), toTensor(b, 'matmul')], attrs)[0]!;
}

/** ravop's dot: the same as matmul (inner product for two vectors). */
export const dot = (a: TensorLike, b: TensorLike): Tensor => matmul(a, b);

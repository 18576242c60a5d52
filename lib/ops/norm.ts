// batch_norm and layer_norm (torch.nn.functional semantics) with their backward ops.
// batch_norm is pure: the updated running statistics are new output tensors, never written
// into its inputs, so a recorded graph can carry them from step to step.
import { ArgError, AttrError, ShapeError } from '../errors.js';
import { type Tensor, shapeStr } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { type AttrSchema, bool, intList, num, parseAttrs, required } from './attrs.js';
import { defineOp, dispatch } from './define.js';
import { zeros_like } from './creation.js';
import { expectShape } from './nn-common.js';


export interface BatchNormAttrs {
  training: boolean;
  /** PyTorch's meaning: running = (1 - momentum) * running + momentum * batch statistic. */
  momentum: number;
  eps: number;
}
const bnSchema: AttrSchema<BatchNormAttrs> = {
  training: { check: bool, default: false },
  momentum: { check: num({ min: 0, max: 1 }), default: 0.1 },
  eps: { check: num({ gt: 0 }), default: 1e-5 },
};

const bnBackward = defineOp<{ training: boolean }>({
  name: 'batch_norm_backward',
  doc: 'gradients of batch_norm: (gy, x, weight?, save_mean, save_invstd) -> [gx, gweight, gbias]',
  inputs: [{ name: 'gy' }, { name: 'x' }, { name: 'weight', optional: true }, { name: 'save_mean' }, { name: 'save_invstd' }],
  attrs: { training: { check: bool, default: false } },
  gradientOf: 'batch_norm',
  infer: ([gy, x, w, sm, si]) => {
    expectShape('batch_norm_backward', 'gy', gy!.shape, x!.shape, 'x');
    const c = [x!.shape[1] ?? 0];
    const saved = x!.size === 0 ? [0] : c; // an empty batch saves no statistics
    if (w) expectShape('batch_norm_backward', 'weight', w.shape, c, `x ${shapeStr(x!.shape)}`);
    for (const [name, t] of [['save_mean', sm], ['save_invstd', si]] as const) expectShape('batch_norm_backward', name, t!.shape, saved, `x ${shapeStr(x!.shape)}`);
    return [
      { shape: x!.shape, dtype: 'float32' },
      { shape: c, dtype: 'float32' },
      { shape: c, dtype: 'float32' },
    ];
  },
});

const bnOp = defineOp<BatchNormAttrs>({
  name: 'batch_norm',
  doc:
    'batch normalization over channel dim 1 of (N, C), (N, C, L) or (N, C, H, W): (x, weight?, bias?, running_mean?, running_var?) -> ' +
    '[y, save_mean, save_invstd, new_running_mean, new_running_var]; the new running stats are [C] copies of the given ones ' +
    '(updated when training), or empty [0] when none are given',
  inputs: [
    { name: 'x' },
    { name: 'weight', optional: true },
    { name: 'bias', optional: true },
    { name: 'running_mean', optional: true },
    { name: 'running_var', optional: true },
  ],
  attrs: bnSchema,
  infer: ([x, w, b, rm, rv], a) => {
    if (x!.ndim < 2 || x!.ndim > 4) throw new ShapeError(`batch_norm: x must be (N, C), (N, C, L) or (N, C, H, W), got ${shapeStr(x!.shape)}`);
    const c = [x!.shape[1]!];
    for (const [name, t] of [['weight', w], ['bias', b], ['running_mean', rm], ['running_var', rv]] as const) {
      if (t) expectShape('batch_norm', name, t.shape, c, `x ${shapeStr(x!.shape)}`);
    }
    if (!rm !== !rv) throw new ArgError('batch_norm: running_mean and running_var must be given together (or both null)');
    if (!a.training && !rm) throw new ArgError('batch_norm: training=false needs running_mean and running_var');
    // One value per channel has no variance; none at all (an empty batch) is a no-op, as in torch.
    const perChannel = x!.shape.reduce((p, d, i) => (i === 1 ? p : p * d), 1);
    if (a.training && perChannel === 1) throw new ShapeError(`batch_norm: training needs more than 1 value per channel, x is ${shapeStr(x!.shape)}`);
    const stat = (t: Tensor | null) => ({ shape: t ? c : [0], dtype: 'float32' as const, differentiable: false });
    // An empty batch has no statistics to save: [0], not C values sized by a dim of nothing.
    const saved = x!.size === 0 ? null : x!;
    return [{ shape: x!.shape, dtype: 'float32' }, stat(saved), stat(saved), stat(rm), stat(rv)];
  },
  grad: ({ inputs: [x, w, b], outputs: [, sm, si], grads: [gy], attrs }) => {
    if (!gy) return [null, null, null, null, null];
    if (x!.size === 0) {
      // An empty batch: zero gradients of the given tensors' sizes, none sized by C alone.
      const z = (t: Tensor | null) => (t?.requires_grad ? zeros_like(t) : null);
      return [z(x!), z(w), z(b), null, null];
    }
    const [gx, gw, gb] = dispatch(bnBackward, [gy, x!, w, sm!, si!], { training: attrs.training });
    return [x!.requires_grad ? gx! : null, w?.requires_grad ? gw! : null, b?.requires_grad ? gb! : null, null, null];
  },
});

type Opt = TensorLike | null | undefined;
const optT = (v: Opt, op: string) => (v == null ? null : toTensor(v, op));

/**
 * The new running statistics after one batch_norm call (each null when not given): what the
 * BatchNormalization layer stores for its next step.
 */
export function batch_norm_with_stats(
  x: TensorLike, running_mean: Opt, running_var: Opt, weight: Opt = null, bias: Opt = null, options?: Partial<BatchNormAttrs>,
): { y: Tensor; running_mean: Tensor | null; running_var: Tensor | null } {
  const op = 'batch_norm_with_stats';
  const attrs = parseAttrs('batch_norm', bnSchema, options);
  const rm = optT(running_mean, op);
  const [y, , , nrm, nrv] = dispatch(bnOp, [toTensor(x, op), optT(weight, op), optT(bias, op), rm, optT(running_var, op)], attrs);
  return { y: y!, running_mean: rm ? nrm! : null, running_var: rm ? nrv! : null };
}

/**
 * Batch normalization like torch.nn.functional.batch_norm (same argument order); returns y.
 *
 * Catalog op `batch_norm`: batch normalization over channel dim 1 of (N, C), (N, C, L) or (N, C, H, W): (x, weight?, bias?, running_mean?, running_var?) -> [y, save_mean, save_invstd, new_running_mean, new_running_var]; the new running stats are [C] copies of the given ones (updated when training), or empty [0] when none are given.
 */
export function batch_norm(x: TensorLike, running_mean: Opt, running_var: Opt, weight: Opt = null, bias: Opt = null, options?: Partial<BatchNormAttrs>): Tensor {
  const attrs = parseAttrs('batch_norm', bnSchema, options);
  return dispatch(bnOp, [toTensor(x, 'batch_norm'), optT(weight, 'batch_norm'), optT(bias, 'batch_norm'), optT(running_mean, 'batch_norm'), optT(running_var, 'batch_norm')], attrs)[0]!;
}

// ---- layer_norm ----
interface LayerNormAttrs {
  normalized_shape: number[];
  eps: number;
}
const lnSchema: AttrSchema<LayerNormAttrs> = {
  normalized_shape: { check: intList({ min: 0 }), default: required },
  eps: { check: num({ gt: 0 }), default: 1e-5 },
};

/** Leading dims of x with the normalized dims kept as 1 (like torch's mean/rstd). */
function lnStatShape(op: string, x: Tensor, ns: number[]): number[] {
  const k = ns.length;
  if (k === 0) throw new AttrError(`${op}: normalized_shape must not be empty`);
  if (x.ndim < k || x.shape.slice(x.ndim - k).some((d, i) => d !== ns[i])) {
    throw new ShapeError(`${op}: normalized_shape ${shapeStr(ns)} does not match the trailing dims of x ${shapeStr(x.shape)}`);
  }
  return [...x.shape.slice(0, x.ndim - k), ...ns.map(() => 1)];
}

const lnBackward = defineOp<LayerNormAttrs>({
  name: 'layer_norm_backward',
  doc: 'gradients of layer_norm: (gy, x, mean, rstd, weight?) -> [gx, gweight, gbias]',
  inputs: [{ name: 'gy' }, { name: 'x' }, { name: 'mean' }, { name: 'rstd' }, { name: 'weight', optional: true }],
  attrs: lnSchema,
  gradientOf: 'layer_norm',
  infer: ([gy, x, m, r, w], a) => {
    const stat = lnStatShape('layer_norm_backward', x!, a.normalized_shape);
    expectShape('layer_norm_backward', 'gy', gy!.shape, x!.shape, 'x');
    expectShape('layer_norm_backward', 'mean', m!.shape, stat, `x ${shapeStr(x!.shape)}`);
    expectShape('layer_norm_backward', 'rstd', r!.shape, stat, `x ${shapeStr(x!.shape)}`);
    if (w) expectShape('layer_norm_backward', 'weight', w.shape, a.normalized_shape, 'normalized_shape');
    return [
      { shape: x!.shape, dtype: 'float32' },
      { shape: a.normalized_shape, dtype: 'float32' },
      { shape: a.normalized_shape, dtype: 'float32' },
    ];
  },
});

const lnOp = defineOp<LayerNormAttrs>({
  name: 'layer_norm',
  doc: 'layer normalization over the trailing normalized_shape dims: (x, weight?, bias?) -> [y, mean, rstd]',
  inputs: [{ name: 'x' }, { name: 'weight', optional: true }, { name: 'bias', optional: true }],
  attrs: lnSchema,
  infer: ([x, w, b], a) => {
    const stat = lnStatShape('layer_norm', x!, a.normalized_shape);
    if (w) expectShape('layer_norm', 'weight', w.shape, a.normalized_shape, 'normalized_shape');
    if (b) expectShape('layer_norm', 'bias', b.shape, a.normalized_shape, 'normalized_shape');
    return [
      { shape: x!.shape, dtype: 'float32' },
      { shape: stat, dtype: 'float32', differentiable: false },
      { shape: stat, dtype: 'float32', differentiable: false },
    ];
  },
  grad: ({ inputs: [x, w, b], outputs: [, m, r], grads: [gy], attrs }) => {
    if (!gy) return [null, null, null];
    const [gx, gw, gb] = dispatch(lnBackward, [gy, x!, m!, r!, w], attrs);
    return [x!.requires_grad ? gx! : null, w?.requires_grad ? gw! : null, b?.requires_grad ? gb! : null];
  },
});

/**
 * Layer normalization like torch.nn.functional.layer_norm; returns y.
 *
 * Catalog op `layer_norm`: layer normalization over the trailing normalized_shape dims: (x, weight?, bias?) -> [y, mean, rstd].
 */
export function layer_norm(x: TensorLike, normalized_shape: number | readonly number[], weight: Opt = null, bias: Opt = null, options?: { eps?: number }): Tensor {
  const ns = typeof normalized_shape === 'number' ? [normalized_shape] : normalized_shape;
  const attrs = parseAttrs('layer_norm', lnSchema, { ...options, normalized_shape: ns });
  return dispatch(lnOp, [toTensor(x, 'layer_norm'), optT(weight, 'layer_norm'), optT(bias, 'layer_norm')], attrs)[0]!;
}

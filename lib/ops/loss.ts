// Losses: mse_loss and cross_entropy (torch.nn.functional semantics) with their backward ops,
// and the seed's names square_loss and cross_entropy_loss.
import { native } from '../native/load.js';
import { RavdlError, ShapeError } from '../errors.js';
import { type Tensor, shapeStr, withTapeAccess } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { type AttrSchema, int, num, oneOf, parseAttrs } from './attrs.js';
import { defineOp, dispatch } from './define.js';
import { mul } from './binary.js';
import { clip, natlog, neg } from './unary.js';
import { reshape } from './shape.js';
import { log_softmax, softmaxAxis, softmaxSource } from './softmax.js';
import { expectShape, nativeShape } from './nn-common.js';

const N = native();
type Reduction = 'mean' | 'sum' | 'none';
const reduction = { check: oneOf<Reduction>('mean', 'sum', 'none'), default: 'mean' as Reduction };

// ---- mse_loss ----
interface MseAttrs {
  reduction: Reduction;
}
const mseSchema: AttrSchema<MseAttrs> = { reduction };

const mseBackward = defineOp<MseAttrs>({
  name: 'mse_loss_backward',
  doc: 'gradients of mse_loss: (pred, target, gloss) -> [gpred, gtarget]',
  inputs: [{ name: 'pred' }, { name: 'target' }, { name: 'gloss' }],
  attrs: mseSchema,
  gradientOf: 'mse_loss',
  infer: ([p, t, g], a) => {
    expectShape('mse_loss_backward', 'target', t!.shape, p!.shape, 'pred');
    expectShape('mse_loss_backward', 'gloss', g!.shape, N.mse_loss_shape(p!.shape as number[], a.reduction), 'the loss');
    return [
      { shape: p!.shape, dtype: 'float32' },
      { shape: p!.shape, dtype: 'float32' },
    ];
  },
});

const mseOp = defineOp<MseAttrs>({
  name: 'mse_loss',
  doc: "mean squared error of pred and target (same shapes): reduction 'mean', 'sum' or 'none'",
  inputs: [{ name: 'pred' }, { name: 'target' }],
  attrs: mseSchema,
  infer: ([p, t], a) => {
    expectShape('mse_loss', 'target', t!.shape, p!.shape, 'pred');
    return [{ shape: N.mse_loss_shape(p!.shape as number[], a.reduction), dtype: 'float32' }];
  },
  grad: ({ inputs: [p, t], grads: [g], attrs }) => {
    const [gp, gt] = dispatch(mseBackward, [p!, t!, g!], attrs);
    return [p!.requires_grad ? gp! : null, t!.requires_grad ? gt! : null];
  },
});

/**
 * Mean squared error like torch.nn.functional.mse_loss (pred and target of the same shape).
 *
 * Catalog op `mse_loss`: mean squared error of pred and target (same shapes): reduction 'mean', 'sum' or 'none'.
 */
export function mse_loss(pred: TensorLike, target: TensorLike, options?: Partial<MseAttrs>): Tensor {
  return dispatch(mseOp, [toTensor(pred, 'mse_loss'), toTensor(target, 'mse_loss')], parseAttrs('mse_loss', mseSchema, options))[0]!;
}

/** The seed's mean squared error: note y_true comes first. */
export function square_loss(y_true: TensorLike, y_pred: TensorLike): Tensor {
  return mse_loss(y_pred, y_true);
}

// ---- cross_entropy ----
export interface CrossEntropyAttrs {
  reduction: Reduction;
  /** Class-index targets equal to it contribute nothing (and leave the mean's denominator). */
  ignore_index: number;
  label_smoothing: number;
}
const ceSchema: AttrSchema<CrossEntropyAttrs> = {
  reduction,
  ignore_index: { check: int(), default: -100 },
  label_smoothing: { check: num({ min: 0, max: 1 }), default: 0 },
};

/** Validates logits/target/weight shapes; returns the loss shape. */
function ceInfer(op: string, logits: Tensor, target: Tensor, weight: Tensor | null, a: CrossEntropyAttrs): number[] {
  if (logits.ndim < 2) throw new ShapeError(`${op}: logits must be (N, C) or (N, C, d1, ...), got ${shapeStr(logits.shape)}`);
  const c = logits.shape[1]!;
  if (target.dtype === 'int32') {
    const want = [logits.shape[0]!, ...logits.shape.slice(2)];
    expectShape(op, 'class-index target', target.shape, want, `logits ${shapeStr(logits.shape)}`);
  } else {
    expectShape(op, 'probability target', target.shape, logits.shape, 'logits');
  }
  if (weight) expectShape(op, 'weight', weight.shape, [c], `logits ${shapeStr(logits.shape)}`);
  return nativeShape(op, { logits: logits.shape }, () => N.cross_entropy_shape(logits.shape as number[], a.reduction));
}

const ceBackward = defineOp<CrossEntropyAttrs>({
  name: 'cross_entropy_backward',
  doc: 'gradient of cross_entropy w.r.t. the logits: (logits, target, weight?, gloss) -> glogits',
  inputs: [{ name: 'logits' }, { name: 'target', dtype: 'any' }, { name: 'weight', optional: true }, { name: 'gloss' }],
  attrs: ceSchema,
  gradientOf: 'cross_entropy',
  infer: ([l, t, w, g], a) => {
    expectShape('cross_entropy_backward', 'gloss', g!.shape, ceInfer('cross_entropy_backward', l!, t!, w, a), 'the loss');
    return [{ shape: l!.shape, dtype: 'float32' }];
  },
});

/** d loss / d target for probability targets: -(1 - label_smoothing) * w_c * log_softmax(logits)_c, scaled by gloss. */
function probTargetGrad(l: Tensor, w: Tensor | null, g: Tensor, a: CrossEntropyAttrs): Tensor {
  const ones = l.shape.map(() => 1);
  let term = neg(log_softmax(l, 1));
  if (w) term = mul(term, reshape(w, ones.map((d, i) => (i === 1 ? l.shape[1]! : d))));
  let scale = 1 - a.label_smoothing;
  if (a.reduction === 'mean') scale /= l.size / l.shape[1]!; // probability targets divide by N*d1*...
  const gb = a.reduction === 'none' ? reshape(g, [l.shape[0]!, 1, ...l.shape.slice(2)]) : g;
  return mul(term, mul(gb, scale));
}

const ceOp = defineOp<CrossEntropyAttrs>({
  name: 'cross_entropy',
  doc: 'softmax cross-entropy of logits (N, C, d1...) with int32 class indices (N, d1...) or float32 probabilities (logits\' shape); weight: C class weights',
  inputs: [{ name: 'logits' }, { name: 'target', dtype: 'any' }, { name: 'weight', optional: true }],
  attrs: ceSchema,
  infer: ([l, t, w], a) => [{ shape: ceInfer('cross_entropy', l!, t!, w, a), dtype: 'float32' }],
  // No gradient flows into the class weights (constants, as in every torch model).
  grad: ({ inputs: [l, t, w], grads: [g], attrs }) => [
    l!.requires_grad ? dispatch(ceBackward, [l!, t!, w, g!], attrs)[0]! : null,
    t!.requires_grad ? probTargetGrad(l!, w, g!, attrs) : null,
    null,
  ],
});

export interface CrossEntropyOptions extends Partial<CrossEntropyAttrs> {
  /** C class weights (like torch's weight argument). */
  weight?: TensorLike | null;
}

/**
 * Softmax cross-entropy like torch.nn.functional.cross_entropy: logits (N, C, d1, ...) or
 * unbatched (C); target int32 class indices (N, d1, ...) or float32 probabilities of logits' shape.
 *
 * Catalog op `cross_entropy`: softmax cross-entropy of logits (N, C, d1...) with int32 class indices (N, d1...) or float32 probabilities (logits' shape); weight: C class weights.
 */
export function cross_entropy(logits: TensorLike, target: TensorLike, options: CrossEntropyOptions = {}): Tensor {
  const { weight, ...rest } = options ?? {};
  const attrs = parseAttrs('cross_entropy', ceSchema, rest);
  let l = toTensor(logits, 'cross_entropy');
  let t = toTensor(target, 'cross_entropy');
  const w = weight == null ? null : toTensor(weight, 'cross_entropy');
  const unbatched = l.ndim === 1;
  if (unbatched) {
    // torch's unbatched form: (C) logits with a 0-d index or (C) probabilities.
    l = reshape(l, [1, l.shape[0]!]);
    if (t.dtype === 'float32' && t.ndim === 1) t = reshape(t, [1, t.shape[0]!]);
    else if (t.dtype === 'int32' && t.ndim === 0) t = reshape(t, [1]);
  }
  const y = dispatch(ceOp, [l, t, w], attrs)[0]!;
  return unbatched && attrs.reduction === 'none' ? reshape(y, []) : y;
}

export interface CrossEntropyLossOptions {
  /** Default -100 (null: the same). */
  ignore_index?: number | null;
  /** Shape to reshape y_pred (the logits) to first, e.g. [B * T, C] for (B, T, C) outputs. */
  reshape_target?: readonly number[] | null;
  /** Shape to reshape y_true (the labels) to first, e.g. [B * T]. */
  reshape_label?: readonly number[] | null;
}

/**
 * The seed's cross-entropy on logits y_pred (note y_true comes first); mean over the batch. When
 * y_pred is the output of R.softmax over the class axis (as after Activation('softmax')), the loss
 * is that of the probabilities, never of softmax applied twice: computed from the logits they
 * came from while those still hold exactly that (the stable path), else from log(y_pred).
 */
export function cross_entropy_loss(y_true: TensorLike, y_pred: TensorLike, options: CrossEntropyLossOptions = {}): Tensor {
  let pred = toTensor(y_pred, 'cross_entropy_loss');
  let label = toTensor(y_true, 'cross_entropy_loss');
  const classAxis = options.reshape_target ? pred.ndim - 1 : Math.min(1, pred.ndim - 1);
  const fromSoftmax = softmaxAxis(pred) === classAxis;
  const src = fromSoftmax ? softmaxSource(pred) : undefined;
  try {
    // The logits may be held only by the tape (their owner disposed them): read them as the tape does.
    return withTapeAccess(() => {
      if (src) pred = src.logits;
      else if (fromSoftmax) pred = natlog(clip(pred, SMALLEST_NORMAL)); // log-probabilities: log_softmax leaves them as they are
      if (options.reshape_target) pred = reshape(pred, options.reshape_target);
      if (options.reshape_label) label = reshape(label, options.reshape_label);
      return cross_entropy(pred, label, { ignore_index: options.ignore_index ?? -100 });
    });
  } catch (err) {
    if (err instanceof RavdlError) err.message = `cross_entropy_loss: ${err.message} (y_true ${shapeStr(label.shape)}, y_pred ${shapeStr(pred.shape)})`;
    throw err;
  }
}

// Probabilities below float32's smallest normal are taken as that (log(0) would give -inf and NaN gradients).
const SMALLEST_NORMAL = 1.1754943508222875e-38;

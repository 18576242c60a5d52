// Elementwise losses of pred and target (torch.nn.functional semantics): l1_loss, huber_loss,
// binary_cross_entropy (on probabilities) and binary_cross_entropy_with_logits, each one op with
// a backward op giving [gpred, gtarget]. Kernels loop in JavaScript (float64 per element and for
// the sum, in index order, so results do not depend on threads); weight and pos_weight broadcast
// to pred's shape and are constants (no gradient flows into them, as in torch models).
import { runKernel } from '../native/kernels.js';
import { ArgError, ShapeError } from '../errors.js';
import { type Tensor, shapeStr } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { type AttrSchema, num, oneOf, parseAttrs } from './attrs.js';
import { type OpDef, defineOp, dispatch } from './define.js';
import { sameShape } from './shape-rules.js';
import { expectShape } from './nn-common.js';

export type Reduction = 'mean' | 'sum' | 'none';
const reduction = { check: oneOf<Reduction>('mean', 'sum', 'none'), default: 'mean' as Reduction };

/** One element's loss and its derivatives w.r.t. pred and target (w: weight, q: pos_weight; 1 when absent). */
interface Pointwise<A> {
  loss(p: number, t: number, w: number, q: number, a: A): number;
  dpred(p: number, t: number, w: number, q: number, a: A): number;
  dtarget(p: number, t: number, w: number, q: number, a: A): number;
  /** Throws for a pred value outside the op's domain (binary_cross_entropy: probabilities). */
  checkPred?(p: number, i: number): void;
}

interface LossSpec<A extends { reduction: Reduction }> {
  name: string;
  doc: string;
  /** Input names after pred and target: optional float32 tensors broadcast to pred's shape. */
  extra: string[];
  attrs: AttrSchema<A>;
  f: Pointwise<A>;
}

const lossShape = (p: Tensor, r: Reduction) => (r === 'none' ? p.shape : []);

/** weight / pos_weight as one value per element of `shape` (a broadcast copy when its shape differs). */
function expanded(w: Tensor | null, shape: readonly number[]): Float32Array | null {
  if (!w) return null;
  const d = w._data as Float32Array;
  if (sameShape(w.shape, shape)) return d;
  const out = new Float32Array(d.length === 0 ? 0 : shape.reduce((a, b) => a * b, 1));
  runKernel('broadcast_to', 'cpu', [w], [{ _native: out, shape }], {});
  return out;
}

/** The expanded weight and pos_weight among an op's inputs (after pred and target), where declared and given. */
function weights(ins: (Tensor | null)[], declared: number): [Float32Array | null, Float32Array | null] {
  const shape = ins[0]!.shape;
  return [declared > 0 ? expanded(ins[2] ?? null, shape) : null, declared > 1 ? expanded(ins[3] ?? null, shape) : null];
}

const broadcastsTo = (from: readonly number[], to: readonly number[]) =>
  from.length <= to.length && from.every((d, i) => d === 1 || d === to[to.length - from.length + i]);

function checkInputs(op: string, names: string[], [p, t, ...rest]: (Tensor | null)[]): void {
  expectShape(op, 'target', t!.shape, p!.shape, 'pred');
  rest.forEach((w, i) => {
    if (w && !broadcastsTo(w.shape, p!.shape)) {
      throw new ShapeError(`${op}: ${names[i]} of shape ${shapeStr(w.shape)} does not broadcast to pred's shape ${shapeStr(p!.shape)}`);
    }
  });
}

function pointwiseLoss<A extends { reduction: Reduction }>(spec: LossSpec<A>): OpDef<A> {
  const { name, extra, f } = spec;
  const inputs = [{ name: 'pred' }, { name: 'target' }, ...extra.map((n) => ({ name: n, optional: true }))];
  const backward = defineOp<A>({
    name: `${name}_backward`,
    doc: `gradients of ${name}: (pred, target, ${extra.map((n) => `${n}?, `).join('')}gloss) -> [gpred, gtarget]`,
    inputs: [...inputs, { name: 'gloss' }],
    attrs: spec.attrs,
    gradientOf: name,
    infer: (ins, a) => {
      checkInputs(`${name}_backward`, extra, ins.slice(0, -1));
      expectShape(`${name}_backward`, 'gloss', ins[ins.length - 1]!.shape, lossShape(ins[0]!, a.reduction), 'the loss');
      const shape = ins[0]!.shape;
      return [
        { shape, dtype: 'float32' },
        { shape, dtype: 'float32' },
      ];
    },
    kernel: (ins, [gp, gt], a) => {
      const p = ins[0]!._data as Float32Array;
      const t = ins[1]!._data as Float32Array;
      const [w, q] = weights(ins, extra.length);
      const g = ins[ins.length - 1]!._data as Float32Array;
      const outP = gp!._data as Float32Array;
      const outT = gt!._data as Float32Array;
      const n = p.length;
      const scalar = a.reduction === 'none' ? 0 : a.reduction === 'mean' ? g[0]! / n : g[0]!;
      for (let i = 0; i < n; i++) {
        const s = a.reduction === 'none' ? g[i]! : scalar;
        const wi = w ? w[i]! : 1;
        const qi = q ? q[i]! : 1;
        outP[i] = s * f.dpred(p[i]!, t[i]!, wi, qi, a);
        outT[i] = s * f.dtarget(p[i]!, t[i]!, wi, qi, a);
      }
    },
  });
  return defineOp<A>({
    name,
    doc: spec.doc,
    inputs,
    attrs: spec.attrs,
    infer: (ins, a) => {
      checkInputs(name, extra, ins);
      return [{ shape: lossShape(ins[0]!, a.reduction), dtype: 'float32' }];
    },
    kernel: (ins, [y], a) => {
      const p = ins[0]!._data as Float32Array;
      const t = ins[1]!._data as Float32Array;
      const [w, q] = weights(ins, extra.length);
      const out = y!._data as Float32Array;
      const n = p.length;
      if (f.checkPred) for (let i = 0; i < n; i++) f.checkPred(p[i]!, i);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const v = f.loss(p[i]!, t[i]!, w ? w[i]! : 1, q ? q[i]! : 1, a);
        if (a.reduction === 'none') out[i] = v;
        else sum += v;
      }
      if (a.reduction !== 'none') out[0] = a.reduction === 'mean' ? sum / n : sum; // mean of nothing: NaN, as torch
    },
    grad: ({ inputs: ins, grads: [g], attrs }) => {
      const [gp, gt] = dispatch(backward, [...ins, g!], attrs);
      return [ins[0]!.requires_grad ? gp! : null, ins[1]!.requires_grad ? gt! : null, ...extra.map(() => null)];
    },
  });
}

// ---- l1_loss ----
interface L1Attrs {
  reduction: Reduction;
}
const sgn = (d: number) => (d > 0 ? 1 : d < 0 ? -1 : 0);
const l1Op = pointwiseLoss<L1Attrs>({
  name: 'l1_loss',
  doc: "mean absolute error |pred - target| (same shapes): reduction 'mean', 'sum' or 'none'",
  extra: [],
  attrs: { reduction },
  f: {
    loss: (p, t) => Math.abs(p - t),
    dpred: (p, t) => sgn(p - t),
    dtarget: (p, t) => -sgn(p - t),
  },
});

/**
 * Mean absolute error like torch.nn.functional.l1_loss (pred and target of the same shape).
 *
 * Catalog op `l1_loss`: mean absolute error |pred - target| (same shapes): reduction 'mean', 'sum' or 'none'.
 */
export function l1_loss(pred: TensorLike, target: TensorLike, options?: Partial<L1Attrs>): Tensor {
  return dispatch(l1Op, [toTensor(pred, 'l1_loss'), toTensor(target, 'l1_loss')], parseAttrs('l1_loss', l1Op.attrs, options))[0]!;
}

// ---- huber_loss ----
export interface HuberAttrs {
  reduction: Reduction;
  /** Where the loss turns from quadratic to linear (> 0). */
  delta: number;
}
const huberOp = pointwiseLoss<HuberAttrs>({
  name: 'huber_loss',
  doc: "Huber loss of pred - target (same shapes): 0.5 d^2 where |d| < delta, else delta (|d| - delta / 2); reduction 'mean', 'sum' or 'none'",
  extra: [],
  attrs: { reduction, delta: { check: num({ gt: 0, finite: true }), default: 1 } },
  f: {
    loss: (p, t, _w, _q, { delta }) => {
      const d = Math.abs(p - t);
      return d < delta ? 0.5 * d * d : delta * (d - 0.5 * delta);
    },
    dpred: (p, t, _w, _q, { delta }) => Math.min(Math.max(p - t, -delta), delta),
    dtarget: (p, t, _w, _q, { delta }) => -Math.min(Math.max(p - t, -delta), delta),
  },
});

/**
 * Huber loss like torch.nn.functional.huber_loss (pred and target of the same shape; delta default 1).
 *
 * Catalog op `huber_loss`: Huber loss of pred - target (same shapes): 0.5 d^2 where |d| < delta, else delta (|d| - delta / 2); reduction 'mean', 'sum' or 'none'.
 */
export function huber_loss(pred: TensorLike, target: TensorLike, options?: Partial<HuberAttrs>): Tensor {
  return dispatch(huberOp, [toTensor(pred, 'huber_loss'), toTensor(target, 'huber_loss')], parseAttrs('huber_loss', huberOp.attrs, options))[0]!;
}

// ---- binary_cross_entropy (probabilities) ----
interface BceAttrs {
  reduction: Reduction;
}
// torch clamps each log at -100 (so p = 0 or 1 gives a finite loss) and the gradient's
// denominator p (1 - p) at 1e-12.
const clampLog = (v: number) => Math.max(Math.log(v), -100);
const bceOp = pointwiseLoss<BceAttrs>({
  name: 'binary_cross_entropy',
  doc: "binary cross-entropy of probabilities pred in [0, 1] and targets (same shapes), each log clamped at -100; weight? broadcasts to pred; reduction 'mean', 'sum' or 'none'",
  extra: ['weight'],
  attrs: { reduction },
  f: {
    loss: (p, t, w) => w * ((t - 1) * clampLog(1 - p) - t * clampLog(p)),
    dpred: (p, t, w) => (w * (p - t)) / Math.max((1 - p) * p, 1e-12),
    dtarget: (p, _t, w) => w * (Math.log(1 - p) - Math.log(p)), // -logit(p), unclamped as in torch
    checkPred: (p, i) => {
      if (!(p >= 0 && p <= 1)) throw new ArgError(`binary_cross_entropy: pred must hold probabilities in [0, 1] (e.g. a sigmoid's output), got ${p} at flat index ${i}; for logits use binary_cross_entropy_with_logits`);
    },
  },
});

export interface BinaryCrossEntropyOptions {
  /** Rescales each element's loss; broadcasts to pred's shape. */
  weight?: TensorLike | null;
  reduction?: Reduction;
}

/**
 * Binary cross-entropy of probabilities like torch.nn.functional.binary_cross_entropy.
 *
 * Catalog op `binary_cross_entropy`: binary cross-entropy of probabilities pred in [0, 1] and targets (same shapes), each log clamped at -100; weight? broadcasts to pred; reduction 'mean', 'sum' or 'none'.
 */
export function binary_cross_entropy(pred: TensorLike, target: TensorLike, options: BinaryCrossEntropyOptions = {}): Tensor {
  const { weight, ...rest } = options ?? {};
  const attrs = parseAttrs('binary_cross_entropy', bceOp.attrs, rest);
  const w = weight == null ? null : toTensor(weight, 'binary_cross_entropy');
  return dispatch(bceOp, [toTensor(pred, 'binary_cross_entropy'), toTensor(target, 'binary_cross_entropy'), w], attrs)[0]!;
}

// ---- binary_cross_entropy_with_logits ----
interface BceLogitsAttrs {
  reduction: Reduction;
}
/** log(1 + e^-x) = -log(sigmoid(x)), stable for any x. */
const softplusNeg = (x: number) => Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const bceLogitsOp = pointwiseLoss<BceLogitsAttrs>({
  name: 'binary_cross_entropy_with_logits',
  doc: "binary cross-entropy of sigmoid(logits) and targets (same shapes), computed stably from the logits; weight? and pos_weight? (the positive class's weight) broadcast to the logits; reduction 'mean', 'sum' or 'none'",
  extra: ['weight', 'pos_weight'],
  attrs: { reduction },
  f: {
    // w [ (1 - t) x + (1 + (q - 1) t) log(1 + e^-x) ]
    loss: (x, t, w, q) => w * ((1 - t) * x + (1 + (q - 1) * t) * softplusNeg(x)),
    dpred: (x, t, w, q) => w * ((1 + (q - 1) * t) * sigmoid(x) - q * t),
    dtarget: (x, _t, w, q) => w * (-x + (q - 1) * softplusNeg(x)),
  },
});

export interface BinaryCrossEntropyWithLogitsOptions extends BinaryCrossEntropyOptions {
  /** Weight of the positive examples (e.g. one per class, broadcast along the last dim). */
  pos_weight?: TensorLike | null;
}

/**
 * Binary cross-entropy on logits like torch.nn.functional.binary_cross_entropy_with_logits.
 *
 * Catalog op `binary_cross_entropy_with_logits`: binary cross-entropy of sigmoid(logits) and targets (same shapes), computed stably from the logits; weight? and pos_weight? (the positive class's weight) broadcast to the logits; reduction 'mean', 'sum' or 'none'.
 */
export function binary_cross_entropy_with_logits(logits: TensorLike, target: TensorLike, options: BinaryCrossEntropyWithLogitsOptions = {}): Tensor {
  const { weight, pos_weight, ...rest } = options ?? {};
  const op = 'binary_cross_entropy_with_logits';
  const attrs = parseAttrs(op, bceLogitsOp.attrs, rest);
  const w = weight == null ? null : toTensor(weight, op);
  const q = pos_weight == null ? null : toTensor(pos_weight, op);
  return dispatch(bceLogitsOp, [toTensor(logits, op), toTensor(target, op), w, q], attrs)[0]!;
}

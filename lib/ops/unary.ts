// Elementwise unary ops: math and the seed's activations, each with its backward op.
// One table row per op; unaryOp() turns a row into the forward and the backward catalog entries.
import type { Tensor } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { type AttrSchema, type AttrSpec, num, nullable, parseAttrs, required } from './attrs.js';
import { type OpDef, defineOp, dispatch } from './define.js';
import { mul } from './binary.js';

// Each op runs its native kernel (registered under the op's name; the backward op's is
// `<name>_backward`, taking x or y and dy), with the attrs as the kernel's parameters.
interface UnarySpec<A> {
  /** The op name. */
  name: string;
  doc: string;
  attrs?: AttrSchema<A>;
  /** The backward kernel takes the forward output y instead of x. */
  savesOutput?: boolean;
  /** No gradient (sign, logical_not). */
  noGrad?: boolean;
}

const same = (ins: (Tensor | null)[]) => [{ shape: ins[0]!.shape, dtype: 'float32' as const }];

function unaryOp<A = Record<string, never>>(spec: UnarySpec<A>): { op: OpDef<A>; backward: OpDef<A> | null } {
  const name = spec.name;
  const attrs = (spec.attrs ?? {}) as AttrSchema<A>;
  let backward: OpDef<A> | null = null;
  if (!spec.noGrad) {
    backward = defineOp<A>({
      name: `${name}_backward`,
      doc: `gradient of ${name}: (${spec.savesOutput ? 'y' : 'x'}, dy) -> dx`,
      inputs: [{ name: spec.savesOutput ? 'y' : 'x' }, { name: 'dy' }],
      attrs,
      gradientOf: name,
      infer: same,
    });
  }
  const bw = backward;
  const op = defineOp<A>({
    name,
    doc: spec.doc,
    inputs: [{ name: 'x' }],
    attrs,
    infer: same,
    grad: bw
      ? ({ inputs: [x], outputs: [y], grads: [gy], attrs: a }) => [dispatch(bw, [spec.savesOutput ? y! : x!, gy!], a)[0]!]
      : undefined,
  });
  return { op, backward };
}

type NoAttrs = Record<string, never>;
const EMPTY = {} as NoAttrs;
const opt = <T>(check: AttrSpec<T>['check'], d: T): AttrSpec<T> => ({ check, default: d });
const req = <T>(check: AttrSpec<T>['check']): AttrSpec<T> => ({ check, default: required });

function plain(name: string, doc: string, extra: Partial<UnarySpec<NoAttrs>> = {}) {
  const { op } = unaryOp<NoAttrs>({ name, doc, ...extra });
  return (x: TensorLike): Tensor => dispatch(op, [toTensor(x, op.name)], EMPTY)[0]!;
}

function withAttrs<A>(spec: UnarySpec<A>) {
  const { op } = unaryOp<A>(spec);
  return (x: TensorLike, options?: Partial<A>): Tensor => dispatch(op, [toTensor(x, op.name)], parseAttrs(op.name, op.attrs, options))[0]!;
}

// ---- math ----
/** e ** x. */
export const exp = plain('exp', 'e ** x', { savesOutput: true });
/** natural logarithm. */
export const natlog = plain('natlog', 'natural logarithm');
/** Natural logarithm (the same function as natlog). */
export const log = natlog;
/** square root. */
export const square_root = plain('square_root', 'square root', { savesOutput: true });
/** Square root (the same function as square_root). */
export const sqrt = square_root;
/** |x|. */
export const abs = plain('abs', '|x|');
/** sign of x (-1, 0, 1); no gradient. */
export const sign = plain('sign', 'sign of x (-1, 0, 1); no gradient', { noGrad: true });
/** -x. */
export const neg = plain('neg', '-x');
/** 1 where x == 0, else 0; no gradient. */
export const logical_not = plain('logical_not', '1 where x == 0, else 0; no gradient', { noGrad: true });

interface PowScalarAttrs {
  exponent: number;
}
const powScalar = unaryOp<PowScalarAttrs>({
  name: 'pow_scalar',
  doc: 'x ** exponent for a constant exponent',
  attrs: { exponent: req(num()) },
});
/** x ** exponent for a constant exponent. */
export const pow_scalar = (x: TensorLike, exponent: number): Tensor =>
  dispatch(powScalar.op, [toTensor(x, 'pow_scalar')], parseAttrs('pow_scalar', powScalar.op.attrs, { exponent }))[0]!;
/** x ** 2 (pow_scalar with exponent 2). */
export const square = (x: TensorLike): Tensor => pow_scalar(x, 2);
/** x ** 3 (pow_scalar with exponent 3). */
export const cube = (x: TensorLike): Tensor => pow_scalar(x, 3);
/** Real cube root (negative for negative x), composed as sign(x) * |x| ** (1/3). */
export const cube_root = (x: TensorLike): Tensor => {
  const t = toTensor(x, 'cube_root');
  return mul(sign(t), pow_scalar(abs(t), 1 / 3));
};

interface ClipAttrs {
  min: number | null;
  max: number | null;
}
const clipOp = unaryOp<ClipAttrs>({
  name: 'clip',
  doc: 'clamp x to [min, max] (either bound may be null)',
  attrs: { min: opt(nullable(num()), null), max: opt(nullable(num()), null) },
});
/**
 * Clamps x to [lower_limit, upper_limit] (ravop's clip); either bound may be null.
 *
 * Catalog op `clip`: clamp x to [min, max] (either bound may be null).
 */
export function clip(x: TensorLike, lower_limit: number | null = null, upper_limit: number | null = null): Tensor {
  const attrs = parseAttrs('clip', clipOp.op.attrs, { min: lower_limit, max: upper_limit });
  if (attrs.min === null && attrs.max === null) return pos(x);
  return dispatch(clipOp.op, [toTensor(x, 'clip')], attrs)[0]!;
}

// ---- activations (torch.nn.functional names and defaults) ----
/** max(x, 0). */
export const relu = plain('relu', 'max(x, 0)');
/** 1 / (1 + e ** -x). */
export const sigmoid = plain('sigmoid', '1 / (1 + e ** -x)', { savesOutput: true });
/** hyperbolic tangent. */
export const tanh = plain('tanh', 'hyperbolic tangent', { savesOutput: true });
/** scale * elu(x, alpha) with torch constants. */
export const selu = plain('selu', 'scale * elu(x, alpha) with torch constants');
/** x / (1 + |x|). */
export const softsign = plain('softsign', 'x / (1 + |x|)');
/** x - tanh(x). */
export const tanhshrink = plain('tanhshrink', 'x - tanh(x)');
/** log(sigmoid(x)). */
export const logsigmoid = plain('logsigmoid', 'log(sigmoid(x))');

/** x > 0 ? x : negative_slope * x. Options: { negative_slope: 0.01 }. */
export const leaky_relu = withAttrs<{ negative_slope: number }>({
  name: 'leaky_relu',
  doc: 'x > 0 ? x : negative_slope * x',
  attrs: { negative_slope: opt(num(), 0.01) },
});
/** x > 0 ? x : alpha * (e ** x - 1). Options: { alpha: 1 }. */
export const elu = withAttrs<{ alpha: number }>({
  name: 'elu',
  doc: 'x > 0 ? x : alpha * (e ** x - 1)',
  attrs: { alpha: opt(num(), 1) },
});
/** log(1 + e ** (beta x)) / beta, linear above threshold. Options: { beta: 1, threshold: 20 }. */
export const softplus = withAttrs<{ beta: number; threshold: number }>({
  name: 'softplus',
  doc: 'log(1 + e ** (beta x)) / beta, linear above threshold',
  attrs: { beta: opt(num(), 1), threshold: opt(num(), 20) },
});
/** |x| > lambd ? x : 0. Options: { lambd: 0.5 }. */
export const hardshrink = withAttrs<{ lambd: number }>({
  name: 'hardshrink',
  doc: '|x| > lambd ? x : 0',
  attrs: { lambd: opt(num({ min: 0 }), 0.5) },
});
/** shrinks x towards 0 by lambd. Options: { lambd: 0.5 }. */
export const softshrink = withAttrs<{ lambd: number }>({
  name: 'softshrink',
  doc: 'shrinks x towards 0 by lambd',
  attrs: { lambd: opt(num({ min: 0 }), 0.5) },
});
/** clamp(x, min_val, max_val). Options: { min_val: -1, max_val: 1 }. */
export const hardtanh = withAttrs<{ min_val: number; max_val: number }>({
  name: 'hardtanh',
  doc: 'clamp(x, min_val, max_val)',
  attrs: { min_val: opt(num(), -1), max_val: opt(num(), 1) },
});
/** x > threshold ? x : value. Options: { threshold, value } (both required). */
export const threshold = withAttrs<{ threshold: number; value: number }>({
  name: 'threshold',
  doc: 'x > threshold ? x : value',
  attrs: { threshold: req(num()), value: req(num()) },
});

// ---- identity ----
const posOp = defineOp<NoAttrs>({
  name: 'pos',
  doc: '+x (a new tensor sharing x\'s data)',
  inputs: [{ name: 'x' }],
  attrs: {},
  infer: same,
  view: ([x]) => [x!._view(x!.shape)],
  grad: ({ grads: [gy] }) => [gy],
});
/** +x (a new tensor sharing x's data). */
export const pos = (x: TensorLike): Tensor => dispatch(posOp, [toTensor(x, 'pos')], EMPTY)[0]!;

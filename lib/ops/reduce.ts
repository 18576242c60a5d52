// Reductions over any axes (sum, mean, max, min, prod, variance, std) and argmax/argmin.
import { native } from '../native/load.js';
import type { Tensor } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { type AttrSchema, axes as axesCheck, bool, int, nullable, num, parseAttrs } from './attrs.js';
import { type GradContext, type OpDef, defineOp, dispatch } from './define.js';
import { broadcast_to, div, equal, mul, sub } from './binary.js';
import { reshape } from './shape.js';
import { where } from './where.js';

const N = native();
type Axes = number | number[] | null;

interface ReduceAttrs {
  axis: Axes;
  keepdims: boolean;
}
interface VarAttrs extends ReduceAttrs {
  correction: number;
}
const reduceSchema: AttrSchema<ReduceAttrs> = {
  axis: { check: axesCheck, default: null },
  keepdims: { check: bool, default: false },
};
const varSchema: AttrSchema<VarAttrs> = { ...reduceSchema, correction: { check: num({ min: 0 }), default: 1 } };

/** g (the reduced gradient) reshaped to keepdims form and broadcast back to x's shape. */
function expandBack(g: Tensor, x: Tensor, a: ReduceAttrs): Tensor {
  return broadcast_to(reshape(g, N.reduce_shape(x.shape as number[], a.axis, true)), x.shape);
}
function keptShape(t: Tensor, x: Tensor, a: ReduceAttrs): Tensor {
  return reshape(t, N.reduce_shape(x.shape as number[], a.axis, true));
}
function countReduced(x: Tensor, y: Tensor): number {
  return y.size === 0 ? 0 : x.size / y.size;
}

// Each op runs its native kernel, registered under the op's name.
function reduceOp<A extends ReduceAttrs>(name: string, doc: string, schema: AttrSchema<A>, grad: (c: GradContext<A>) => (Tensor | null)[]) {
  const op = defineOp<A>({
    name,
    doc,
    inputs: [{ name: 'x' }],
    attrs: schema,
    infer: ([x], a) => [{ shape: N.reduce_shape(x!.shape as number[], a.axis, a.keepdims), dtype: 'float32' }],
    grad,
  });
  return op;
}

const sumOp = reduceOp('sum', 'sum over axes', reduceSchema, ({ inputs: [x], grads: [g], attrs }) => [expandBack(g!, x!, attrs)]);
const meanOp = reduceOp('mean', 'mean over axes', reduceSchema, ({ inputs: [x], outputs: [y], grads: [g], attrs }) => [
  mul(expandBack(g!, x!, attrs), 1 / countReduced(x!, y!)),
]);
// torch's amax/amin rule: the gradient is split evenly between tied extremes.
const extremumGrad = ({ inputs: [x], outputs: [y], grads: [g], attrs }: GradContext<ReduceAttrs>) => {
  const mask = equal(x!, keptShape(y!, x!, attrs));
  const ties = sum(mask, attrs.axis, true);
  return [mul(expandBack(g!, x!, attrs), div(mask, ties))];
};
const maxOp = reduceOp('max', 'maximum over axes', reduceSchema, extremumGrad);
const minOp = reduceOp('min', 'minimum over axes', reduceSchema, extremumGrad);
const prodOp = reduceOp('prod', 'product over axes', reduceSchema, ({ inputs: [x], grads: [g], attrs }) => {
  // d prod / d x_i = product of the others: y / x_i without zeros; with one zero only that
  // position gets the product of the rest; with two or more zeros everything is 0.
  const xv = x!;
  const isZero = equal(xv, 0);
  const zeros = sum(isZero, attrs.axis, true);
  const nonzero = where(isZero, 1, xv);
  const prodNonzero = prod(nonzero, attrs.axis, true);
  const noZero = div(prodNonzero, nonzero);
  const oneZero = where(isZero, prodNonzero, 0);
  const local = where(equal(zeros, 0), noZero, where(equal(zeros, 1), oneZero, 0));
  return [mul(expandBack(g!, xv, attrs), local)];
});
const varOp = reduceOp('variance', 'variance over axes (correction 1 = unbiased, like torch)', varSchema, ({ inputs: [x], outputs: [y], grads: [g], attrs }) => {
  const n = countReduced(x!, y!);
  const centered = sub(x!, mean(x!, attrs.axis, true));
  return [mul(mul(expandBack(g!, x!, attrs), centered), 2 / Math.max(0, n - attrs.correction))];
});
const stdOp = reduceOp('std', 'standard deviation over axes (correction 1 = unbiased, like torch)', varSchema, ({ inputs: [x], outputs: [y], grads: [g], attrs }) => {
  const n = countReduced(x!, y!);
  const centered = sub(x!, mean(x!, attrs.axis, true));
  const scale = div(expandBack(g!, x!, attrs), broadcast_to(keptShape(y!, x!, attrs), x!.shape));
  return [mul(mul(scale, centered), 1 / Math.max(0, n - attrs.correction))];
});

function caller(op: OpDef<ReduceAttrs>) {
  return (x: TensorLike, axis: Axes = null, keepdims = false): Tensor =>
    dispatch(op, [toTensor(x, op.name)], parseAttrs(op.name, op.attrs, { axis, keepdims }))[0]!;
}
/** sum over axes. */
export const sum = caller(sumOp);
/** mean over axes. */
export const mean = caller(meanOp);
/** maximum over axes. */
export const max = caller(maxOp);
/** minimum over axes. */
export const min = caller(minOp);
/** product over axes. */
export const prod = caller(prodOp);
/**
 * Variance over axis; correction 1 (default) divides by n - 1 like torch.var.
 *
 * Catalog op `variance`: variance over axes (correction 1 = unbiased, like torch).
 */
export function variance(x: TensorLike, axis: Axes = null, keepdims = false, correction = 1): Tensor {
  return dispatch(varOp, [toTensor(x, 'variance')], parseAttrs('variance', varOp.attrs, { axis, keepdims, correction }))[0]!;
}
/** standard deviation over axes (correction 1 = unbiased, like torch). */
export function std(x: TensorLike, axis: Axes = null, keepdims = false, correction = 1): Tensor {
  return dispatch(stdOp, [toTensor(x, 'std')], parseAttrs('std', stdOp.attrs, { axis, keepdims, correction }))[0]!;
}

// ---- argmax / argmin (int32 indices; not differentiable) ----
interface ArgAttrs {
  axis: number | null;
  keepdims: boolean;
}
const argSchema: AttrSchema<ArgAttrs> = { axis: { check: nullable(int()), default: null }, keepdims: { check: bool, default: false } };
function argOp(name: 'argmax' | 'argmin', doc: string) {
  return defineOp<ArgAttrs>({
    name,
    doc,
    inputs: [{ name: 'x' }],
    attrs: argSchema,
    infer: ([x], a) => [{ shape: N.argreduce_shape(x!.shape as number[], a.axis, a.keepdims), dtype: 'int32' }],
  });
}
const argmaxOp = argOp('argmax', 'index of the maximum along axis (of the flattened tensor when axis is null)');
const argminOp = argOp('argmin', 'index of the minimum along axis (of the flattened tensor when axis is null)');
/** index of the maximum along axis (of the flattened tensor when axis is null). */
export const argmax = (x: TensorLike, axis: number | null = null, keepdims = false): Tensor =>
  dispatch(argmaxOp, [toTensor(x, 'argmax')], parseAttrs('argmax', argSchema, { axis, keepdims }))[0]!;
/** index of the minimum along axis (of the flattened tensor when axis is null). */
export const argmin = (x: TensorLike, axis: number | null = null, keepdims = false): Tensor =>
  dispatch(argminOp, [toTensor(x, 'argmin')], parseAttrs('argmin', argSchema, { axis, keepdims }))[0]!;


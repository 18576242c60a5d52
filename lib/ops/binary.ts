// Broadcasting binary ops (arithmetic, comparisons, logic). Gradients undo broadcasting with sum_to.
import { type Shape, type Tensor, shapeStr } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { intList } from './attrs.js';
import { type GradContext, type OpDef, defineOp, dispatch } from './define.js';
import { broadcastShapes, sameShape } from './shape-rules.js';
import { ShapeError } from '../errors.js';
import { natlog, neg, pow_scalar } from './unary.js';

type NoAttrs = Record<string, never>;
const EMPTY = {} as NoAttrs;

// Each op runs its native kernel, registered under the op's name.
function binaryOp(name: string, doc: string, grad?: (c: GradContext<NoAttrs>) => (Tensor | null)[], compare = false): OpDef<NoAttrs> {
  return defineOp<NoAttrs>({
    name,
    doc,
    inputs: [{ name: 'a' }, { name: 'b' }],
    attrs: {},
    infer: ([a, b]) => [{ shape: broadcastShapes(name, a!.shape, b!.shape), dtype: 'float32', differentiable: !compare }],
    grad,
  });
}

const call2 = (op: OpDef<NoAttrs>) => (a: TensorLike, b: TensorLike): Tensor => dispatch(op, [toTensor(a, op.name), toTensor(b, op.name)], EMPTY)[0]!;

/** Sums g down to `shape` (undoing broadcasting); g itself when the shapes already agree. */
export function unbroadcast(g: Tensor, shape: Shape): Tensor {
  return sameShape(g.shape, shape) ? g : sum_to(g, shape);
}

const addOp = binaryOp('add', 'a + b', ({ inputs: [a, b], grads: [g] }) => [unbroadcast(g!, a!.shape), unbroadcast(g!, b!.shape)]);
const subOp = binaryOp('sub', 'a - b', ({ inputs: [a, b], grads: [g] }) => [unbroadcast(g!, a!.shape), b!.requires_grad ? unbroadcast(neg(g!), b!.shape) : null]);
const mulOp = binaryOp('mul', 'a * b', ({ inputs: [a, b], grads: [g] }) => [
  a!.requires_grad ? unbroadcast(mul(g!, b!), a!.shape) : null,
  b!.requires_grad ? unbroadcast(mul(g!, a!), b!.shape) : null,
]);
const divOp = binaryOp('div', 'a / b', ({ inputs: [a, b], outputs: [y], grads: [g] }) => [
  a!.requires_grad ? unbroadcast(div(g!, b!), a!.shape) : null,
  b!.requires_grad ? unbroadcast(neg(div(mul(g!, y!), b!)), b!.shape) : null, // -g * a / b^2 = -g * y / b
]);
const powOp = binaryOp('pow', 'a ** b', ({ inputs: [a, b], outputs: [y], grads: [g] }) => [
  // d/da = b * a^(b-1) = b * y / a would fail at a = 0; compute a^(b-1) directly.
  a!.requires_grad ? unbroadcast(mul(g!, mul(b!, pow(a!, sub(b!, 1)))), a!.shape) : null,
  b!.requires_grad ? unbroadcast(mul(g!, mul(y!, natlog(a!))), b!.shape) : null,
]);
// torch.maximum/minimum: the gradient goes to the larger (smaller) input, split evenly on ties.
function extremumGrad(pick: OpDef<NoAttrs>) {
  return ({ inputs: [a, b], grads: [g] }: GradContext<NoAttrs>) => {
    const ties = mul(call2(eqOp)(a!, b!), 0.5);
    const toA = add(call2(pick)(a!, b!), ties); // 1 where a wins, 0.5 on ties
    return [
      a!.requires_grad ? unbroadcast(mul(g!, toA), a!.shape) : null,
      b!.requires_grad ? unbroadcast(mul(g!, sub(1, toA)), b!.shape) : null,
    ];
  };
}
const gtOp = binaryOp('greater', 'a > b (1 or 0)', undefined, true);
const ltOp = binaryOp('less', 'a < b (1 or 0)', undefined, true);
const eqOp = binaryOp('equal', 'a == b (1 or 0)', undefined, true);
const maximumOp = binaryOp('maximum', 'elementwise max(a, b); NaN propagates', extremumGrad(gtOp));
const minimumOp = binaryOp('minimum', 'elementwise min(a, b); NaN propagates', extremumGrad(ltOp));

/** a + b. */
export const add = call2(addOp);
/** a - b. */
export const sub = call2(subOp);
/** a * b. */
export const mul = call2(mulOp);
/** a * b (the same function as mul). */
export const multiply = mul;
/** a / b. */
export const div = call2(divOp);
/** elementwise max(a, b); NaN propagates. */
export const maximum = call2(maximumOp);
/** elementwise min(a, b); NaN propagates. */
export const minimum = call2(minimumOp);
/** a ** b: b a number (pow_scalar) or a tensor (broadcasting). */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === 'number') return pow_scalar(a, b);
  return call2(powOp)(a, b);
}

/** a > b (1 or 0). */
export const greater = call2(gtOp);
/** a < b (1 or 0). */
export const less = call2(ltOp);
/** a == b (1 or 0). */
export const equal = call2(eqOp);
/** a >= b (1 or 0). */
export const greater_equal = call2(binaryOp('greater_equal', 'a >= b (1 or 0)', undefined, true));
/** a <= b (1 or 0). */
export const less_equal = call2(binaryOp('less_equal', 'a <= b (1 or 0)', undefined, true));
/** a != b (1 or 0). */
export const not_equal = call2(binaryOp('not_equal', 'a != b (1 or 0)', undefined, true));
/** a && b (nonzero is true; 1 or 0). */
export const logical_and = call2(binaryOp('logical_and', 'a && b (nonzero is true; 1 or 0)', undefined, true));
/** a || b (1 or 0). */
export const logical_or = call2(binaryOp('logical_or', 'a || b (1 or 0)', undefined, true));
/** a xor b (1 or 0). */
export const logical_xor = call2(binaryOp('logical_xor', 'a xor b (1 or 0)', undefined, true));

// ---- broadcast_to / sum_to: each is the other's gradient ----
interface ShapeAttr {
  shape: number[];
}
const shapeSchema = { shape: { check: intList({ min: 0 }), default: [] as number[] } };

const broadcastToOp: OpDef<ShapeAttr> = defineOp<ShapeAttr>({
  name: 'broadcast_to',
  doc: 'x repeated along broadcast dims to `shape`',
  inputs: [{ name: 'x' }],
  attrs: shapeSchema,
  infer: ([x], { shape }) => {
    if (!sameShape(broadcastShapes('broadcast_to', x!.shape, shape), shape)) {
      throw new ShapeError(`broadcast_to: shape ${shapeStr(x!.shape)} does not broadcast to ${shapeStr(shape)}`);
    }
    return [{ shape, dtype: 'float32' }];
  },
  grad: ({ inputs: [x], grads: [g] }) => [sum_to(g!, x!.shape)],
});
const sumToOp: OpDef<ShapeAttr> = defineOp<ShapeAttr>({
  name: 'sum_to',
  doc: 'sums x over broadcast dims down to `shape` (the gradient of broadcasting)',
  inputs: [{ name: 'x' }],
  attrs: shapeSchema,
  infer: ([x], { shape }) => {
    if (!sameShape(broadcastShapes('sum_to', x!.shape, shape), x!.shape)) {
      throw new ShapeError(`sum_to: shape ${shapeStr(shape)} does not broadcast to the input's ${shapeStr(x!.shape)}`);
    }
    return [{ shape, dtype: 'float32' }];
  },
  grad: ({ inputs: [x], grads: [g] }) => [broadcast_to(g!, x!.shape)],
});

/** x repeated along broadcast dims to `shape`. */
export function broadcast_to(x: TensorLike, shape: Shape): Tensor {
  const t = toTensor(x, 'broadcast_to');
  return dispatch(broadcastToOp, [t], { shape: intList({ min: 0 })(shape, badShape('broadcast_to', shape)) })[0]!;
}
/** sums x over broadcast dims down to `shape` (the gradient of broadcasting). */
export function sum_to(x: TensorLike, shape: Shape): Tensor {
  const t = toTensor(x, 'sum_to');
  return dispatch(sumToOp, [t], { shape: intList({ min: 0 })(shape, badShape('sum_to', shape)) })[0]!;
}
function badShape(op: string, v: unknown) {
  return (expected: string): never => {
    throw new ShapeError(`${op}: shape must be ${expected}, got ${JSON.stringify(v)}`);
  };
}

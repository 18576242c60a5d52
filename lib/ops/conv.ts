// conv2d and max_pool2d (torch.nn.functional semantics) with their backward ops.
import { native } from '../native/load.js';
import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { type AttrCheck, type AttrSchema, bool, int, intList, intPair, nullable, oneOf, parseAttrs, required } from './attrs.js';
import { defineOp, dispatch } from './define.js';
import { reshape } from './shape.js';
import { expectShape, nativeShape } from './nn-common.js';

const N = native();

type Pair = number | [number, number];
type ConvPadding = Pair | 'same' | 'valid';
type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface Conv2dAttrs {
  stride: Pair;
  padding: ConvPadding;
  dilation: Pair;
  groups: number;
  padding_mode: PaddingMode;
}

const pairMin0 = intPair({ min: 0 });
const convPadding: AttrCheck<ConvPadding> = (v, bad) => {
  if (v === 'same' || v === 'valid') return v;
  return pairMin0(v, () => bad("an integer >= 0, a pair of them, 'same' or 'valid'"));
};
const convSchema: AttrSchema<Conv2dAttrs> = {
  stride: { check: intPair({ min: 1 }), default: 1 },
  padding: { check: convPadding, default: 0 },
  dilation: { check: intPair({ min: 1 }), default: 1 },
  groups: { check: int({ min: 1 }), default: 1 },
  padding_mode: { check: oneOf('zeros', 'reflect', 'replicate', 'circular'), default: 'zeros' },
};

/** The native attrs object (the binding rejects keys it does not know, like x_shape). */
const convNative = (a: Conv2dAttrs) => ({ stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups, padding_mode: a.padding_mode });
const convShape = (op: string, xShape: readonly number[], wShape: readonly number[], a: Conv2dAttrs) =>
  nativeShape(op, { x: xShape, w: wShape }, () => N.conv2d_shape(xShape as number[], wShape as number[], convNative(a)));

interface ConvXShape extends Conv2dAttrs {
  x_shape: number[];
}
interface ConvWShape extends Conv2dAttrs {
  w_shape: number[];
}

const backwardInput = defineOp<ConvXShape>({
  name: 'conv2d_backward_input',
  doc: 'gradient of conv2d w.r.t. x: (gy, w) -> gx of shape x_shape',
  inputs: [{ name: 'gy' }, { name: 'w' }],
  attrs: { ...convSchema, x_shape: { check: intList({ min: 0 }), default: required } },
  gradientOf: 'conv2d',
  infer: ([gy, w], a) => {
    expectShape('conv2d_backward_input', 'gy', gy!.shape, convShape('conv2d_backward_input', a.x_shape, w!.shape, a), `conv2d of x ${shapeStr(a.x_shape)} with w ${shapeStr(w!.shape)}`);
    return [{ shape: a.x_shape, dtype: 'float32' }];
  },
});

const backwardWeight = defineOp<ConvWShape>({
  name: 'conv2d_backward_weight',
  doc: 'gradient of conv2d w.r.t. w: (gy, x) -> gw of shape w_shape',
  inputs: [{ name: 'gy' }, { name: 'x' }],
  attrs: { ...convSchema, w_shape: { check: intList({ min: 0 }), default: required } },
  gradientOf: 'conv2d',
  infer: ([gy, x], a) => {
    expectShape('conv2d_backward_weight', 'gy', gy!.shape, convShape('conv2d_backward_weight', x!.shape, a.w_shape, a), `conv2d of x ${shapeStr(x!.shape)} with w ${shapeStr(a.w_shape)}`);
    return [{ shape: a.w_shape, dtype: 'float32' }];
  },
});

const backwardBias = defineOp({
  name: 'conv2d_backward_bias',
  doc: 'gradient of conv2d w.r.t. bias: gy summed over N, H and W',
  inputs: [{ name: 'gy' }],
  attrs: {},
  gradientOf: 'conv2d',
  infer: ([gy]) => {
    if (gy!.ndim !== 4) throw new ShapeError(`conv2d_backward_bias: gy must be 4-D (N, C, H, W), got ${shapeStr(gy!.shape)}`);
    return [{ shape: [gy!.shape[1]!], dtype: 'float32' }];
  },
});

const conv2dOp = defineOp<Conv2dAttrs>({
  name: 'conv2d',
  doc: '2-D cross-correlation over NCHW like torch.nn.functional.conv2d: (x, w, bias?) -> y',
  inputs: [{ name: 'x' }, { name: 'w' }, { name: 'bias', optional: true }],
  attrs: convSchema,
  infer: ([x, w, b], a) => {
    const shape = convShape('conv2d', x!.shape, w!.shape, a);
    if (b) expectShape('conv2d', 'bias', b.shape, [w!.shape[0]!], `w ${shapeStr(w!.shape)}`);
    return [{ shape, dtype: 'float32' }];
  },
  grad: ({ inputs: [x, w, b], grads: [gy], attrs }) => [
    x!.requires_grad ? dispatch(backwardInput, [gy!, w!], { ...attrs, x_shape: [...x!.shape] })[0]! : null,
    w!.requires_grad ? dispatch(backwardWeight, [gy!, x!], { ...attrs, w_shape: [...w!.shape] })[0]! : null,
    b?.requires_grad ? dispatch(backwardBias, [gy!], {})[0]! : null,
  ],
});

/**
 * 2-D convolution like torch.nn.functional.conv2d: x (N, C, H, W) or unbatched (C, H, W),
 * w (Cout, C/groups, KH, KW), bias (Cout) or null.
 *
 * Catalog op `conv2d`: 2-D cross-correlation over NCHW like torch.nn.functional.conv2d: (x, w, bias?) -> y.
 */
export function conv2d(x: TensorLike, w: TensorLike, bias: TensorLike | null = null, options?: Partial<Conv2dAttrs>): Tensor {
  const attrs = parseAttrs('conv2d', convSchema, options);
  const xt = toTensor(x, 'conv2d');
  const inputs = [xt, toTensor(w, 'conv2d'), bias == null ? null : toTensor(bias, 'conv2d')];
  if (xt.ndim !== 3) return dispatch(conv2dOp, inputs, attrs)[0]!;
  const y = dispatch(conv2dOp, [reshape(xt, [1, ...xt.shape]), inputs[1]!, inputs[2]!], attrs)[0]!;
  return reshape(y, y.shape.slice(1));
}

// ---- max pooling ----
export interface MaxPool2dAttrs {
  kernel_size: Pair;
  stride: Pair | null;
  padding: Pair;
  dilation: Pair;
  ceil_mode: boolean;
  /** Only changes what the public function returns (the op always outputs the indices). */
  return_indices: boolean;
}
const poolSchema: AttrSchema<MaxPool2dAttrs> = {
  kernel_size: { check: intPair({ min: 1 }), default: required },
  stride: { check: nullable(intPair({ min: 1 })), default: null },
  padding: { check: pairMin0, default: 0 },
  dilation: { check: intPair({ min: 1 }), default: 1 },
  ceil_mode: { check: bool, default: false },
  return_indices: { check: bool, default: false },
};
const poolNative = (a: MaxPool2dAttrs) => ({ kernel_size: a.kernel_size, stride: a.stride, padding: a.padding, dilation: a.dilation, ceil_mode: a.ceil_mode });

const maxPoolBackward = defineOp<{ x_shape: number[] }>({
  name: 'max_pool2d_backward',
  doc: 'gradient of max_pool2d: (gy, indices) -> gx of shape x_shape (gy summed into the argmax positions)',
  inputs: [{ name: 'gy' }, { name: 'indices', dtype: 'int32' }],
  attrs: { x_shape: { check: intList({ min: 0 }), default: required } },
  gradientOf: 'max_pool2d',
  infer: ([gy, idx], { x_shape }) => {
    expectShape('max_pool2d_backward', 'gy', gy!.shape, idx!.shape, 'indices');
    if (x_shape.length !== gy!.ndim || (x_shape.length !== 3 && x_shape.length !== 4) || x_shape.slice(0, -2).some((d, i) => d !== gy!.shape[i])) {
      throw new ShapeError(`max_pool2d_backward: gy ${shapeStr(gy!.shape)} is not a pooled shape of x ${shapeStr(x_shape)}`);
    }
    return [{ shape: x_shape, dtype: 'float32' }];
  },
});

const maxPoolOp = defineOp<MaxPool2dAttrs>({
  name: 'max_pool2d',
  doc: 'max pooling over (N, C, H, W) or (C, H, W) like torch: x -> [y, indices (int32, flat per H*W plane)]',
  inputs: [{ name: 'x' }],
  attrs: poolSchema,
  infer: ([x], a) => {
    const shape = nativeShape('max_pool2d', { x: x!.shape }, () => N.maxpool2d_shape(x!.shape as number[], poolNative(a)));
    return [
      { shape, dtype: 'float32' },
      { shape, dtype: 'int32', differentiable: false },
    ];
  },
  grad: ({ inputs: [x], outputs: [, idx], grads: [gy] }) => [gy ? dispatch(maxPoolBackward, [gy, idx!], { x_shape: [...x!.shape] })[0]! : null],
});

/**
 * Max pooling like torch.nn.functional.max_pool2d: y, or [y, indices] with return_indices.
 *
 * Catalog op `max_pool2d`: max pooling over (N, C, H, W) or (C, H, W) like torch: x -> [y, indices (int32, flat per H*W plane)].
 */
export function max_pool2d(x: TensorLike, options: Partial<MaxPool2dAttrs> & { kernel_size: Pair; return_indices: true }): [Tensor, Tensor];
export function max_pool2d(x: TensorLike, options: Partial<MaxPool2dAttrs> & { kernel_size: Pair; return_indices?: false }): Tensor;
export function max_pool2d(x: TensorLike, options: Partial<MaxPool2dAttrs> & { kernel_size: Pair }): Tensor | [Tensor, Tensor];
export function max_pool2d(x: TensorLike, options: Partial<MaxPool2dAttrs> & { kernel_size: Pair }): Tensor | [Tensor, Tensor] {
  const attrs = parseAttrs('max_pool2d', poolSchema, options);
  const [y, idx] = dispatch(maxPoolOp, [toTensor(x, 'max_pool2d')], attrs);
  // idx is kept alive by the tape (the gradient needs it) even when not returned.
  return attrs.return_indices ? [y!, idx!] : y!;
}

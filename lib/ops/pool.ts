// Average pooling (torch.nn.functional semantics): avg_pool2d and adaptive_avg_pool2d with their
// backward ops, and global_avg_pool2d. Their native kernels lay out each op's windows (rows and
// columns each output reads, and its divisor: native/src/registry_conv.cpp) and average over
// them plane by plane, in a fixed order (deterministic).
import { native } from '../native/load.js';
import { ShapeError } from '../errors.js';
import { type Tensor, numel, shapeStr } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { type AttrCheck, type AttrSchema, bool, int, intList, intPair, nullable, parseAttrs, required } from './attrs.js';
import { defineOp, dispatch } from './define.js';
import { mean } from './reduce.js';
import { expectShape, nativeShape } from './nn-common.js';

const N = native();
type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** x as [planes, H, W] (x is (N, C, H, W) or (C, H, W)). */
function planes(op: string, shape: readonly number[]): [number, number, number] {
  if (shape.length !== 3 && shape.length !== 4) throw new ShapeError(`${op}: x must be (N, C, H, W) or (C, H, W), got ${shapeStr(shape)}`);
  const r = shape.length;
  return [numel(shape.slice(0, r - 2)), shape[r - 2]!, shape[r - 1]!];
}

// ---- avg_pool2d ----
export interface AvgPool2dAttrs {
  kernel_size: Pair;
  /** Default (null): kernel_size. */
  stride: Pair | null;
  /** Implicit zero padding on both sides, at most half the kernel. */
  padding: Pair;
  ceil_mode: boolean;
  /** Count the zero padding in each window's divisor. */
  count_include_pad: boolean;
  /** Divide every window by this instead. */
  divisor_override: number | null;
}
const avgSchema: AttrSchema<AvgPool2dAttrs> = {
  kernel_size: { check: intPair({ min: 1 }), default: required },
  stride: { check: nullable(intPair({ min: 1 })), default: null },
  padding: { check: intPair({ min: 0 }), default: 0 },
  ceil_mode: { check: bool, default: false },
  count_include_pad: { check: bool, default: true },
  divisor_override: { check: nullable(int({ min: 1 })), default: null },
};

/** The output shape: torch's pooling rule, shared with max pooling (dilation 1). */
const avgShape = (op: string, x: readonly number[], a: AvgPool2dAttrs) =>
  nativeShape(op, { x }, () => N.maxpool2d_shape(x as number[], { kernel_size: a.kernel_size, stride: a.stride, padding: a.padding, dilation: 1, ceil_mode: a.ceil_mode }));

const avgBackward = defineOp<AvgPool2dAttrs & { x_shape: number[] }>({
  name: 'avg_pool2d_backward',
  doc: 'gradient of avg_pool2d: (gy) -> gx of shape x_shape (each gy spread evenly over its window)',
  inputs: [{ name: 'gy' }],
  attrs: { ...avgSchema, x_shape: { check: intList({ min: 0 }), default: required } },
  gradientOf: 'avg_pool2d',
  infer: ([gy], a) => {
    expectShape('avg_pool2d_backward', 'gy', gy!.shape, avgShape('avg_pool2d_backward', a.x_shape, a), `avg_pool2d of x ${shapeStr(a.x_shape)}`);
    return [{ shape: a.x_shape, dtype: 'float32' }];
  },
});

const avgOp = defineOp<AvgPool2dAttrs>({
  name: 'avg_pool2d',
  doc: 'average pooling over (N, C, H, W) or (C, H, W) like torch.nn.functional.avg_pool2d (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)',
  inputs: [{ name: 'x' }],
  attrs: avgSchema,
  infer: ([x], a) => [{ shape: avgShape('avg_pool2d', x!.shape, a), dtype: 'float32' }],
  grad: ({ inputs: [x], grads: [gy], attrs }) => [dispatch(avgBackward, [gy!], { ...attrs, x_shape: [...x!.shape] })[0]!],
});

/**
 * Average pooling like torch.nn.functional.avg_pool2d: x (N, C, H, W) or (C, H, W).
 *
 * Catalog op `avg_pool2d`: average pooling over (N, C, H, W) or (C, H, W) like torch.nn.functional.avg_pool2d (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override).
 */
export function avg_pool2d(x: TensorLike, options: Partial<AvgPool2dAttrs> & { kernel_size: Pair }): Tensor {
  return dispatch(avgOp, [toTensor(x, 'avg_pool2d')], parseAttrs('avg_pool2d', avgSchema, options))[0]!;
}

// ---- adaptive_avg_pool2d ----
export interface AdaptiveAvgPool2dAttrs {
  /** The output's (H, W): an int for both, or a pair whose entries may be null (keep the input's size). */
  output_size: number | [number | null, number | null];
}
const outputSize: AttrCheck<AdaptiveAvgPool2dAttrs['output_size']> = (v, bad) => {
  const ok = (d: unknown) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 1;
  if (ok(v)) return v as number;
  if (Array.isArray(v) && v.length === 2 && v.every((d) => d === null || ok(d))) return [v[0], v[1]];
  return bad('an integer >= 1 or a pair of them (null keeps the input size)');
};
const adaptiveSchema: AttrSchema<AdaptiveAvgPool2dAttrs> = { output_size: { check: outputSize, default: required } };

function adaptiveShape(op: string, x: readonly number[], a: AdaptiveAvgPool2dAttrs): number[] {
  const [, H, W] = planes(op, x);
  if (H === 0 || W === 0) throw new ShapeError(`${op}: x ${shapeStr(x)} must have non-empty H and W`);
  const [oh, ow] = typeof a.output_size === 'number' ? [a.output_size, a.output_size] : a.output_size;
  return [...x.slice(0, -2), oh ?? H, ow ?? W];
}

const adaptiveBackward = defineOp<AdaptiveAvgPool2dAttrs & { x_shape: number[] }>({
  name: 'adaptive_avg_pool2d_backward',
  doc: 'gradient of adaptive_avg_pool2d: (gy) -> gx of shape x_shape',
  inputs: [{ name: 'gy' }],
  attrs: { ...adaptiveSchema, x_shape: { check: intList({ min: 0 }), default: required } },
  gradientOf: 'adaptive_avg_pool2d',
  infer: ([gy], a) => {
    expectShape('adaptive_avg_pool2d_backward', 'gy', gy!.shape, adaptiveShape('adaptive_avg_pool2d_backward', a.x_shape, a), `adaptive_avg_pool2d of x ${shapeStr(a.x_shape)}`);
    return [{ shape: a.x_shape, dtype: 'float32' }];
  },
});

const adaptiveOp = defineOp<AdaptiveAvgPool2dAttrs>({
  name: 'adaptive_avg_pool2d',
  doc: 'average pooling to a fixed output size (H, W) like torch.nn.functional.adaptive_avg_pool2d: x (N, C, H, W) or (C, H, W)',
  inputs: [{ name: 'x' }],
  attrs: adaptiveSchema,
  infer: ([x], a) => [{ shape: adaptiveShape('adaptive_avg_pool2d', x!.shape, a), dtype: 'float32' }],
  grad: ({ inputs: [x], grads: [gy], attrs }) => [dispatch(adaptiveBackward, [gy!], { ...attrs, x_shape: [...x!.shape] })[0]!],
});

/**
 * Average pooling to output_size like torch.nn.functional.adaptive_avg_pool2d.
 *
 * Catalog op `adaptive_avg_pool2d`: average pooling to a fixed output size (H, W) like torch.nn.functional.adaptive_avg_pool2d: x (N, C, H, W) or (C, H, W).
 */
export function adaptive_avg_pool2d(x: TensorLike, output_size: AdaptiveAvgPool2dAttrs['output_size']): Tensor {
  return dispatch(adaptiveOp, [toTensor(x, 'adaptive_avg_pool2d')], parseAttrs('adaptive_avg_pool2d', adaptiveSchema, { output_size }))[0]!;
}

/**
 * Global average pooling: the mean of each (H, W) plane of x (N, C, H, W) or (C, H, W), giving
 * (N, C) (or (N, C, 1, 1) with keepdims), like torch's adaptive_avg_pool2d(x, 1) then flatten.
 */
export function global_avg_pool2d(x: TensorLike, options: { keepdims?: boolean } = {}): Tensor {
  const { keepdims } = parseAttrs('global_avg_pool2d', { keepdims: { check: bool, default: false } }, options);
  const t = toTensor(x, 'global_avg_pool2d');
  planes('global_avg_pool2d', t.shape);
  return mean(t, [-2, -1], keepdims);
}

// Average pooling (torch.nn.functional semantics): avg_pool2d and adaptive_avg_pool2d with their
// backward ops, and global_avg_pool2d. Each op lays out its windows here (the one place their
// rules live: rows and columns each output reads, and its divisor); one native kernel pair
// averages over any such windows, plane by plane, in a fixed order (deterministic).
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

/**
 * Where each output of a plane reads: rows [h0[oh], h1[oh]) and columns [w0[ow], w1[ow]) of the
 * input, and the divisor of its sum by output position oh * OW + ow.
 */
interface Windows {
  h0: Int32Array;
  h1: Int32Array;
  w0: Int32Array;
  w1: Int32Array;
  div: Int32Array;
}

/** avg_pool2d's windows: clipped to the padded input first, whose window size is the divisor with count_include_pad (torch's rule). */
function avgWindows(xShape: readonly number[], yShape: readonly number[], a: AvgPool2dAttrs): Windows {
  const [, H, W] = planes('avg_pool2d', xShape);
  const [, OH, OW] = planes('avg_pool2d', yShape);
  const [kh, kw] = pair(a.kernel_size);
  const [sh, sw] = pair(a.stride ?? a.kernel_size);
  const [ph, pw] = pair(a.padding);
  const axis = (O: number, I: number, k: number, st: number, pad: number) => {
    const lo = new Int32Array(O), hi = new Int32Array(O), padded = new Int32Array(O);
    for (let o = 0; o < O; o++) {
      const start = o * st - pad;
      const stop = Math.min(start + k, I + pad);
      padded[o] = stop - start;
      lo[o] = Math.max(start, 0);
      hi[o] = Math.min(stop, I);
    }
    return [lo, hi, padded] as const;
  };
  const [h0, h1, hp] = axis(OH, H, kh, sh, ph);
  const [w0, w1, wp] = axis(OW, W, kw, sw, pw);
  const div = new Int32Array(OH * OW);
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      div[oh * OW + ow] = a.divisor_override ?? (a.count_include_pad ? hp[oh]! * wp[ow]! : (h1[oh]! - h0[oh]!) * (w1[ow]! - w0[ow]!));
    }
  }
  return { h0, h1, w0, w1, div };
}

/** Average pooling of x over the windows, into y (the op's kernel). */
function poolForward(x: Tensor, y: Tensor, w: Windows): void {
  N.avgpool2d(x._data as Float32Array, x.shape as number[], w.h0, w.h1, w.w0, w.w1, w.div, y._data as Float32Array);
}

/** The gradient of poolForward: gy spread evenly over each window, into gx (shape xShape). */
function poolBackward(gy: Tensor, gx: Tensor, xShape: number[], w: Windows): void {
  N.avgpool2d_backward(gy._data as Float32Array, gy.shape as number[], w.h0, w.h1, w.w0, w.w1, w.div, gx._data as Float32Array, xShape);
}

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
  kernel: ([gy], [gx], a) => poolBackward(gy!, gx!, a.x_shape, avgWindows(a.x_shape, gy!.shape, a)),
});

const avgOp = defineOp<AvgPool2dAttrs>({
  name: 'avg_pool2d',
  doc: 'average pooling over (N, C, H, W) or (C, H, W) like torch.nn.functional.avg_pool2d (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)',
  inputs: [{ name: 'x' }],
  attrs: avgSchema,
  infer: ([x], a) => [{ shape: avgShape('avg_pool2d', x!.shape, a), dtype: 'float32' }],
  kernel: ([x], [y], a) => poolForward(x!, y!, avgWindows(x!.shape, y!.shape, a)),
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

/** torch's adaptive window of output i: [floor(i * I / O), ceil((i + 1) * I / O)). */
const start = (i: number, I: number, O: number) => Math.floor((i * I) / O);
const end = (i: number, I: number, O: number) => Math.ceil(((i + 1) * I) / O);

/** adaptive_avg_pool2d's windows, each divided by its own size. */
function adaptiveWindows(xShape: readonly number[], yShape: readonly number[]): Windows {
  const [, H, W] = planes('adaptive_avg_pool2d', xShape);
  const [, OH, OW] = planes('adaptive_avg_pool2d', yShape);
  const axis = (O: number, I: number) => [Int32Array.from({ length: O }, (_, i) => start(i, I, O)), Int32Array.from({ length: O }, (_, i) => end(i, I, O))] as const;
  const [h0, h1] = axis(OH, H);
  const [w0, w1] = axis(OW, W);
  const div = new Int32Array(OH * OW);
  for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) div[oh * OW + ow] = (h1[oh]! - h0[oh]!) * (w1[ow]! - w0[ow]!);
  return { h0, h1, w0, w1, div };
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
  kernel: ([gy], [gx], a) => poolBackward(gy!, gx!, a.x_shape, adaptiveWindows(a.x_shape, gy!.shape)),
});

const adaptiveOp = defineOp<AdaptiveAvgPool2dAttrs>({
  name: 'adaptive_avg_pool2d',
  doc: 'average pooling to a fixed output size (H, W) like torch.nn.functional.adaptive_avg_pool2d: x (N, C, H, W) or (C, H, W)',
  inputs: [{ name: 'x' }],
  attrs: adaptiveSchema,
  infer: ([x], a) => [{ shape: adaptiveShape('adaptive_avg_pool2d', x!.shape, a), dtype: 'float32' }],
  kernel: ([x], [y]) => poolForward(x!, y!, adaptiveWindows(x!.shape, y!.shape)),
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

// conv1d (torch.nn.functional semantics) on the conv2d kernels: (N, C, L) is (N, C, 1, L) with the
// same data, so the op runs conv2d with a unit height, and its gradient is conv2d's backward ops
// on those views.
import { native } from '../native/load.js';
import { ShapeError } from '../errors.js';
import { type Tensor, shapeStr } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { type AttrCheck, type AttrSchema, int, oneOf, parseAttrs } from './attrs.js';
import { defineOp, dispatch, getOp } from './define.js';
import { reshape } from './shape.js';
import { expectShape, nativeShape } from './nn-common.js';

const N = native();

type Conv1dPadding = number | 'same' | 'valid';
export interface Conv1dAttrs {
  stride: number;
  /** Zeros (or padding_mode values) added to both ends; 'same' (stride 1) or 'valid' (0). */
  padding: Conv1dPadding;
  dilation: number;
  groups: number;
  padding_mode: 'zeros' | 'reflect' | 'replicate' | 'circular';
}

const padding: AttrCheck<Conv1dPadding> = (v, bad) =>
  v === 'same' || v === 'valid' || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) ? v : bad("an integer >= 0, 'same' or 'valid'");
const schema: AttrSchema<Conv1dAttrs> = {
  stride: { check: int({ min: 1 }), default: 1 },
  padding: { check: padding, default: 0 },
  dilation: { check: int({ min: 1 }), default: 1 },
  groups: { check: int({ min: 1 }), default: 1 },
  padding_mode: { check: oneOf('zeros', 'reflect', 'replicate', 'circular'), default: 'zeros' },
};

/** The conv2d attributes of the unit-height equivalent. */
const as2d = (a: Conv1dAttrs) => ({
  stride: [1, a.stride] as [number, number],
  padding: typeof a.padding === 'number' ? ([0, a.padding] as [number, number]) : a.padding,
  dilation: [1, a.dilation] as [number, number],
  groups: a.groups,
  padding_mode: a.padding_mode,
});
const unit = (s: readonly number[]) => [s[0]!, s[1]!, 1, s[2]!];

function outShape(op: string, x: readonly number[], w: readonly number[], a: Conv1dAttrs): number[] {
  if (x.length !== 3) throw new ShapeError(`${op}: x must be (N, C, L), got ${shapeStr(x)}`);
  if (w.length !== 3) throw new ShapeError(`${op}: w must be (out_channels, in_channels / groups, kernel_size), got ${shapeStr(w)}`);
  const y = nativeShape(op, { x, w }, () => N.conv2d_shape(unit(x), unit(w), as2d(a)));
  return [y[0]!, y[1]!, y[3]!];
}

const conv1dOp = defineOp<Conv1dAttrs>({
  name: 'conv1d',
  doc: '1-D cross-correlation over (N, C, L) like torch.nn.functional.conv1d: (x, w (out, in/groups, k), bias?) -> y',
  inputs: [{ name: 'x' }, { name: 'w' }, { name: 'bias', optional: true }],
  attrs: schema,
  infer: ([x, w, b], a) => {
    const shape = outShape('conv1d', x!.shape, w!.shape, a);
    if (b) expectShape('conv1d', 'bias', b.shape, [w!.shape[0]!], `w ${shapeStr(w!.shape)}`);
    return [{ shape, dtype: 'float32' }];
  },
  grad: ({ inputs: [x, w, b], grads: [gy], attrs }) => {
    const a2 = as2d(attrs);
    const gy4 = x!.requires_grad || w!.requires_grad ? reshape(gy!, unit(gy!.shape)) : null;
    return [
      x!.requires_grad ? reshape(dispatch(getOp('conv2d_backward_input'), [gy4, reshape(w!, unit(w!.shape))], { ...a2, x_shape: unit(x!.shape) })[0]!, x!.shape) : null,
      w!.requires_grad ? reshape(dispatch(getOp('conv2d_backward_weight'), [gy4, reshape(x!, unit(x!.shape))], { ...a2, w_shape: unit(w!.shape) })[0]!, w!.shape) : null,
      b?.requires_grad ? dispatch(getOp('conv2d_backward_bias'), [reshape(gy!, unit(gy!.shape))], {})[0]! : null,
    ];
  },
});

/**
 * 1-D convolution like torch.nn.functional.conv1d: x (N, C, L) or unbatched (C, L),
 * w (out_channels, C / groups, kernel_size), bias (out_channels) or null.
 *
 * Catalog op `conv1d`: 1-D cross-correlation over (N, C, L) like torch.nn.functional.conv1d: (x, w (out, in/groups, k), bias?) -> y.
 */
export function conv1d(x: TensorLike, w: TensorLike, bias: TensorLike | null = null, options?: Partial<Conv1dAttrs>): Tensor {
  const attrs = parseAttrs('conv1d', schema, options);
  const xt = toTensor(x, 'conv1d');
  const inputs = [xt, toTensor(w, 'conv1d'), bias == null ? null : toTensor(bias, 'conv1d')];
  if (xt.ndim !== 2) return dispatch(conv1dOp, inputs, attrs)[0]!;
  const y = dispatch(conv1dOp, [reshape(xt, [1, ...xt.shape]), inputs[1]!, inputs[2]!], attrs)[0]!;
  return reshape(y, y.shape.slice(1));
}

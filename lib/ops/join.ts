// Joining and cutting tensors: concat/stack, split, slice, pad, tile, repeat.
// concat, split, slice and pad are catalog ops on native kernels (float32 and int32 except pad);
// stack, tile and repeat are composites, so their gradients come from the pieces.
import { native } from '../native/load.js';
import { AttrError, DtypeError, RavdlError, ShapeError, fromNative } from '../errors.js';
import { type Shape, type Tensor, numel, shapeStr } from '../tensor/tensor.js';
import { type TensorLike, t, toTensor } from '../tensor/create.js';
import { int, intList, num, oneOf, parseAttrs, required } from './attrs.js';
import { defineOp, dispatch } from './define.js';
import { normAxis, toTensorList } from './axes.js';
import { sameShape } from './shape-rules.js';
import { broadcast_to } from './binary.js';
import { zeros } from './creation.js';
import { expand_dims, flatten, reshape } from './shape.js';
import { gather } from './indexing.js';

const N = native();

/** x's shape with dim `axis` replaced by `size`. */
const withDim = (s: Shape, axis: number, size: number): number[] => s.map((d, i) => (i === axis ? size : d));

// ---- concat / split: each is the other's gradient ----
const concatOp = defineOp<{ axis: number }>({
  name: 'concat',
  doc: 'joins tensors of one dtype along axis; all other dims must match',
  inputs: [{ name: 'tensors', dtype: 'any' }],
  variadic: true,
  attrs: { axis: { check: int(), default: 0 } },
  infer: (ins, { axis }) => {
    if (ins.length === 0) throw new ShapeError('concat: needs at least one tensor, got none');
    const dtype = ins[0]!.dtype;
    ins.forEach((x, i) => {
      if (x!.dtype !== dtype) throw new DtypeError(`concat: tensor ${i} is ${x!.dtype} but tensor 0 is ${dtype}; all tensors must have one dtype`);
    });
    // The native rule names the first tensor whose shape differs and the dim.
    return [{ shape: N.concat_shape(ins.map((x) => x!.shape as number[]), axis), dtype }];
  },
  grad: ({ inputs, grads: [g], attrs: { axis } }) => {
    const a = normAxis('concat', axis, g!.ndim);
    return splitSizes(g!, inputs.map((x) => x!.shape[a]!), a);
  },
});

interface SplitAttrs {
  sizes: number[];
  axis: number;
}
const splitOp = defineOp<SplitAttrs>({
  name: 'split',
  doc: 'cuts x along axis into consecutive pieces of the given sizes (summing to that dim)',
  inputs: [{ name: 'x', dtype: 'any' }],
  attrs: { sizes: { check: intList({ min: 0 }), default: required }, axis: { check: int(), default: 0 } },
  infer: ([x], { sizes, axis }) => {
    const a = normAxis('split', axis, x!.ndim);
    const total = sizes.reduce((p, s) => p + s, 0);
    if (sizes.length === 0) throw new ShapeError('split: sizes must list at least one piece, got []');
    if (total !== x!.shape[a]) {
      throw new ShapeError(`split: sizes [${sizes.join(', ')}] sum to ${total}, but axis ${axis} of x ${shapeStr(x!.shape)} has size ${x!.shape[a]}`);
    }
    return sizes.map((s) => ({ shape: withDim(x!.shape, a, s), dtype: x!.dtype }));
  },
  // Pieces no gradient reached contribute zeros.
  grad: ({ outputs, grads, attrs: { axis } }) => [concat(grads.map((g, i) => g ?? zeros(outputs[i]!.shape, { device: outputs[i]!.device })), axis)],
});

function splitSizes(x: Tensor, sizes: number[], axis: number): Tensor[] {
  return dispatch(splitOp, [x], { sizes, axis });
}

/**
 * Joins tensors along an existing axis (negative from the end); all other dims must match.
 *
 * Catalog op `concat`: joins tensors of one dtype along axis; all other dims must match.
 */
export function concat(tensors: readonly TensorLike[], axis = 0): Tensor {
  return dispatch(concatOp, toTensorList('concat', tensors), parseAttrs('concat', concatOp.attrs, { axis }))[0]!;
}

/** Joins same-shape tensors along a new axis (torch.stack / numpy.stack). */
export function stack(tensors: readonly TensorLike[], axis = 0): Tensor {
  const list = toTensorList('stack', tensors);
  const first = list[0]!;
  list.forEach((x, i) => {
    if (!sameShape(x.shape, first.shape)) throw new ShapeError(`stack: tensor ${i} has shape ${shapeStr(x.shape)} but tensor 0 has ${shapeStr(first.shape)}; all shapes must be equal`);
  });
  const a = normAxis('stack', axis, first.ndim + 1);
  return concat(
    list.map((x) => expand_dims(x, a)),
    a,
  );
}

/**
 * Splits x along axis: a number n cuts it into n equal sections (n must divide the dim, like
 * numpy.split); a list gives the size of each piece (they must sum to the dim).
 *
 * Catalog op `split`: cuts x along axis into consecutive pieces of the given sizes (summing to that dim).
 */
export function split(x: TensorLike, sizes_or_sections: number | readonly number[], axis = 0): Tensor[] {
  const tx = toTensor(x, 'split');
  let sizes: number[];
  if (typeof sizes_or_sections === 'number') {
    const n = sizes_or_sections;
    if (!Number.isSafeInteger(n) || n < 1) throw new AttrError(`split: sections must be an integer >= 1, got ${n}`);
    const dim = tx.shape[normAxis('split', axis, tx.ndim)]!;
    if (dim % n !== 0) throw new ShapeError(`split: ${n} sections do not divide axis ${axis} of x ${shapeStr(tx.shape)} (size ${dim}); pass a list of sizes for unequal pieces`);
    sizes = new Array<number>(n).fill(dim / n);
  } else {
    sizes = intList({ min: 0 })(sizes_or_sections, (e) => {
      throw new AttrError(`split: sizes must be ${e}, got ${JSON.stringify(sizes_or_sections)}`);
    });
  }
  return dispatch(splitOp, [tx], parseAttrs('split', splitOp.attrs, { sizes, axis }));
}

// ---- slice ----
interface SliceAttrs {
  /** One entry per dim of x (Python slicing: negative from the end, then clamped to [0, dim]). */
  starts: number[];
  ends: number[];
  steps: number[];
}
const sliceSchema = {
  starts: { check: intList(), default: required },
  ends: { check: intList(), default: required },
  steps: { check: intList({ min: 1 }), default: required },
} as const;

const sliceBackwardOp = defineOp<SliceAttrs & { shape: number[] }>({
  name: 'slice_backward',
  doc: "gradient of slice: zeros of x's shape with dy written at the sliced positions",
  inputs: [{ name: 'dy' }],
  attrs: { ...sliceSchema, shape: { check: intList({ min: 0 }), default: required } },
  gradientOf: 'slice',
  infer: ([dy], { shape, starts, ends, steps }) => {
    const want = N.slice_shape(shape, starts, ends, steps);
    if (!sameShape(dy!.shape, want)) throw new ShapeError(`slice_backward: dy has shape ${shapeStr(dy!.shape)}, but slicing x ${shapeStr(shape)} gives ${shapeStr(want)}`);
    return [{ shape, dtype: 'float32' }];
  },
});

const sliceOp = defineOp<SliceAttrs>({
  name: 'slice',
  doc: 'x[s0:e0:k0, s1:e1:k1, ...] with Python slicing rules (steps >= 1)',
  inputs: [{ name: 'x', dtype: 'any' }],
  attrs: sliceSchema,
  infer: ([x], { starts, ends, steps }) => [{ shape: N.slice_shape(x!.shape as number[], starts, ends, steps), dtype: x!.dtype }],
  grad: ({ inputs: [x], grads: [g], attrs }) => [dispatch(sliceBackwardOp, [g!], { ...attrs, shape: x!.shape.slice() })[0]!],
});

export interface SliceOptions {
  /** Step of each sliced dim, >= 1 (default 1). */
  steps?: readonly number[];
  /** The dims starts/ends/steps refer to (default: the leading dims 0, 1, ...). */
  axes?: readonly number[];
}

const WHOLE = Number.MAX_SAFE_INTEGER;

/**
 * x[starts[0]:ends[0]:steps[0], starts[1]:ends[1]:steps[1], ...] like Python slicing: negative
 * indices count from the end, out-of-range bounds clamp, null in ends means "to the end". The
 * lists cover the leading dims (or `options.axes`); other dims are kept whole.
 * slice(x, [1], [null]) is x[1:]; slice(x, [-2], [null], { axes: [-1] }) is x[..., -2:].
 *
 * Catalog op `slice`: x[s0:e0:k0, s1:e1:k1, ...] with Python slicing rules (steps >= 1).
 */
export function slice(x: TensorLike, starts: readonly number[], ends: readonly (number | null)[], options: SliceOptions = {}): Tensor {
  const tx = toTensor(x, 'slice');
  const { steps, axes } = options;
  const bad = (what: string, v: unknown) => (e: string): never => {
    throw new AttrError(`slice: ${what} must be ${e}, got ${JSON.stringify(v)}`);
  };
  const s = intList()(starts, bad('starts', starts));
  const e = intList()(
    Array.isArray(ends) ? ends.map((v) => (v === null ? WHOLE : v)) : ends,
    bad('ends (integers or null)', ends),
  );
  const k = steps === undefined ? s.map(() => 1) : intList({ min: 1 })(steps, bad('steps (negative steps are not supported)', steps));
  const ax = axes === undefined ? s.map((_, i) => i) : intList()(axes, bad('axes', axes)).map((a) => normAxis('slice', a, tx.ndim));
  if (e.length !== s.length || k.length !== s.length || ax.length !== s.length) {
    throw new AttrError(`slice: starts, ends, steps and axes need the same length, got ${s.length}, ${e.length}, ${k.length} and ${ax.length}`);
  }
  if (s.length > tx.ndim) throw new AttrError(`slice: ${s.length} slices for x ${shapeStr(tx.shape)} of rank ${tx.ndim}`);
  if (new Set(ax).size !== ax.length) throw new AttrError(`slice: axes [${axes!.join(', ')}] repeat a dim`);
  const attrs: SliceAttrs = { starts: tx.shape.map(() => 0), ends: tx.shape.map(() => WHOLE), steps: tx.shape.map(() => 1) };
  ax.forEach((a, i) => {
    attrs.starts[a] = s[i]!;
    attrs.ends[a] = e[i]!;
    attrs.steps[a] = k[i]!;
  });
  return dispatch(sliceOp, [tx], attrs)[0]!;
}

// ---- pad ----
type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';
interface PadAttrs {
  /** [before, after] pairs flattened, in dim order, for the last pads.length / 2 dims (the native convention). */
  pads: number[];
  mode: PadMode;
  value: number;
}
const padModes = oneOf<PadMode>('constant', 'reflect', 'replicate', 'circular');

/** The native shape rule, with errors naming pad (not pad_shape) and x's shape. */
function padShape(op: string, xShape: Shape, pads: number[], mode: PadMode): number[] {
  if (pads.length % 2 !== 0 || pads.length / 2 > xShape.length) {
    throw new ShapeError(`${op}: pads [${pads.join(', ')}] must be [before, after] pairs for at most ${xShape.length} dims of x ${shapeStr(xShape)}`);
  }
  try {
    return N.pad_shape(xShape as number[], pads, mode);
  } catch (err) {
    const e = fromNative(err);
    if (e instanceof RavdlError) e.message = `${e.message.replace(/^pad_shape:\s*/, `${op}: `)} (x ${shapeStr(xShape)}, pads [${pads.join(', ')}])`;
    throw e;
  }
}

const padBackwardOp = defineOp<Omit<PadAttrs, 'value'> & { shape: number[] }>({
  name: 'pad_backward',
  doc: 'gradient of pad: every element of dy summed into the x position it was copied from',
  inputs: [{ name: 'dy' }],
  attrs: { pads: { check: intList(), default: required }, mode: { check: padModes, default: 'constant' }, shape: { check: intList({ min: 0 }), default: required } },
  gradientOf: 'pad',
  infer: ([dy], { pads, mode, shape }) => {
    const want = padShape('pad_backward', shape, pads, mode);
    if (!sameShape(dy!.shape, want)) throw new ShapeError(`pad_backward: dy has shape ${shapeStr(dy!.shape)}, but padding x ${shapeStr(shape)} gives ${shapeStr(want)}`);
    return [{ shape, dtype: 'float32' }];
  },
});

const padOp = defineOp<PadAttrs>({
  name: 'pad',
  doc: "pads the trailing dims of x: 'constant' (value), 'reflect', 'replicate' or 'circular'; negative pads crop",
  inputs: [{ name: 'x' }],
  attrs: { pads: { check: intList(), default: required }, mode: { check: padModes, default: 'constant' }, value: { check: num(), default: 0 } },
  infer: ([x], { pads, mode }) => [{ shape: padShape('pad', x!.shape, pads, mode), dtype: 'float32' }],
  grad: ({ inputs: [x], grads: [g], attrs: { pads, mode } }) => [dispatch(padBackwardOp, [g!], { pads, mode, shape: x!.shape.slice() })[0]!],
});

export interface PadOptions {
  /** 'constant' (default) fills `value`; 'reflect' mirrors without the edge (pad < dim); 'replicate' repeats the edge; 'circular' wraps (pad <= dim after cropping). */
  mode?: PadMode;
  /** Fill value of 'constant' mode (default 0). */
  value?: number;
}

/**
 * Pads the trailing dims of x. `pads` is a list of [before, after] pairs IN DIM ORDER for the
 * last pads.length dims (like numpy.pad's pad_width, which lists every dim). A negative pad
 * crops, as in torch's F.pad: the negative pads of a dim may remove at most all of it;
 * 'reflect' and 'replicate' index the uncropped dim, 'circular' wraps around the cropped one:
 * pad(x, [[1, 2]]) pads the last dim by 1 before and 2 after; pad(img, [[t, b], [l, r]]) pads H
 * and W of an NCHW image. (torch's F.pad lists the LAST dim first as a flat list: F.pad(img,
 * (l, r, t, b)); a flat list is rejected here to avoid mixing the two up.)
 *
 * Catalog op `pad`: pads the trailing dims of x: 'constant' (value), 'reflect', 'replicate' or 'circular'; negative pads crop.
 */
export function pad(x: TensorLike, pads: readonly (readonly [number, number])[], options: PadOptions = {}): Tensor {
  const tx = toTensor(x, 'pad');
  const pairs = Array.isArray(pads) && pads.every((p) => Array.isArray(p) && p.length === 2);
  if (!pairs) {
    throw new AttrError(`pad: pads must be a list of [before, after] pairs in dim order for the trailing dims, e.g. [[1, 1], [2, 2]] pads dim -2 by 1 and dim -1 by 2 (torch's F.pad order (2, 2, 1, 1) reversed into pairs); got ${JSON.stringify(pads)}`);
  }
  const flat = intList()(pads.flat(), (e) => {
    throw new AttrError(`pad: pads must be [before, after] pairs of integers, got ${JSON.stringify(pads)} (${e})`);
  });
  return dispatch(padOp, [tx], parseAttrs('pad', padOp.attrs, { pads: flat, mode: options.mode, value: options.value }))[0]!;
}

// ---- tile / repeat (composites) ----

/**
 * broadcast_to for float32; int32 (no native broadcast) gathers index 0 of each size-1 dim d
 * times. An empty result is made directly: no index list sized by one dim while another is 0.
 */
function expandTo(x: Tensor, shape: number[]): Tensor {
  if (x.dtype === 'float32') return broadcast_to(x, shape);
  if (numel(shape) === 0) return zeros(shape, { dtype: 'int32' });
  let y = x;
  shape.forEach((d, i) => {
    if (y.shape[i] !== d) y = gather(y, t(new Int32Array(d)), i);
  });
  return y;
}

function checkCounts(op: string, what: string, v: number | readonly number[]): number[] {
  const list = typeof v === 'number' ? [v] : v;
  return intList({ min: 0 })(list, (e) => {
    throw new AttrError(`${op}: ${what} must be ${typeof v === 'number' ? 'an integer >= 0' : e}, got ${JSON.stringify(v)}`);
  });
}

/**
 * numpy.tile: x repeated reps[i] times along dim i. Shorter reps are padded with leading 1s;
 * longer reps give x leading dims of size 1 first.
 */
export function tile(x: TensorLike, reps: number | readonly number[]): Tensor {
  const tx = toTensor(x, 'tile');
  const r = checkCounts('tile', 'reps', reps);
  const d = Math.max(tx.ndim, r.length);
  const shape = [...new Array<number>(d - tx.ndim).fill(1), ...tx.shape];
  const rr = [...new Array<number>(d - r.length).fill(1), ...r];
  // [s0, s1, ...] -> [1, s0, 1, s1, ...] -> broadcast [r0, s0, r1, s1, ...] -> [r0*s0, r1*s1, ...]
  const inter = reshape(tx, shape.flatMap((s) => [1, s]));
  const big = expandTo(inter, shape.flatMap((s, i) => [rr[i]!, s]));
  return reshape(big, shape.map((s, i) => s * rr[i]!));
}

/**
 * numpy.repeat: each element repeated along axis (of the flattened x when axis is null).
 * `repeats` is one count for every element, or one count per element along axis.
 */
export function repeat(x: TensorLike, repeats: number | readonly number[], axis: number | null = null): Tensor {
  let tx = toTensor(x, 'repeat');
  if (axis === null) {
    tx = flatten(tx);
    axis = 0;
  }
  const a = normAxis('repeat', axis, tx.ndim);
  const dim = tx.shape[a]!;
  const counts = checkCounts('repeat', 'repeats', repeats);
  if (counts.length === 1) {
    const r = counts[0]!;
    // [.., s, ..] -> [.., s, 1, ..] -> broadcast [.., s, r, ..] -> [.., s*r, ..]
    const inter = reshape(tx, [...tx.shape.slice(0, a + 1), 1, ...tx.shape.slice(a + 1)]);
    const big = expandTo(inter, [...tx.shape.slice(0, a + 1), r, ...tx.shape.slice(a + 1)]);
    return reshape(big, withDim(tx.shape, a, dim * r));
  }
  if (counts.length !== dim) throw new ShapeError(`repeat: repeats has ${counts.length} counts, but axis ${axis} of x ${shapeStr(tx.shape)} has ${dim} elements`);
  const total = counts.reduce((p, c) => p + c, 0);
  // An empty x (another dim is 0): an empty result of the right shape, without `total` indices.
  if (tx.size === 0) return expandTo(slice(tx, [0], [Math.min(1, dim)], { axes: [a] }), withDim(tx.shape, a, total));
  // Per-element counts: gather with index i listed counts[i] times (its gradient accumulates).
  const idx = new Int32Array(total);
  let pos = 0;
  counts.forEach((c, i) => idx.fill(i, pos, (pos += c)));
  return gather(tx, t(idx), a);
}

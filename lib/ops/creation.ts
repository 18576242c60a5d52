// Tensor factories as catalog ops (no inputs): zeros, ones, full, arange and the seeded random
// ones. Random ops carry their (seed, offset) as attributes, so a recorded graph replays them.
import { native } from '../native/load.js';
import { AttrError } from '../errors.js';
import { type DType } from '../tensor/dtype.js';
import { nextStream } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkShape } from '../tensor/create.js';
import { type AttrSchema, int, intList, num, oneOf, parseAttrs, required } from './attrs.js';
import { defineOp, dispatch } from './define.js';

const N = native();

type ShapeArg = number | readonly number[];
const toShape = (s: ShapeArg): number[] => checkShape(typeof s === 'number' ? [s] : s);

interface FullAttrs {
  shape: number[];
  value: number;
  dtype: DType;
}
const fullOp = defineOp<FullAttrs>({
  name: 'full',
  doc: 'a tensor of `shape` filled with `value`',
  inputs: [],
  attrs: {
    shape: { check: intList({ min: 0 }), default: required },
    value: { check: num(), default: 0 },
    dtype: { check: oneOf('float32', 'int32'), default: 'float32' },
  },
  infer: (_, a) => [{ shape: a.shape, dtype: a.dtype }],
  kernel: (_, [y], a) => y!._data.fill(a.value),
});

export interface DtypeOption {
  dtype?: DType;
}
export function full(shape: ShapeArg, value: number, options: DtypeOption = {}): Tensor {
  return dispatch(fullOp, [], parseAttrs('full', fullOp.attrs, { shape: toShape(shape), value, dtype: options.dtype }))[0]!;
}
export const zeros = (shape: ShapeArg, options: DtypeOption = {}): Tensor => full(shape, 0, options);
export const ones = (shape: ShapeArg, options: DtypeOption = {}): Tensor => full(shape, 1, options);
export const zeros_like = (x: Tensor): Tensor => full(x.shape, 0, { dtype: x.dtype });
export const ones_like = (x: Tensor): Tensor => full(x.shape, 1, { dtype: x.dtype });

interface ArangeAttrs {
  start: number;
  stop: number;
  step: number;
  dtype: DType;
}
const arangeLength = (a: ArangeAttrs) => Math.max(0, Math.ceil((a.stop - a.start) / a.step));
const arangeOp = defineOp<ArangeAttrs>({
  name: 'arange',
  doc: 'start, start + step, ... below stop (like numpy.arange)',
  inputs: [],
  attrs: {
    start: { check: num(), default: 0 },
    stop: { check: num(), default: required },
    step: { check: num(), default: 1 },
    dtype: { check: oneOf('float32', 'int32'), default: 'float32' },
  },
  infer: (_, a) => {
    if (a.step === 0 || !Number.isFinite(a.step)) throw new AttrError(`arange: step must be a finite non-zero number, got ${a.step}`);
    if (!Number.isFinite(a.start) || !Number.isFinite(a.stop)) throw new AttrError(`arange: start and stop must be finite, got ${a.start} and ${a.stop}`);
    return [{ shape: [arangeLength(a)], dtype: a.dtype }];
  },
  kernel: (_, [y], a) => {
    const d = y!._data;
    for (let i = 0; i < d.length; i++) d[i] = a.start + i * a.step;
  },
});

/** arange(stop) or arange(start, stop, step) like NumPy; int32 when every argument is an integer. */
export function arange(start: number, stop?: number, step = 1, options: DtypeOption = {}): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  const dtype = options.dtype ?? ([start, stop, step].every(Number.isInteger) ? 'int32' : 'float32');
  return dispatch(arangeOp, [], parseAttrs('arange', arangeOp.attrs, { start, stop, step, dtype }))[0]!;
}

// ---- random ----
interface RandAttrs {
  shape: number[];
  a: number;
  b: number;
  seed: number;
  offset: number;
}
const randSchema = (a: number, b: number): AttrSchema<RandAttrs> => ({
  shape: { check: intList({ min: 0 }), default: required },
  a: { check: num(), default: a },
  b: { check: num(), default: b },
  seed: { check: int({ min: 0 }), default: required },
  offset: { check: int({ min: 0 }), default: required },
});
const uniformOp = defineOp<RandAttrs>({
  name: 'uniform',
  doc: 'uniform values in [a, b) from the Philox stream (seed, offset)',
  inputs: [],
  attrs: randSchema(0, 1),
  infer: (_, a) => [{ shape: a.shape, dtype: 'float32' }],
  kernel: (_, [y], a) => N.rand_uniform(y!._data as Float32Array, a.a, a.b, a.seed, a.offset),
});
const normalOp = defineOp<RandAttrs>({
  name: 'normal',
  doc: 'normal values with mean a and std b from the Philox stream (seed, offset)',
  inputs: [],
  attrs: randSchema(0, 1),
  infer: (_, a) => [{ shape: a.shape, dtype: 'float32' }],
  kernel: (_, [y], a) => N.rand_normal(y!._data as Float32Array, a.a, a.b, a.seed, a.offset),
});

function random(op: typeof uniformOp, shape: ShapeArg, a: number, b: number): Tensor {
  const s = toShape(shape);
  const at = nextStream(s.reduce((p, d) => p * d, 1));
  return dispatch(op, [], parseAttrs(op.name, op.attrs, { shape: s, a, b, ...at }))[0]!;
}
/** Uniform values in [low, high) from the global generator (R.manual_seed). */
export const uniform = (shape: ShapeArg, low = 0, high = 1): Tensor => random(uniformOp, shape, low, high);
/** Uniform values in [0, 1). */
export const rand = (shape: ShapeArg): Tensor => random(uniformOp, shape, 0, 1);
/** Standard normal values. */
export const randn = (shape: ShapeArg): Tensor => random(normalOp, shape, 0, 1);
/** Normal values with the given mean and std. */
export const normal = (shape: ShapeArg, mean = 0, std = 1): Tensor => random(normalOp, shape, mean, std);

// Tensor factories as catalog ops (no inputs): zeros, ones, full, arange and the seeded random
// ones. Random ops carry their (seed, offset) as attributes, so a recorded graph replays them.
import { ArgError, AttrError, DtypeError } from '../errors.js';
import { type DType, checkInt32 } from '../tensor/dtype.js';
import { nextStream } from '../tensor/random.js';
import { type DeviceLike, resolveDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkShape } from '../tensor/create.js';
import { type AttrCheck, type AttrSchema, int, intList, num, oneOf, parseAttrs, required } from './attrs.js';
import { defineOp, dispatch } from './define.js';


type ShapeArg = number | readonly number[];
const toShape = (s: ShapeArg): number[] => checkShape(typeof s === 'number' ? [s] : s);

// A fill value may be NaN or infinite (as in torch.full) for float32; int32 checks it in infer.
const anyNumber: AttrCheck<number> = (v, bad) => (typeof v === 'number' ? v : bad('a number'));

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
    value: { check: anyNumber, default: 0 },
    dtype: { check: oneOf('float32', 'int32'), default: 'float32' },
  },
  infer: (_, a) => {
    if (a.dtype === 'int32') checkInt32('full', a.value, ' as the fill value');
    return [{ shape: a.shape, dtype: a.dtype }];
  },
  kernel: (_, [y], a) => y!._data.fill(a.value),
});

/** Options of every factory: the dtype (where it may vary) and whether the result is a leaf that records gradients. */
export interface CreationOptions {
  dtype?: DType;
  requires_grad?: boolean;
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: DeviceLike;
}

const OPTION_KEYS = new Set(['dtype', 'requires_grad', 'device']);
function checkOptions(op: string, options: CreationOptions): void {
  if (options === null || typeof options !== 'object') throw new ArgError(`${op}: options must be an object, got ${String(options)}`);
  for (const k of Object.keys(options)) {
    if (!OPTION_KEYS.has(k)) throw new ArgError(`${op}: unknown option '${k}' (valid: dtype, requires_grad, device)`);
  }
  if (options.device !== undefined && options.device !== 'cpu') resolveDevice(op, options.device); // before anything is allocated
}
const finish = (t: Tensor, options: CreationOptions): Tensor => {
  // Made on the host, then copied to the device in one transfer.
  if (options.device !== undefined && options.device !== 'cpu' && !t.isSymbolic) t = t._relocate(resolveDevice('device', options.device));
  return options.requires_grad ? t.requires_grad_(true) : t;
};

/** a tensor of `shape` filled with `value`. */
export function full(shape: ShapeArg, value: number, options: CreationOptions = {}): Tensor {
  checkOptions('full', options);
  return finish(dispatch(fullOp, [], parseAttrs('full', fullOp.attrs, { shape: toShape(shape), value, dtype: options.dtype }))[0]!, options);
}
/** A tensor of `shape` filled with 0 (float32 unless options.dtype says otherwise). */
export const zeros = (shape: ShapeArg, options: CreationOptions = {}): Tensor => full(shape, 0, options);
/** A tensor of `shape` filled with 1 (float32 unless options.dtype says otherwise). */
export const ones = (shape: ShapeArg, options: CreationOptions = {}): Tensor => full(shape, 1, options);
/** Zeros of x's shape, dtype and device. */
export const zeros_like = (x: Tensor): Tensor => full(x.shape, 0, { dtype: x.dtype, device: x.device });
/** Ones of x's shape, dtype and device. */
export const ones_like = (x: Tensor): Tensor => full(x.shape, 1, { dtype: x.dtype, device: x.device });

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
    const n = arangeLength(a);
    if (a.dtype === 'int32' && n > 0) {
      checkInt32('arange', a.start, ' as start');
      checkInt32('arange', a.step, ' as step');
      checkInt32('arange', a.start + (n - 1) * a.step, ' as the last value');
    }
    return [{ shape: [n], dtype: a.dtype }];
  },
  kernel: (_, [y], a) => {
    const d = y!._data;
    for (let i = 0; i < d.length; i++) d[i] = a.start + i * a.step;
  },
});

/**
 * arange(stop) or arange(start, stop, step) like NumPy; int32 when every argument is an integer.
 *
 * Catalog op `arange`: start, start + step, ... below stop (like numpy.arange).
 */
export function arange(start: number, stop?: number, step = 1, options: CreationOptions = {}): Tensor {
  checkOptions('arange', options);
  if (stop === undefined) [start, stop] = [0, start];
  const dtype = options.dtype ?? ([start, stop, step].every(Number.isInteger) ? 'int32' : 'float32');
  return finish(dispatch(arangeOp, [], parseAttrs('arange', arangeOp.attrs, { start, stop, step, dtype }))[0]!, options);
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
});
const normalOp = defineOp<RandAttrs>({
  name: 'normal',
  doc: 'normal values with mean a and std b from the Philox stream (seed, offset)',
  inputs: [],
  attrs: randSchema(0, 1),
  infer: (_, a) => [{ shape: a.shape, dtype: 'float32' }],
});

function random(fn: string, op: typeof uniformOp, shape: ShapeArg, a: number, b: number, options: CreationOptions): Tensor {
  checkOptions(fn, options);
  if (options.dtype !== undefined && options.dtype !== 'float32') throw new DtypeError(`${fn}: random values are float32, got dtype '${options.dtype}'`);
  const s = toShape(shape);
  const at = nextStream(s.reduce((p, d) => p * d, 1));
  return finish(dispatch(op, [], parseAttrs(op.name, op.attrs, { shape: s, a, b, ...at }))[0]!, options);
}
/**
 * Uniform values in [low, high) from the global generator (R.manual_seed).
 *
 * Catalog op `uniform`: uniform values in [a, b) from the Philox stream (seed, offset).
 */
export const uniform = (shape: ShapeArg, low = 0, high = 1, options: CreationOptions = {}): Tensor => random('uniform', uniformOp, shape, low, high, options);
/** Uniform values in [0, 1). */
export const rand = (shape: ShapeArg, options: CreationOptions = {}): Tensor => random('rand', uniformOp, shape, 0, 1, options);
/** Standard normal values. */
export const randn = (shape: ShapeArg, options: CreationOptions = {}): Tensor => random('randn', normalOp, shape, 0, 1, options);
/**
 * Normal values with the given mean and std.
 *
 * Catalog op `normal`: normal values with mean a and std b from the Philox stream (seed, offset).
 */
export const normal = (shape: ShapeArg, mean = 0, std = 1, options: CreationOptions = {}): Tensor => random('normal', normalOp, shape, mean, std, options);

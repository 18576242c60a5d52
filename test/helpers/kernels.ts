// The kernel tests' view of the native kernels: catalog ops run through the generic entry
// (runKernel, the registry's CPU kernels) under the argument lists the per-kernel binding
// functions had, so the tests of each kernel (values against PyTorch, errors, threads) read as
// before. Shape functions and the functions the binding still has come from the binding itself.
import { native } from '../../lib/native/load.js';
import { type KernelTensor, kernelAttrs, runKernel } from '../../lib/native/kernels.js';

type Buf = Float32Array | Int32Array;
type Shape = readonly number[];
type Fn = (...args: any[]) => any;

const N = native() as unknown as Record<string, Fn>;
const T = (data: Buf, shape: Shape): KernelTensor => ({ _native: data, shape });
const opt = (data: Buf | null | undefined, shape: Shape): KernelTensor | null => (data == null ? null : T(data, shape));
const flat = (d: Buf | undefined): Shape => [d?.length ?? 0];
/** Runs op on the CPU: inputs and outputs as (data, shape) pairs, attributes by catalog name. */
export function runOp(op: string, inputs: (KernelTensor | null)[], outputs: KernelTensor[], attrs: object = {}): void {
  runKernel(op, 'cpu', inputs, outputs, attrs);
}
export { T as tensorArg };

// Unary ops: the catalog's name of each native one, and its parameters in order.
const UNARY: Record<string, [string, string[]]> = {
  relu: ['relu', []], sigmoid: ['sigmoid', []], tanh: ['tanh', []], leaky_relu: ['leaky_relu', ['negative_slope']],
  elu: ['elu', ['alpha']], selu: ['selu', []], softplus: ['softplus', ['beta', 'threshold']], softsign: ['softsign', []],
  tanhshrink: ['tanhshrink', []], logsigmoid: ['logsigmoid', []], hardshrink: ['hardshrink', ['lambd']],
  hardtanh: ['hardtanh', ['min_val', 'max_val']], softshrink: ['softshrink', ['lambd']], threshold: ['threshold', ['threshold', 'value']],
  exp: ['exp', []], log: ['natlog', []], sqrt: ['square_root', []], abs: ['abs', []], sign: ['sign', []], neg: ['neg', []],
  pow_scalar: ['pow_scalar', ['exponent']], clip: ['clip', ['min', 'max']], logical_not: ['logical_not', []],
};
const BINARY: Record<string, string> = {
  add: 'add', sub: 'sub', mul: 'mul', div: 'div', pow: 'pow', maximum: 'maximum', minimum: 'minimum', eq: 'equal', ne: 'not_equal',
  lt: 'less', le: 'less_equal', gt: 'greater', ge: 'greater_equal', logical_and: 'logical_and', logical_or: 'logical_or', logical_xor: 'logical_xor',
};
const REDUCE: Record<string, string> = { sum: 'sum', mean: 'mean', max: 'max', min: 'min', prod: 'prod', var: 'variance', std: 'std' };

const named = (names: string[], values: unknown[]) => Object.fromEntries(names.map((n, i) => [n, values[i]]));
const axesOf = (axes: unknown) => (axes == null ? null : axes);

const legacy: Record<string, Fn> = {};
for (const [fn, [op, params]] of Object.entries(UNARY)) {
  legacy[fn] = (x: Buf, out: Buf, ...p: unknown[]) => runOp(op, [T(x, flat(x))], [T(out, flat(out))], named(params, p));
  if (fn !== 'logical_not' && fn !== 'sign')
    legacy[`${fn}_backward`] = (s: Buf, g: Buf, gi: Buf, ...p: unknown[]) => runOp(`${op}_backward`, [T(s, flat(s)), T(g, flat(g))], [T(gi, flat(gi))], named(params, p));
}
for (const [fn, op] of Object.entries(BINARY)) {
  legacy[fn] = (a: Buf, as: Shape | null, b: Buf, bs: Shape | null, out: Buf) => {
    const sa = as ?? flat(a), sb = bs ?? flat(b);
    const so = as == null && bs == null ? flat(a) : (N.broadcast_shape!(sa, sb) as Shape);
    runOp(op, [T(a, sa), T(b, sb)], [T(out, so)]);
  };
}
for (const [fn, op] of Object.entries(REDUCE)) {
  legacy[fn] = (x: Buf, xs: Shape, out: Buf, axes?: unknown, keepdims = false, correction?: number) =>
    runOp(op, [T(x, xs)], [T(out, N.reduce_shape!(xs, axes ?? null, keepdims))], { axis: axesOf(axes), keepdims, correction });
}
for (const fn of ['argmax', 'argmin']) {
  legacy[fn] = (x: Buf, xs: Shape, out: Buf, axis?: number | null, keepdims = false) =>
    runOp(fn, [T(x, xs)], [T(out, N.argreduce_shape!(xs, axis ?? null, keepdims))], { axis: axis ?? null, keepdims });
}
// A byte condition (the binding's where took one) is the catalog's float32 condition here.
legacy.where = (c: Buf | Uint8Array, cs: Shape, a: Buf, as: Shape, b: Buf, bs: Shape, out: Buf) =>
  runOp('where', [T(c instanceof Uint8Array ? Float32Array.from(c) : c, cs), T(a, as), T(b, bs)], [T(out, N.broadcast_shape!(N.broadcast_shape!(cs, as), bs))]);
legacy.broadcast_to = (x: Buf, xs: Shape, os: Shape, out: Buf) => runOp('broadcast_to', [T(x, xs)], [T(out, os)], { shape: os });
legacy.sum_to = (x: Buf, xs: Shape, ts: Shape, out: Buf) => runOp('sum_to', [T(x, xs)], [T(out, ts)], { shape: ts });

for (const fn of ['softmax', 'log_softmax', 'softmin']) {
  legacy[fn] = (x: Buf, xs: Shape, axis: number, out: Buf) => runOp(fn, [T(x, xs)], [T(out, xs)], { axis });
  legacy[`${fn}_backward`] = (y: Buf, g: Buf, ys: Shape, axis: number, gx: Buf) => runOp(`${fn}_backward`, [T(y, ys), T(g, ys)], [T(gx, ys)], { axis });
}
const targetShape = (zs: Shape, t: Buf) => (t instanceof Int32Array ? [zs[0]!, ...zs.slice(2)] : zs);
legacy.cross_entropy = (z: Buf, zs: Shape, t: Buf, w: Buf | null, out: Buf, attrs: { reduction?: string } = {}) =>
  runOp('cross_entropy', [T(z, zs), T(t, targetShape(zs, t)), opt(w, [zs[1]!])], [T(out, N.cross_entropy_shape!(zs, attrs.reduction))], attrs);
legacy.cross_entropy_backward = (z: Buf, zs: Shape, t: Buf, w: Buf | null, gl: Buf, gz: Buf, attrs: { reduction?: string } = {}) =>
  runOp('cross_entropy_backward', [T(z, zs), T(t, targetShape(zs, t)), opt(w, [zs[1]!]), T(gl, N.cross_entropy_shape!(zs, attrs.reduction))], [T(gz, zs)], attrs);

legacy.matmul = (a: Buf, as: Shape, b: Buf, bs: Shape, out: Buf, trans_a = false, trans_b = false) =>
  runOp('matmul', [T(a, as), T(b, bs)], [T(out, N.matmul_shape!(as, bs, trans_a, trans_b))], { trans_a, trans_b });

legacy.conv2d = (x: Buf, xs: Shape, w: Buf, ws: Shape, b: Buf | null, out: Buf, attrs: object = {}) =>
  runOp('conv2d', [T(x, xs), T(w, ws), opt(b, [ws[0]!])], [T(out, N.conv2d_shape!(xs, ws, attrs))], attrs);
legacy.conv2d_backward_input = (gy: Buf, gys: Shape, w: Buf, ws: Shape, gx: Buf, xs: Shape, attrs: object = {}) =>
  runOp('conv2d_backward_input', [T(gy, gys), T(w, ws)], [T(gx, xs)], attrs);
legacy.conv2d_backward_weight = (gy: Buf, gys: Shape, x: Buf, xs: Shape, gw: Buf, ws: Shape, attrs: object = {}) =>
  runOp('conv2d_backward_weight', [T(gy, gys), T(x, xs)], [T(gw, ws)], attrs);
legacy.conv2d_backward_bias = (gy: Buf, gys: Shape, gb: Buf) => runOp('conv2d_backward_bias', [T(gy, gys)], [T(gb, flat(gb))]);
legacy.maxpool2d = (x: Buf, xs: Shape, out: Buf, idx: Buf, attrs: object) => {
  const ys = N.maxpool2d_shape!(xs, attrs) as Shape;
  runOp('max_pool2d', [T(x, xs)], [T(out, ys), T(idx, ys)], attrs);
};
legacy.maxpool2d_backward = (gy: Buf, gys: Shape, idx: Buf, gx: Buf, xs: Shape) => runOp('max_pool2d_backward', [T(gy, gys), T(idx, gys)], [T(gx, xs)]);
legacy.pad = (x: Buf, xs: Shape, pads: number[], mode: string, value: number, out: Buf) =>
  runOp('pad', [T(x, xs)], [T(out, N.pad_shape!(xs, pads, mode))], { pads, mode, value });
legacy.pad_backward = (gy: Buf, gys: Shape, pads: number[], mode: string, gx: Buf) => {
  // gx's shape: gy's trailing dims less the pads (the binding's rule, pad_backward_shape).
  const xs = [...gys];
  for (let i = 0; i < pads.length / 2; i++) xs[xs.length - pads.length / 2 + i]! -= pads[2 * i]! + pads[2 * i + 1]!;
  runOp('pad_backward', [T(gy, gys)], [T(gx, xs.every((d) => d >= 0) ? xs : flat(gx))], { pads, mode });
};

legacy.embedding = (w: Buf, ws: Shape, ids: Buf, out: Buf) => runOp('embedding', [T(ids, flat(ids)), T(w, ws)], [T(out, [ids.length, ws[1] ?? 0])]);
legacy.embedding_backward = (gy: Buf, ids: Buf, V: number, D: number, padding_idx: number | null, gw: Buf) =>
  runOp('embedding_backward', [T(gy, [ids.length, D]), T(ids, flat(ids))], [T(gw, [V, D])], { padding_idx, num_weights: V });
legacy.permute = (x: Buf, xs: Shape, perm: number[], out: Buf) => runOp('permute', [T(x, xs)], [T(out, N.permute_shape!(xs, perm))], { perm });
legacy.concat = (ins: Buf[], shapes: Shape[], axis: number, out: Buf) =>
  runOp('concat', ins.map((d, i) => T(d, shapes[i]!)), [T(out, N.concat_shape!(shapes, axis))], { axis });
legacy.split = (x: Buf, xs: Shape, axis: number, sizes: number[], outs: Buf[]) => {
  const a = axis < 0 ? axis + xs.length : axis;
  // Outputs as x's shape with the split dim resized; flat where that is no shape (the kernel then names the bad axis or size).
  const valid = a >= 0 && a < xs.length && sizes.every((n) => n >= 0);
  runOp('split', [T(x, xs)], outs.map((o, k) => T(o, valid ? xs.map((d, i) => (i === a ? sizes[k] ?? 0 : d)) : flat(o))), { sizes, axis });
};
legacy.slice = (x: Buf, xs: Shape, starts: number[], ends: number[], steps: number[], out: Buf) =>
  runOp('slice', [T(x, xs)], [T(out, N.slice_shape!(xs, starts, ends, steps))], { starts, ends, steps });
legacy.slice_backward = (gy: Buf, gys: Shape, xs: Shape, starts: number[], ends: number[], steps: number[], gx: Buf) =>
  runOp('slice_backward', [T(gy, gys)], [T(gx, xs)], { starts, ends, steps, shape: xs });

legacy.rand_uniform = (out: Buf, a: number, b: number, seed: number, offset: number) => runOp('uniform', [], [T(out, flat(out))], { a, b, seed, offset });
legacy.rand_normal = (out: Buf, a: number, b: number, seed: number, offset: number) => runOp('normal', [], [T(out, flat(out))], { a, b, seed, offset });

// The optimizer steps in place: each state output is its input (the catalog op's in-place run).
// The catalog's updates have no `maximize`: torch's maximize is the step on -grad (exact in float).
function optimAttrs(op: string, attrs: Record<string, unknown>, g: Buf): [Buf, object] {
  const known = new Set([...kernelAttrs(op).map(([n]) => n), 'maximize']);
  for (const k of Object.keys(attrs)) if (!known.has(k)) throw Object.assign(new Error(`${op}: unknown attribute '${k}'`), { code: 'ERR_ATTR' });
  const { maximize, ...rest } = attrs;
  return [maximize === true ? g.map((v) => -v) : g, rest];
}
legacy.adam_step = (p: Buf, g0: Buf, m: Buf, v: Buf, vmax: Buf | null, step: number, attrs: Record<string, unknown> = {}) => {
  const s = flat(p);
  const [g, a] = optimAttrs('adam_update', attrs, g0);
  runOp('adam_update', [T(p, s), T(g, flat(g)), T(m, flat(m)), T(v, flat(v)), opt(vmax, s)], [T(p, s), T(m, flat(m)), T(v, flat(v)), ...(vmax ? [T(vmax, flat(vmax))] : [])], { ...a, step });
};
legacy.rmsprop_step = (p: Buf, g0: Buf, sq: Buf, mom: Buf | null, avg: Buf | null, attrs: Record<string, unknown> = {}) => {
  const [g, a] = optimAttrs('rmsprop_update', attrs, g0);
  const states = [T(p, flat(p)), T(sq, flat(sq)), ...(mom ? [T(mom, flat(mom))] : []), ...(avg ? [T(avg, flat(avg))] : [])];
  runOp('rmsprop_update', [T(p, flat(p)), T(g, flat(g)), T(sq, flat(sq)), mom ? T(mom, flat(mom)) : null, avg ? T(avg, flat(avg)) : null], states, a);
};
legacy.sgd_step = (p: Buf, g0: Buf, buf: Buf | null, step: number, attrs: Record<string, unknown> = {}) => {
  const [g, a] = optimAttrs('sgd_update', attrs, g0);
  runOp('sgd_update', [T(p, flat(p)), T(g, flat(g)), buf ? T(buf, flat(buf)) : null], [T(p, flat(p)), ...(buf ? [T(buf, flat(buf))] : [])], { ...a, step });
};

/** The binding plus the former per-kernel functions, now running through runKernel. */
export function kernels(): any {
  return Object.assign(Object.create(N), legacy);
}
/** The catalog op each former per-kernel binding function runs. */
export const LEGACY_OP: Readonly<Record<string, string>> = (() => {
  const named: Record<string, string> = {
    where: 'where', broadcast_to: 'broadcast_to', sum_to: 'sum_to', argmax: 'argmax', argmin: 'argmin',
    cross_entropy: 'cross_entropy', cross_entropy_backward: 'cross_entropy_backward', matmul: 'matmul',
    conv2d: 'conv2d', conv2d_backward_input: 'conv2d_backward_input', conv2d_backward_weight: 'conv2d_backward_weight',
    conv2d_backward_bias: 'conv2d_backward_bias', maxpool2d: 'max_pool2d', maxpool2d_backward: 'max_pool2d_backward',
    pad: 'pad', pad_backward: 'pad_backward', embedding: 'embedding', embedding_backward: 'embedding_backward',
    permute: 'permute', concat: 'concat', split: 'split', slice: 'slice', slice_backward: 'slice_backward',
    rand_uniform: 'uniform', rand_normal: 'normal', adam_step: 'adam_update', rmsprop_step: 'rmsprop_update', sgd_step: 'sgd_update',
  };
  for (const [fn, [op]] of Object.entries(UNARY)) {
    named[fn] = op;
    if (legacy[`${fn}_backward`]) named[`${fn}_backward`] = `${op}_backward`;
  }
  for (const k of ['softmax', 'log_softmax', 'softmin']) Object.assign(named, { [k]: k, [`${k}_backward`]: `${k}_backward` });
  Object.assign(named, BINARY, REDUCE);
  return named;
})();

// Operator-style Tensor methods (a.add(b), x.sum(1), ...): each delegates to its catalog op.
import { type BackwardOptions, backward } from '../autograd/backward.js';
import type { TensorLike } from '../tensor/create.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import * as B from './binary.js';
import * as Red from './reduce.js';
import * as S from './shape.js';
import * as U from './unary.js';
import { matmul } from './matmul.js';
import * as J from './join.js';
import { gather } from './indexing.js';
import { log_softmax, softmax } from './softmax.js';

type Axes = number | number[] | null;

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** Computes gradients of this (one-element, unless `gradient` is given) tensor into every leaf's .grad. */
    backward(gradient?: Tensor | null, options?: BackwardOptions): void;
    add(b: TensorLike): Tensor;
    sub(b: TensorLike): Tensor;
    mul(b: TensorLike): Tensor;
    div(b: TensorLike): Tensor;
    pow(b: TensorLike): Tensor;
    matmul(b: TensorLike): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    sum(axis?: Axes, keepdims?: boolean): Tensor;
    mean(axis?: Axes, keepdims?: boolean): Tensor;
    max(axis?: Axes, keepdims?: boolean): Tensor;
    min(axis?: Axes, keepdims?: boolean): Tensor;
    argmax(axis?: number | null, keepdims?: boolean): Tensor;
    argmin(axis?: number | null, keepdims?: boolean): Tensor;
    reshape(shape: readonly number[]): Tensor;
    flatten(start_dim?: number, end_dim?: number): Tensor;
    transpose(axes?: readonly number[] | null): Tensor;
    permute(perm: readonly number[]): Tensor;
    squeeze(axis?: number | number[] | null): Tensor;
    expand_dims(axis: number): Tensor;
    astype(dtype: DType): Tensor;
    slice(starts: readonly number[], ends: readonly (number | null)[], options?: J.SliceOptions): Tensor;
    pad(pads: readonly (readonly [number, number])[], options?: J.PadOptions): Tensor;
    split(sizes_or_sections: number | readonly number[], axis?: number): Tensor[];
    tile(reps: number | readonly number[]): Tensor;
    repeat(repeats: number | readonly number[], axis?: number | null): Tensor;
    gather(indices: TensorLike, axis?: number): Tensor;
    /** Softmax along axis (default -1). */
    softmax(axis?: number): Tensor;
    log_softmax(axis?: number): Tensor;
    /** The transpose of a 2-D tensor (all dims reversed in general). */
    readonly T: Tensor;
  }
}

const P = Tensor.prototype;
P.backward = function (gradient?: Tensor | null, options?: BackwardOptions) {
  backward(this, gradient, options);
};
P.add = function (b) { return B.add(this, b); };
P.sub = function (b) { return B.sub(this, b); };
P.mul = function (b) { return B.mul(this, b); };
P.div = function (b) { return B.div(this, b); };
P.pow = function (b) { return B.pow(this, b); };
P.matmul = function (b) { return matmul(this, b); };
P.neg = function () { return U.neg(this); };
P.exp = function () { return U.exp(this); };
P.log = function () { return U.natlog(this); };
P.sqrt = function () { return U.square_root(this); };
P.abs = function () { return U.abs(this); };
P.relu = function () { return U.relu(this); };
P.sigmoid = function () { return U.sigmoid(this); };
P.tanh = function () { return U.tanh(this); };
P.sum = function (axis, keepdims) { return Red.sum(this, axis, keepdims); };
P.mean = function (axis, keepdims) { return Red.mean(this, axis, keepdims); };
P.max = function (axis, keepdims) { return Red.max(this, axis, keepdims); };
P.min = function (axis, keepdims) { return Red.min(this, axis, keepdims); };
P.argmax = function (axis, keepdims) { return Red.argmax(this, axis, keepdims); };
P.argmin = function (axis, keepdims) { return Red.argmin(this, axis, keepdims); };
P.reshape = function (shape) { return S.reshape(this, shape); };
P.flatten = function (s, e) { return S.flatten(this, s, e); };
P.transpose = function (axes) { return S.transpose(this, axes); };
P.permute = function (perm) { return S.permute(this, perm); };
P.squeeze = function (axis) { return S.squeeze(this, axis); };
P.expand_dims = function (axis) { return S.expand_dims(this, axis); };
P.astype = function (dtype) { return S.astype(this, dtype); };
P.slice = function (starts, ends, options) { return J.slice(this, starts, ends, options); };
P.pad = function (pads, options) { return J.pad(this, pads, options); };
P.split = function (s, axis) { return J.split(this, s, axis); };
P.tile = function (reps) { return J.tile(this, reps); };
P.repeat = function (repeats, axis) { return J.repeat(this, repeats, axis); };
P.gather = function (indices, axis) { return gather(this, indices, axis); };
P.softmax = function (axis) { return softmax(this, axis); };
P.log_softmax = function (axis) { return log_softmax(this, axis); };
Object.defineProperty(P, 'T', {
  get(this: Tensor) {
    return S.transpose(this);
  },
});

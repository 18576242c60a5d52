// Native functions of the elementwise kernel group (bindings/elementwise.cpp): unary ops and
// their derivatives, broadcasting binary ops, where/broadcast_to/sum_to, reductions.
//
// All float data is float32, C-contiguous. Outputs are passed in and validated:
// wrong lengths -> ERR_SHAPE, wrong typed array -> ERR_DTYPE, bad parameter -> ERR_ATTR,
// axis out of range -> ERR_INDEX, partial overlap of an output with an input -> ERR_ARG.

/** A unary op: out[i] = f(x[i]); out.length === x.length; out may be x itself (in place). */
type Unary = (x: Float32Array, out: Float32Array) => void;

/**
 * Derivative of a unary op: gradIn[i] = gradOut[i] * f'(.). `saved` is the forward INPUT x,
 * except for sigmoid, tanh, exp and sqrt whose backward takes the forward OUTPUT y.
 * All three have the same length; gradIn may be gradOut or saved itself.
 */
type UnaryBackward = (saved: Float32Array, gradOut: Float32Array, gradIn: Float32Array) => void;

/**
 * out = a op b with NumPy broadcasting. out.length must be
 * numel(broadcast_shape(aShape, bShape)) (out is laid out in that shape).
 * Comparisons/logical ops write 1 or 0 (nonzero and NaN count as true).
 * out may be a or b itself when that operand already has the broadcast shape.
 * Both shapes null: a, b and out are flat arrays of one length (the fast path for equal shapes).
 */
type Binary = (a: Float32Array, aShape: number[] | null, b: Float32Array, bShape: number[] | null, out: Float32Array) => void;

/** Axes to reduce: one axis, a list (negative = from the end), or null / [] = all axes. */
export type Axes = number | number[] | null;

/**
 * out = reduction of x over axes; out.length must be numel(reduce_shape(xShape, axes, keepdims)).
 * Accumulates in double; results do not depend on the thread count.
 */
type Reduce = (x: Float32Array, xShape: number[], out: Float32Array, axes?: Axes, keepdims?: boolean) => void;

/**
 * Index of the max/min (Int32Array out) along `axis`, or of the flattened tensor when axis is
 * null. Ties give the first index; NaN counts as the extreme (first NaN wins), like torch.
 * out.length must be numel(argreduce_shape(xShape, axis, keepdims)).
 */
type ArgReduce = (x: Float32Array, xShape: number[], out: Int32Array, axis?: number | null, keepdims?: boolean) => void;

export interface ElementwiseBinding {
  // ---- activations (torch.nn.functional definitions and defaults) ----
  relu: Unary;
  relu_backward: UnaryBackward;
  /** 1 / (1 + e^-x). Backward takes y. */
  sigmoid: Unary;
  sigmoid_backward: UnaryBackward;
  /** Backward takes y. */
  tanh: Unary;
  tanh_backward: UnaryBackward;
  /** x > 0 ? x : negativeSlope * x; derivative at 0 is negativeSlope. */
  leaky_relu(x: Float32Array, out: Float32Array, negativeSlope?: number /* 0.01 */): void;
  leaky_relu_backward(x: Float32Array, gradOut: Float32Array, gradIn: Float32Array, negativeSlope?: number): void;
  /** x > 0 ? x : alpha * (e^x - 1); derivative at 0 is alpha (torch). */
  elu(x: Float32Array, out: Float32Array, alpha?: number /* 1 */): void;
  elu_backward(x: Float32Array, gradOut: Float32Array, gradIn: Float32Array, alpha?: number): void;
  /** scale * elu(x, alpha) with torch's fixed scale 1.0507... and alpha 1.6732... */
  selu: Unary;
  selu_backward: UnaryBackward;
  /** beta * x > threshold ? x : log(1 + e^(beta x)) / beta (stable form). beta != 0. */
  softplus(x: Float32Array, out: Float32Array, beta?: number /* 1 */, threshold?: number /* 20 */): void;
  softplus_backward(x: Float32Array, gradOut: Float32Array, gradIn: Float32Array, beta?: number, threshold?: number): void;
  /** x / (1 + |x|) */
  softsign: Unary;
  softsign_backward: UnaryBackward;
  /** x - tanh(x) */
  tanhshrink: Unary;
  tanhshrink_backward: UnaryBackward;
  /** log(sigmoid(x)), computed as -softplus(-x). */
  logsigmoid: Unary;
  logsigmoid_backward: UnaryBackward;
  /** |x| > lambd ? x : 0; gradient 0 at |x| = lambd. */
  hardshrink(x: Float32Array, out: Float32Array, lambd?: number /* 0.5 */): void;
  hardshrink_backward(x: Float32Array, gradOut: Float32Array, gradIn: Float32Array, lambd?: number): void;
  /** clamp(x, minVal, maxVal); gradient 0 at and beyond the bounds (torch). */
  hardtanh(x: Float32Array, out: Float32Array, minVal?: number /* -1 */, maxVal?: number /* 1 */): void;
  hardtanh_backward(x: Float32Array, gradOut: Float32Array, gradIn: Float32Array, minVal?: number, maxVal?: number): void;
  /** x > lambd ? x - lambd : x < -lambd ? x + lambd : 0; lambd >= 0. */
  softshrink(x: Float32Array, out: Float32Array, lambd?: number /* 0.5 */): void;
  softshrink_backward(x: Float32Array, gradOut: Float32Array, gradIn: Float32Array, lambd?: number): void;
  /** x > threshold ? x : value (both required, ERR_ATTR when missing). */
  threshold(x: Float32Array, out: Float32Array, threshold: number, value: number): void;
  threshold_backward(x: Float32Array, gradOut: Float32Array, gradIn: Float32Array, threshold: number, value: number): void;

  // ---- math ----
  /** Backward takes y. */
  exp: Unary;
  exp_backward: UnaryBackward;
  log: Unary;
  log_backward: UnaryBackward;
  /** Backward takes y. */
  sqrt: Unary;
  sqrt_backward: UnaryBackward;
  /** Gradient sign(x) (0 at 0). */
  abs: Unary;
  abs_backward: UnaryBackward;
  /** sign(NaN) = 0 like torch; gradient is 0. */
  sign: Unary;
  sign_backward: UnaryBackward;
  neg: Unary;
  neg_backward: UnaryBackward;
  /** x ** exponent (required); gradient exponent * x^(exponent-1), 0 when exponent is 0. */
  pow_scalar(x: Float32Array, out: Float32Array, exponent: number): void;
  pow_scalar_backward(x: Float32Array, gradOut: Float32Array, gradIn: Float32Array, exponent: number): void;
  /**
   * clamp(x, min, max); a null bound is absent (at least one is required). min > max gives max.
   * Gradient passes where min <= x <= max (torch.clamp).
   */
  clip(x: Float32Array, out: Float32Array, min: number | null, max?: number | null): void;
  clip_backward(x: Float32Array, gradOut: Float32Array, gradIn: Float32Array, min: number | null, max?: number | null): void;
  /** 1 where x == 0, else 0 (NaN counts as true). */
  logical_not: Unary;

  // ---- broadcasting binary ops ----
  add: Binary;
  sub: Binary;
  mul: Binary;
  div: Binary;
  /** a ** b elementwise. */
  pow: Binary;
  /** NaN in either operand gives NaN (torch.maximum). */
  maximum: Binary;
  minimum: Binary;
  eq: Binary;
  ne: Binary;
  lt: Binary;
  le: Binary;
  gt: Binary;
  ge: Binary;
  logical_and: Binary;
  logical_or: Binary;
  logical_xor: Binary;
  /** NumPy broadcast of two shapes (ERR_SHAPE naming both when incompatible). */
  broadcast_shape(aShape: number[], bShape: number[]): number[];
  /**
   * out = cond != 0 ? a : b; cond is a Float32Array (NaN is true) or a Uint8Array. The output
   * shape is the broadcast of all three shapes; out.length must be its numel.
   */
  where(
    cond: Float32Array | Uint8Array,
    condShape: number[],
    a: Float32Array,
    aShape: number[],
    b: Float32Array,
    bShape: number[],
    out: Float32Array,
  ): void;
  /** Copies x broadcast to outShape (xShape must broadcast to exactly outShape). */
  broadcast_to(x: Float32Array, xShape: number[], outShape: number[], out: Float32Array): void;
  /**
   * The gradient of broadcast_to: sums x over the dims where targetShape was broadcast to reach
   * xShape. targetShape must broadcast to exactly xShape (ERR_SHAPE otherwise).
   */
  sum_to(x: Float32Array, xShape: number[], targetShape: number[], out: Float32Array): void;

  // ---- reductions ----
  /** Empty reduction gives 0. */
  sum: Reduce;
  /** Empty reduction gives NaN. */
  mean: Reduce;
  /** NaN propagates; an empty reduction throws ERR_SHAPE. */
  max: Reduce;
  min: Reduce;
  /** Empty reduction gives 1. */
  prod: Reduce;
  /** Sum of squared deviations / max(0, n - correction); correction >= 0, default 1 (unbiased). */
  var(x: Float32Array, xShape: number[], out: Float32Array, axes?: Axes, keepdims?: boolean, correction?: number): void;
  /** sqrt(var) with the same correction. */
  std(x: Float32Array, xShape: number[], out: Float32Array, axes?: Axes, keepdims?: boolean, correction?: number): void;
  /** Shape of a reduction: reduced dims removed (or kept as 1 with keepdims). */
  reduce_shape(xShape: number[], axes?: Axes, keepdims?: boolean): number[];
  argmax: ArgReduce;
  argmin: ArgReduce;
  /** Shape of argmax/argmin: axis removed (1 with keepdims); axis null gives [] (all ones with keepdims). */
  argreduce_shape(xShape: number[], axis?: number | null, keepdims?: boolean): number[];
}

// Native functions of the misc kernel group (bindings/misc.cpp): counter-based random numbers
// and dropout, embedding, shape ops (concat/split/slice/permute) and fused optimizer steps.
// All tensors are C-contiguous row-major; outputs are caller-allocated (destination-passing).

/** Float32Array or Int32Array: the shape ops move either (inputs and outputs of one call match). */
export type ShapeOpArray = Float32Array | Int32Array;

export interface AdamAttrs {
  /** Default 1e-3, >= 0. */
  lr?: number;
  /** Defaults 0.9 and 0.999, each in [0, 1). */
  beta1?: number;
  beta2?: number;
  /** Default 1e-8, >= 0. */
  eps?: number;
  /** Default 0 (also for AdamW: pass torch's 1e-2 explicitly), >= 0. */
  weight_decay?: number;
  /** AMSGrad: keeps the running max of exp_avg_sq in max_exp_avg_sq (then required). */
  amsgrad?: boolean;
  /** true = AdamW (param *= 1 - lr*weight_decay); false = Adam (grad += weight_decay*param). */
  decoupled_weight_decay?: boolean;
  /** Ascend instead of descend (torch's maximize). */
  maximize?: boolean;
}

export interface RmspropAttrs {
  /** Default 1e-2, >= 0. */
  lr?: number;
  /** Smoothing constant, default 0.99, >= 0. */
  alpha?: number;
  /** Default 1e-8, >= 0. */
  eps?: number;
  /** Default 0, >= 0. */
  weight_decay?: number;
  /** Default 0, >= 0; > 0 needs momentum_buf. */
  momentum?: number;
  /** Divides by the centered variance; needs grad_avg. */
  centered?: boolean;
  maximize?: boolean;
}

export interface SgdAttrs {
  /** Default 1e-3, >= 0. */
  lr?: number;
  /** Default 0, >= 0; != 0 needs momentum_buf. */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** Default 0, >= 0. */
  weight_decay?: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0. */
  nesterov?: boolean;
  maximize?: boolean;
}

export interface MiscBinding {
  // ---- random numbers (Philox4x32-10) ----
  // Every value depends only on (seed, offset, element index): results are reproducible and
  // independent of the thread count. seed and offset are non-negative integers (<= 2^53 - 1).
  // A call over n elements consumes rand_counters(n) = ceil(n / 4) counter values: advance the
  // offset by that much before the next call to get a fresh stream.

  /** Counter values consumed by rand_uniform / rand_normal / dropout over n elements: ceil(n / 4). */
  rand_counters(n: number): number;
  /** Fills out with uniform values in [low, high) (finite, low <= high). */
  rand_uniform(out: Float32Array, low: number, high: number, seed: number, offset: number): void;
  /** Fills out with normal values (Box-Muller); std >= 0. */
  rand_normal(out: Float32Array, mean: number, std: number, seed: number, offset: number): void;
  /**
   * Inverted dropout like torch: mask[i] = 1 (kept) with probability 1 - p, else 0;
   * out = x * mask / (1 - p). p in [0, 1]: p = 0 is the identity, p = 1 gives zeros.
   * out and mask have x's length; out may be x itself.
   */
  dropout(x: Float32Array, out: Float32Array, mask: Uint8Array, p: number, seed: number, offset: number): void;
  /** gx = gy * mask / (1 - p) (zeros when p = 1); gx may be gy itself. Nonzero mask byte = kept. */
  dropout_backward(gy: Float32Array, mask: Uint8Array, p: number, gx: Float32Array): void;

  // ---- embedding ----

  /**
   * out[i, :] = weight[ids[i], :]. weight has wShape [V, D]; out holds ids.length * D values
   * (its shape is ids' shape + [D]). An id outside [0, V) throws ERR_INDEX naming it and its position.
   */
  embedding(weight: Float32Array, wShape: number[], ids: Int32Array, out: Float32Array): void;
  /**
   * gw ([V, D], overwritten) = sum over i of gy[i, :] into row ids[i]; repeated ids accumulate.
   * Rows of padding_idx (in [-V, V), negative from the end; null for none) get zero gradient.
   */
  embedding_backward(
    gy: Float32Array,
    ids: Int32Array,
    V: number,
    D: number,
    padding_idx: number | null,
    gw: Float32Array,
  ): void;

  // ---- shape ops ----

  /**
   * Shape of the concatenation along axis (negative from the end): all shapes have the same
   * rank >= 1 and equal dims except at axis, where the result has the sum.
   */
  concat_shape(shapes: number[][], axis: number): number[];
  /** out (of concat_shape(shapes, axis)) = inputs joined along axis. */
  concat(inputs: ShapeOpArray[], shapes: number[][], axis: number, out: ShapeOpArray): void;
  /**
   * Splits x along axis into outs.length parts: sizes (each >= 0) sum to xShape[axis];
   * outs[k] has xShape with xShape[axis] replaced by sizes[k].
   */
  split(x: ShapeOpArray, xShape: number[], axis: number, sizes: number[], outs: ShapeOpArray[]): void;
  /**
   * Shape of x[s0:e0:k0, s1:e1:k1, ...] (one entry per dim, Python slicing): negative starts/ends
   * count from the end, then both clamp to [0, dim]; steps >= 1. Each dim has
   * max(0, ceil((end - start) / step)) entries. A whole dim: start 0, end Number.MAX_SAFE_INTEGER, step 1.
   */
  slice_shape(xShape: number[], starts: number[], ends: number[], steps: number[]): number[];
  /** out (of slice_shape(...)) = x[starts:ends:steps] per dim. */
  slice(x: ShapeOpArray, xShape: number[], starts: number[], ends: number[], steps: number[], out: ShapeOpArray): void;
  /** gx (of xShape) = zeros with gy (of gyShape = slice_shape(xShape, ...)) written at the sliced positions. */
  slice_backward(
    gy: Float32Array,
    gyShape: number[],
    xShape: number[],
    starts: number[],
    ends: number[],
    steps: number[],
    gx: Float32Array,
  ): void;
  /** Shape of the permutation: out[k] = xShape[perm[k]]. */
  permute_shape(xShape: number[], perm: number[]): number[];
  /**
   * out dim k = x dim perm[k] (transpose = permute). perm is a permutation of 0..rank-1
   * (negative entries from the end): out-of-range entry -> ERR_INDEX, wrong length/repeat -> ERR_ATTR.
   */
  permute(x: ShapeOpArray, xShape: number[], perm: number[], out: ShapeOpArray): void;

  // ---- fused optimizer steps (in place; torch 1.13 update rules) ----
  // All buffers have param's length and must not overlap; states start as zeros.

  /**
   * One Adam / AdamW step. step is the 1-based count of this update (bias corrections).
   * max_exp_avg_sq is required exactly when attrs.amsgrad is set (else null).
   */
  adam_step(
    param: Float32Array,
    grad: Float32Array,
    exp_avg: Float32Array,
    exp_avg_sq: Float32Array,
    max_exp_avg_sq: Float32Array | null,
    step: number,
    attrs?: AdamAttrs,
  ): void;
  /** One RMSprop step; momentum_buf needed when momentum > 0, grad_avg when centered (else null). */
  rmsprop_step(
    param: Float32Array,
    grad: Float32Array,
    square_avg: Float32Array,
    momentum_buf: Float32Array | null,
    grad_avg: Float32Array | null,
    attrs?: RmspropAttrs,
  ): void;
  /**
   * One SGD step. step is the 1-based update count: on step 1 momentum_buf is set to the
   * (weight-decayed) gradient itself, as torch does; later steps update it.
   */
  sgd_step(param: Float32Array, grad: Float32Array, momentum_buf: Float32Array | null, step: number, attrs?: SgdAttrs): void;
}

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
  /**
   * Inverted dropout like torch: mask[i] = 1 (kept) with probability 1 - p, else 0;
   * out = x * mask / (1 - p). p in [0, 1]: p = 0 is the identity, p = 1 gives zeros.
   * out and mask have x's length; out may be x itself.
   */
  dropout(x: Float32Array, out: Float32Array, mask: Uint8Array, p: number, seed: number, offset: number): void;
  /** gx = gy * mask / (1 - p) (zeros when p = 1); gx may be gy itself. Nonzero mask byte = kept. */
  dropout_backward(gy: Float32Array, mask: Uint8Array, p: number, gx: Float32Array): void;

  // ---- embedding ----


  // ---- shape ops ----

  /**
   * Shape of the concatenation along axis (negative from the end): all shapes have the same
   * rank >= 1 and equal dims except at axis, where the result has the sum.
   */
  concat_shape(shapes: number[][], axis: number): number[];
  /**
   * Shape of x[s0:e0:k0, s1:e1:k1, ...] (one entry per dim, Python slicing): negative starts/ends
   * count from the end, then both clamp to [0, dim]; steps >= 1. Each dim has
   * max(0, ceil((end - start) / step)) entries. A whole dim: start 0, end Number.MAX_SAFE_INTEGER, step 1.
   */
  slice_shape(xShape: number[], starts: number[], ends: number[], steps: number[]): number[];
  /** Shape of the permutation: out[k] = xShape[perm[k]]. */
  permute_shape(xShape: number[], perm: number[]): number[];

  // ---- fused optimizer steps (in place; torch 1.13 update rules) ----
  // All buffers have param's length and must not overlap; states start as zeros.

}

// Native functions of the misc group (bindings/misc.cpp): the random streams' counter, dropout
// with a byte mask (the kernel tests call it; the catalog's dropout runs through runKernel), and
// the shape functions of concat, slice and permute.
// All tensors are C-contiguous row-major; outputs are caller-allocated (destination-passing).

export interface MiscBinding {
  // ---- random numbers (Philox4x32-10) ----
  // Every value depends only on (seed, offset, element index): results are reproducible and
  // independent of the thread count. seed and offset are non-negative integers (<= 2^53 - 1).
  // A call over n elements consumes rand_counters(n) = ceil(n / 4) counter values: advance the
  // offset by that much before the next call to get a fresh stream.

  /** Counter values consumed by the uniform / normal / dropout kernels over n elements: ceil(n / 4). */
  rand_counters(n: number): number;
  /**
   * Inverted dropout like torch: mask[i] = 1 (kept) with probability 1 - p, else 0;
   * out = x * mask / (1 - p). p in [0, 1]: p = 0 is the identity, p = 1 gives zeros.
   * out and mask have x's length; out may be x itself.
   */
  dropout(x: Float32Array, out: Float32Array, mask: Uint8Array, p: number, seed: number, offset: number): void;
  /** gx = gy * mask / (1 - p) (zeros when p = 1); gx may be gy itself. Nonzero mask byte = kept. */
  dropout_backward(gy: Float32Array, mask: Uint8Array, p: number, gx: Float32Array): void;

  // ---- shape functions ----

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
}

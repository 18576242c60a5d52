// Data-movement ops on C-contiguous tensors: concat, split, slice (+ backward), permute.
// Instantiated for T = float and int32_t. Outputs never alias inputs (ERR_ARG).
#pragma once
#include <cstdint>
#include <vector>

#include "ravdl/tensor.h"

namespace ravdl {

// Shape of the concatenation of `shapes` along `axis` (negative counts from the end): all
// shapes have the same rank >= 1 and agree on every other dim.
Shape concat_shape(const std::vector<Shape>& shapes, int64_t axis);
template <class T>
void concat(const std::vector<View<const T>>& inputs, int64_t axis, Span<T> out);

// Splits x along `axis` into parts of `sizes` (each >= 0, summing to x's dim); outs[k] holds
// x's shape with dim `axis` replaced by sizes[k].
template <class T>
void split(View<const T> x, int64_t axis, const std::vector<int64_t>& sizes,
           const std::vector<Span<T>>& outs);

// Python/NumPy basic slicing x[s0:e0:k0, s1:e1:k1, ...] over every dim: negative starts/ends
// count from the end, then both are clamped to [0, dim]; steps must be >= 1 (ERR_ATTR). The
// result has max(0, ceil((end - start) / step)) entries per dim. To take a whole dim, pass
// start 0, end >= dim (e.g. Number.MAX_SAFE_INTEGER), step 1.
Shape slice_shape(const Shape& x, const std::vector<int64_t>& starts,
                  const std::vector<int64_t>& ends, const std::vector<int64_t>& steps);
template <class T>
void slice(View<const T> x, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
           const std::vector<int64_t>& steps, Span<T> out);
// gx (of x_shape) = zeros, then the sliced positions receive gy (of slice_shape(...)).
void slice_backward(CFView gy, const Shape& x_shape, const std::vector<int64_t>& starts,
                    const std::vector<int64_t>& ends, const std::vector<int64_t>& steps, FSpan gx);

// out dim k = x dim perm[k]; perm is a permutation of [0, rank) (negative entries count from
// the end; out-of-range -> ERR_INDEX, wrong length or repeats -> ERR_ATTR).
Shape permute_shape(const Shape& x, const std::vector<int64_t>& perm);
template <class T>
void permute(View<const T> x, const std::vector<int64_t>& perm, Span<T> out);

}  // namespace ravdl

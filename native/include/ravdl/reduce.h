// Reductions over any set of axes (sum, mean, max, min, prod, var, std), argmax/argmin and
// sum_to (the un-broadcast of a gradient). Accumulation is in double, so sums over 1e7
// floats keep float precision; results do not depend on the thread count.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "ravdl/tensor.h"

namespace ravdl {

enum class ReduceOp { Sum, Mean, Max, Min, Prod, Var, Std };

const char* reduce_name(ReduceOp op);  // "sum", "var", ...

// Shape of a reduction of x over `axes` (empty = all axes; negative axes count from the end;
// repeats or out-of-range axes throw ERR_INDEX). keepdims keeps reduced dims as 1.
Shape reduce_shape(const char* op, const Shape& x, const std::vector<int64_t>& axes, bool keepdims);

// out = op of x over axes; out must hold numel(reduce_shape(...)) elements.
// Empty reductions give sum 0, prod 1, mean/var/std NaN; max/min of an empty reduction throw
// ERR_SHAPE (like torch). NaN propagates through max/min. var/std divide by
// max(0, n - correction) like torch (correction >= 0, default 1 = unbiased).
void reduce(ReduceOp op, CFView x, const std::vector<int64_t>& axes, bool keepdims, FSpan out,
            double correction = 1.0);

// Shape of argmax/argmin: over one axis, or over the flattened tensor when axis is empty
// (then [] , or all ones when keepdims, like torch).
Shape argreduce_shape(const char* op, const Shape& x, std::optional<int64_t> axis, bool keepdims);

// Index of the max/min along axis (or of the flattened tensor); ties give the first index,
// NaN counts as the extreme (first NaN wins), like torch. The reduced length must fit int32.
void argmax(CFView x, std::optional<int64_t> axis, bool keepdims, ISpan out);
void argmin(CFView x, std::optional<int64_t> axis, bool keepdims, ISpan out);

// Sums x over the dims where out.shape was broadcast to reach x.shape (the gradient of
// broadcast_to). out.shape must broadcast to exactly x.shape (ERR_SHAPE otherwise).
void sum_to(CFView x, FView out);

}  // namespace ravdl

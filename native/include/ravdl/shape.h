// Shapes, strides, broadcasting and axis helpers shared by every kernel.
#pragma once
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "ravdl/error.h"

namespace ravdl {

using Shape = std::vector<int64_t>;

// Number of elements; throws ERR_SHAPE for negative dims or overflow.
int64_t numel(const Shape& s);
std::string shape_str(const Shape& s);  // "[2, 3, 4]"
// Row-major (C-contiguous) strides in elements.
Shape contiguous_strides(const Shape& s);
// NumPy broadcasting of two shapes; `op` names the caller in the error.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
// Strides of `s` seen as broadcast to `target` (0 where a dim is broadcast).
Shape broadcast_strides(const Shape& s, const Shape& target);
// Normalizes a possibly negative axis into [0, rank); throws ERR_INDEX naming op and axis.
// A 0-d tensor counts as one element along axis 0 or -1 (PyTorch's rule): both return 0, so
// callers must not index the shape with it when rank is 0.
int64_t normalize_axis(const char* op, int64_t axis, int64_t rank);
// Normalizes a list of axes (empty list = all axes), sorted; errors on repeats. For a 0-d
// tensor, axes 0 / -1 are accepted and the result is empty (there is no dim to index).
std::vector<int64_t> normalize_axes(const char* op, const std::vector<int64_t>& axes, int64_t rank);

inline std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << shape_str(s); }

}  // namespace ravdl

// 2-D max pooling over [N, C, H, W] or [C, H, W] with torch.nn.MaxPool2d's options.
//
// Output size per spatial dim (torch's rule):
//   O = floor_or_ceil((I + 2*pad - dilation*(k-1) - 1) / stride) + 1, and with ceil_mode the
//   last window must start inside the input or the left padding: if (O-1)*stride >= I + pad, O -= 1.
// Indices are flat positions into each H*W plane (like torch's return_indices). A window that
// holds no input element (possible only with large dilation) gives -inf and index -1.
#pragma once
#include <array>
#include <cstdint>
#include <optional>

#include "ravdl/tensor.h"

namespace ravdl {

struct MaxPool2dAttrs {
  std::array<int64_t, 2> kernel_size{1, 1};
  std::optional<std::array<int64_t, 2>> stride;  // none: kernel_size
  std::array<int64_t, 2> padding{0, 0};          // each <= kernel_size/2
  std::array<int64_t, 2> dilation{1, 1};
  bool ceil_mode = false;
};

// Output shape; ERR_ATTR for kernel/stride/dilation < 1 or padding outside [0, k/2],
// ERR_SHAPE for a rank other than 3/4, an empty plane or an output smaller than 1.
Shape maxpool2d_shape(const Shape& x, const MaxPool2dAttrs& a);

// out = max over each window; indices (int32, same shape as out) = argmax within the plane.
// NaN propagates (the last NaN of a window wins), like torch.
void maxpool2d(CFView x, FSpan out, ISpan indices, const MaxPool2dAttrs& a);

// gx (shape x_shape) = 0, then gx[plane][indices[i]] += gy[i]. gy and indices have the
// pooled shape (same rank and leading dims as x_shape); every index must be in [0, H*W) or -1
// (empty window, gradient dropped), else ERR_INDEX before anything is written.
void maxpool2d_backward(CFView gy, CIView indices, const Shape& x_shape, FSpan gx);

// Average pooling over windows that the caller lays out (avg_pool2d's and adaptive_avg_pool2d's
// rules live in one place, the TypeScript op): output (oh, ow) of each plane averages rows
// [h0[oh], h1[oh]) and columns [w0[ow], w1[ow]) of the input, dividing the sum by
// div[oh * OW + ow]. OH = h0.size, OW = w0.size. ERR_ARG for windows outside the plane, h0 > h1
// or a divisor < 1, before anything is written.
struct PoolWindows {
  Span<const int32_t> h0, h1, w0, w1, div;
};
// out has x's leading dims and [OH, OW]; each sum is taken in double, in row-major window order.
void avgpool2d(CFView x, FSpan out, const PoolWindows& win);
// gx (shape x_shape) = 0, then each gy / div added to every element of its window (in float,
// outputs in order): avgpool2d's gradient.
void avgpool2d_backward(CFView gy, const Shape& x_shape, FSpan gx, const PoolWindows& win);

}  // namespace ravdl

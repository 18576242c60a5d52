// N-d padding of the last k dims: constant, reflect, replicate, circular (torch's rules).
//
// `pads` lists [before, after] pairs for the LAST pads.size()/2 dims IN DIM ORDER, the
// outermost padded dim first: for NCHW padded on H and W, pads = [top, bottom, left, right].
// (torch.nn.functional.pad lists the last dim first; ravdl does not.) A negative pad crops,
// as in torch; the crops of one dim remove at most all of it, leaving `kept` elements.
// Validity (per padded dim of size n, positive pad p = before or after):
//   reflect: p < n; circular: p <= kept; replicate: n >= 1; constant: any p.
// reflect/replicate map output o to i = o - before on the uncropped dim (torch's kernels);
// circular crops first and wraps around the kept part (torch's _pad_circular).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ravdl/tensor.h"

namespace ravdl {

enum class PadMode { Constant, Reflect, Replicate, Circular };

// "constant" | "reflect" | "replicate" | "circular"; otherwise ERR_ATTR naming op and value.
PadMode pad_mode_from(const char* op, const std::string& name);
const char* pad_mode_name(PadMode m);

// Shape of pad(x); validates pads against x (ERR_ATTR for bad pads/modes, ERR_SHAPE for rank).
Shape pad_shape(const char* op, const Shape& x, const std::vector<int64_t>& pads, PadMode mode);

// out = pad(x); `value` fills constant padding. out must not overlap x.
void pad(CFView x, const std::vector<int64_t>& pads, PadMode mode, float value, FSpan out);

// gx = d pad(x) / dx applied to gy: every gy element is summed into the x position it was
// copied from (constant padding drops its gradient). gx's shape is gy's minus the pads.
void pad_backward(CFView gy, const std::vector<int64_t>& pads, PadMode mode, FSpan gx);

// Shape of gx for pad_backward (gy's shape minus the pads), validated like pad_shape.
Shape pad_backward_shape(const char* op, const Shape& gy, const std::vector<int64_t>& pads,
                         PadMode mode);

namespace detail {
// Source index along one dim of size n of padded position o (pads before / after, validated),
// or -1 where constant padding fills: the rule above, for kernels that read through padding.
int64_t pad_source(int64_t o, int64_t before, int64_t after, int64_t n, PadMode m);
// Unchecked kernels on raw buffers (callers validated the shapes). `parallel` lets them
// use the pool; pad_backward_raw zeroes gx first.
void pad_raw(const float* x, const Shape& xs, const std::vector<int64_t>& pads, PadMode mode,
             float value, float* y, bool parallel);
void pad_backward_raw(const float* gy, const Shape& xs, const std::vector<int64_t>& pads,
                      PadMode mode, float* gx, bool parallel);
}  // namespace detail

}  // namespace ravdl

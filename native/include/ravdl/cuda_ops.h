// How the CUDA kernels (libravdl_cuda.so, native/src/cuda/) read a KernelCall: the catalog's
// op names (lib/ops/*) and attribute names, with every attribute a list of numbers
// (registry.h). This header is the one place that fixes the encodings a caller must use:
//
// - booleans: 0 / 1; integers and floats: one number; pairs (kernel_size, stride, padding,
//   dilation): one number (both dims) or two.
// - null (clip's bounds, argmax's axis, max_pool2d's stride, divisor_override, padding_idx) and
//   absent attributes: left out, or an empty list. Absent attributes take the catalog's default.
// - string-valued attributes: the index of the value in the catalog's list (kEnumAttrs below).
// - conv2d 'same' / 'valid' padding: resolved by the caller to explicit padding, passed as
//   [top, bottom, left, right] (or [ph, pw] when symmetric); conv1d's as [left, right].
// - dtype attributes (full, arange, astype): taken from the output tensor's dtype.
// - optional inputs left out: a TensorArg with data == nullptr and an empty shape (or left off
//   the end of the input list); optional outputs likewise, or a [0]-shaped tensor where the
//   catalog declares one (batch_norm's running stats when none are given).
// - Backward ops take the forward's attributes plus the catalog's extras (x_shape, w_shape,
//   shape, num_weights); max_pool2d_backward also accepts the forward's pooling attributes,
//   and then gathers in parallel over the input instead of scattering plane by plane.
//
// Index checks (embedding ids, cross-entropy targets, gather / one_hot indices, max-pool
// indices, astype's range, binary_cross_entropy's probabilities) read a flag back from the
// device before the call returns: these calls synchronise the device's stream.
#pragma once
#include <cstring>

namespace ravdl {

struct CudaEnumAttr {
  const char* attr;       // attribute name
  const char* values[4];  // its catalog values, in code order (0, 1, ...)
};

// The string-valued attributes of the catalog's ops and their codes.
inline constexpr CudaEnumAttr kEnumAttrs[] = {
    {"reduction", {"mean", "sum", "none", nullptr}},                      // cross_entropy, mse_loss, l1_loss, ...
    {"mode", {"constant", "reflect", "replicate", "circular"}},           // pad, pad_backward
    {"padding_mode", {"zeros", "reflect", "replicate", "circular"}},      // conv2d, conv1d (CUDA: zeros only)
};

// The code of `value` for attribute `attr`, or -1 when either is unknown.
inline int cuda_enum_code(const char* attr, const char* value) {
  for (const auto& e : kEnumAttrs)
    if (std::strcmp(e.attr, attr) == 0)
      for (int i = 0; i < 4 && e.values[i]; i++)
        if (std::strcmp(e.values[i], value) == 0) return i;
  return -1;
}

}  // namespace ravdl

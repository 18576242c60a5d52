// Helpers of the CPU kernel registrations (native/src/registry_*.cpp): argument counts, typed
// access to a call's tensors with the checks every wrapper needs, and views for the core kernels.
#pragma once
#include <algorithm>
#include <array>
#include <initializer_list>
#include <optional>

#include "ravdl/error.h"
#include "ravdl/norm.h"
#include "ravdl/registry.h"
#include "ravdl/tensor.h"

namespace ravdl::reg {

// The call has n_in inputs and n_out outputs, and only inputs listed in `optional` are absent.
// Optional inputs may be left off the end of the list (as the CUDA kernels accept them,
// cuda_ops.h): they are added as absent.
inline void expect_counts(KernelCall& c, size_t n_in, size_t n_out, std::initializer_list<size_t> optional = {}) {
  auto is_optional = [&](size_t i) { return std::find(optional.begin(), optional.end(), i) != optional.end(); };
  while (c.inputs.size() < n_in && is_optional(c.inputs.size())) c.inputs.push_back(TensorArg{nullptr, {}, DType::Absent});
  if (c.inputs.size() != n_in || c.outputs.size() != n_out)
    fail(ErrorCode::Arg, c.op, ": expected ", n_in, " inputs and ", n_out, " outputs, got ", c.inputs.size(), " and ",
         c.outputs.size());
  for (size_t i = 0; i < n_in; ++i)
    if (c.inputs[i].dtype == DType::Absent && std::find(optional.begin(), optional.end(), i) == optional.end())
      fail(ErrorCode::Arg, c.op, ": input ", i, " is required");
}

inline const char* dtype_name(DType d) { return d == DType::I32 ? "int32" : d == DType::F32 ? "float32" : "absent"; }

inline const TensorArg& want(const KernelCall& c, const std::vector<TensorArg>& list, size_t i, DType dt, const char* what) {
  const TensorArg& t = list[i];
  if (t.dtype == DType::Absent) fail(ErrorCode::Arg, c.op, ": ", what, " ", i, " is required");
  if (t.dtype != dt) fail(ErrorCode::Dtype, c.op, ": ", what, " ", i, " must be ", dtype_name(dt), ", got ", dtype_name(t.dtype));
  return t;
}

// Input i as float32 (required).
inline CFView in_f(const KernelCall& c, size_t i) {
  const TensorArg& t = want(c, c.inputs, i, DType::F32, "input");
  return CFView{static_cast<const float*>(t.data), t.shape};
}
inline Span<const float> in_fs(const KernelCall& c, size_t i) {
  const TensorArg& t = want(c, c.inputs, i, DType::F32, "input");
  return {static_cast<const float*>(t.data), static_cast<size_t>(t.numel())};
}
// Optional float32 input i (nullopt when absent).
inline OptCF opt_in_fs(const KernelCall& c, size_t i) {
  if (c.inputs[i].dtype == DType::Absent) return std::nullopt;
  return in_fs(c, i);
}
inline bool absent(const KernelCall& c, size_t i) { return c.inputs[i].dtype == DType::Absent; }
inline Span<const int32_t> in_is(const KernelCall& c, size_t i) {
  const TensorArg& t = want(c, c.inputs, i, DType::I32, "input");
  return {static_cast<const int32_t*>(t.data), static_cast<size_t>(t.numel())};
}
inline CIView in_i(const KernelCall& c, size_t i) {
  const TensorArg& t = want(c, c.inputs, i, DType::I32, "input");
  return CIView{static_cast<const int32_t*>(t.data), t.shape};
}
// Output i as float32 / int32.
inline FSpan out_fs(const KernelCall& c, size_t i) {
  const TensorArg& t = want(c, c.outputs, i, DType::F32, "output");
  return {static_cast<float*>(t.data), static_cast<size_t>(t.numel())};
}
inline FView out_f(const KernelCall& c, size_t i) {
  const TensorArg& t = want(c, c.outputs, i, DType::F32, "output");
  return FView{static_cast<float*>(t.data), t.shape};
}
inline ISpan out_is(const KernelCall& c, size_t i) {
  const TensorArg& t = want(c, c.outputs, i, DType::I32, "output");
  return {static_cast<int32_t*>(t.data), static_cast<size_t>(t.numel())};
}

// Output i must have `shape` (the op's inferred shape), ERR_SHAPE naming both otherwise.
inline void expect_out_shape(const KernelCall& c, size_t i, const Shape& shape) {
  if (c.outputs[i].shape != shape)
    fail(ErrorCode::Shape, c.op, ": output ", i, " must have shape ", shape_str(shape), ", got ", shape_str(c.outputs[i].shape));
}

// A pair attribute (an integer or a list of 2), `fallback` when absent.
inline std::array<int64_t, 2> pair_attr(const KernelCall& c, const char* name, std::array<int64_t, 2> fallback) {
  auto v = c.attrs.ints(c.op.c_str(), name);
  if (v.empty()) return fallback;
  if (v.size() == 1) return {v[0], v[0]};
  if (v.size() != 2) fail(ErrorCode::Attr, c.op, ": attribute '", name, "' must be an integer or a list of 2, got ", v.size(), " values");
  return {v[0], v[1]};
}

// For kernels that write an output before reading every input (copies of state, a mask filled
// first): ERR_ARG when an output shares memory with an input, except output k with input
// `own[k]` exactly (an in-place update; own[k] = -1: none).
inline void check_outputs_fresh(const KernelCall& c, const std::vector<int>& own = {}) {
  auto bytes = [](const TensorArg& t) { return static_cast<size_t>(t.numel()) * 4; };
  for (size_t k = 0; k < c.outputs.size(); ++k) {
    const TensorArg& o = c.outputs[k];
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      const TensorArg& t = c.inputs[i];
      if (t.dtype == DType::Absent || !overlaps(static_cast<const char*>(o.data), bytes(o), static_cast<const char*>(t.data), bytes(t))) continue;
      bool exact = o.data == t.data && bytes(o) == bytes(t);
      if (!(exact && k < own.size() && own[k] == static_cast<int>(i)))
        fail(ErrorCode::Arg, c.op, ": output ", k, " must not share memory with input ", i);
    }
  }
}

inline bool flag(const KernelCall& c, const char* name, bool fallback) {
  return c.attrs.num(c.op.c_str(), name, fallback ? 1.0 : 0.0) != 0.0;
}

}  // namespace ravdl::reg

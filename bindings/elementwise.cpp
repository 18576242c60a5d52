// Binding of the elementwise group's shape functions: broadcast_shape, reduce_shape,
// argreduce_shape (the op catalog infers shapes with them). The kernels run through runKernel
// (bindings/kernel.cpp).
#include <optional>

#include "common.h"
#include "ravdl/elementwise.h"
#include "ravdl/reduce.h"

namespace ravdl::node {
namespace {

Napi::Value shape_js(Napi::Env env, const Shape& s) {
  Napi::Array a = Napi::Array::New(env, s.size());
  for (size_t i = 0; i < s.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(s[i])));
  return a;
}

// axes: null/undefined = all, a number, or an array of numbers.
std::vector<int64_t> axes_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (!arg_present(info, i)) return {};
  if (info[i].IsNumber()) return {arg_int(info, i, op, "axes")};
  return arg_ints(info, i, op, "axes");
}

std::optional<int64_t> axis_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (!arg_present(info, i)) return std::nullopt;
  return arg_int(info, i, op, "axis");
}

}  // namespace

void register_elementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("broadcast_shape", fn(env, "broadcast_shape", [](const Napi::CallbackInfo& info) {
    const char* op = "broadcast_shape";
    return shape_js(info.Env(), broadcast_shapes(op, arg_shape(info, 0, op, "aShape"), arg_shape(info, 1, op, "bShape")));
  }));
  exports.Set("reduce_shape", fn(env, "reduce_shape", [](const Napi::CallbackInfo& info) {
    const char* op = "reduce_shape";
    Shape s = arg_shape(info, 0, op, "xShape");
    return shape_js(info.Env(), reduce_shape(op, s, axes_arg(info, 1, op), arg_bool_or(info, 2, op, "keepdims", false)));
  }));
  exports.Set("argreduce_shape", fn(env, "argreduce_shape", [](const Napi::CallbackInfo& info) {
    const char* op = "argreduce_shape";
    Shape s = arg_shape(info, 0, op, "xShape");
    return shape_js(info.Env(), argreduce_shape(op, s, axis_arg(info, 1, op), arg_bool_or(info, 2, op, "keepdims", false)));
  }));
}

}  // namespace ravdl::node

// Binding of the misc group: rand_counters, dropout with its byte mask (+ backward), and the
// shape functions of concat, slice and permute. The catalog's kernels (embedding, shape ops,
// optimizer updates, random values) run through runKernel (bindings/kernel.cpp).
#include <cmath>
#include <initializer_list>
#include <optional>
#include <string>

#include "common.h"
#include "ravdl/embedding.h"
#include "ravdl/optim.h"
#include "ravdl/random.h"
#include "ravdl/shape_ops.h"

namespace ravdl::node {
namespace {

using Info = Napi::CallbackInfo;

Napi::Array js_array(Napi::Value v, const char* op, const char* name) {
  if (!v.IsArray()) fail(ErrorCode::Arg, op, ": ", name, " must be an array");
  return v.As<Napi::Array>();
}

Shape shape_value(Napi::Value v, const char* op, const std::string& name) {
  if (!v.IsArray()) fail(ErrorCode::Arg, op, ": ", name, " must be an array of integers");
  auto arr = v.As<Napi::Array>();
  const uint32_t n = arr.Length();  // once: a getter may grow the array while it is read
  if (n > 64) fail(ErrorCode::Arg, op, ": ", name, " has ", n, " entries (at most 64)");
  Shape s;
  for (uint32_t k = 0; k < n; ++k) {
    Napi::Value e = arr.Get(k);
    if (!e.IsNumber()) fail(ErrorCode::Arg, op, ": ", name, " must be an array of integers");
    double d = e.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > 9007199254740991.0)
      fail(ErrorCode::Shape, op, ": ", name, " has an invalid dimension ", d);
    s.push_back(static_cast<int64_t>(d));
  }
  check_spans(v.Env(), op);
  numel(s);  // rejects overflow
  return s;
}

Napi::Array to_js(Napi::Env env, const Shape& s) {
  Napi::Array a = Napi::Array::New(env, s.size());
  for (uint32_t k = 0; k < s.size(); ++k) a.Set(k, Napi::Number::New(env, double(s[k])));
  return a;
}

Napi::Value undef(const Info& info) { return info.Env().Undefined(); }

void register_random(Napi::Env env, Napi::Object exports) {
  exports.Set("rand_counters", fn(env, "rand_counters", [](const Info& info) -> Napi::Value {
    int64_t n = arg_int(info, 0, "rand_counters", "n");
    return Napi::Number::New(info.Env(), double(rand_counters(n)));
  }));
  exports.Set("dropout", fn(env, "dropout", [](const Info& info) {
    const char* op = "dropout";
    FSpan x = arg_f32(info, 0, op, "x");
    dropout({x.data, x.size}, arg_f32(info, 1, op, "out"), arg_u8(info, 2, op, "mask"),
            arg_num(info, 3, op, "p"), arg_int(info, 4, op, "seed"), arg_int(info, 5, op, "offset"));
    return undef(info);
  }));
  exports.Set("dropout_backward", fn(env, "dropout_backward", [](const Info& info) {
    const char* op = "dropout_backward";
    FSpan gy = arg_f32(info, 0, op, "gy");
    Span<uint8_t> mask = arg_u8(info, 1, op, "mask");
    dropout_backward({gy.data, gy.size}, {mask.data, mask.size}, arg_num(info, 2, op, "p"),
                     arg_f32(info, 3, op, "gx"));
    return undef(info);
  }));
}

void register_shape_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("concat_shape", fn(env, "concat_shape", [](const Info& info) -> Napi::Value {
    const char* op = "concat_shape";
    Napi::Array arr = js_array(info[0], op, "shapes");
    std::vector<Shape> shapes;
    const uint32_t n = arr.Length();  // lengths are read once: a getter may grow an array
    for (uint32_t k = 0; k < n; ++k)
      shapes.push_back(shape_value(arr.Get(k), op, "shapes[" + std::to_string(k) + "]"));
    return to_js(info.Env(), concat_shape(shapes, arg_int(info, 1, op, "axis")));
  }));
  exports.Set("slice_shape", fn(env, "slice_shape", [](const Info& info) -> Napi::Value {
    const char* op = "slice_shape";
    return to_js(info.Env(), slice_shape(arg_shape(info, 0, op, "xShape"), arg_ints(info, 1, op, "starts"),
                                         arg_ints(info, 2, op, "ends"), arg_ints(info, 3, op, "steps")));
  }));
  exports.Set("permute_shape", fn(env, "permute_shape", [](const Info& info) -> Napi::Value {
    const char* op = "permute_shape";
    return to_js(info.Env(), permute_shape(arg_shape(info, 0, op, "xShape"), arg_ints(info, 1, op, "perm")));
  }));
}

}  // namespace

void register_misc(Napi::Env env, Napi::Object exports) {
  register_random(env, exports);
  register_shape_ops(env, exports);
}

}  // namespace ravdl::node

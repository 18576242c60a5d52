// Binding of the misc kernel group: random + dropout, embedding, shape ops, optimizers.
// Only parses arguments; every check on shapes and values is done by the core.
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

// A Float32Array or Int32Array (the shape ops accept both).
struct AnyArray {
  bool is_int = false;
  void* data = nullptr;
  size_t size = 0;
  template <class T>
  Span<T> span() const { return {static_cast<T*>(data), size}; }
};

AnyArray any_array(Napi::Value v, const char* op, const std::string& name) {
  if (!v.IsTypedArray()) fail(ErrorCode::Arg, op, ": ", name, " must be a Float32Array or an Int32Array");
  auto ta = v.As<Napi::TypedArray>();
  auto type = ta.TypedArrayType();
  if (type != napi_float32_array && type != napi_int32_array)
    fail(ErrorCode::Dtype, op, ": ", name, " must be a Float32Array or an Int32Array");
  return {type == napi_int32_array, typed_data(ta), ta.ElementLength()};
}

void same_dtype(const char* op, const AnyArray& a, const AnyArray& b, const std::string& name) {
  if (a.is_int != b.is_int)
    fail(ErrorCode::Dtype, op, ": ", name, " must have the same element type as the input (",
         a.is_int ? "Int32Array" : "Float32Array", ")");
}

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

FSpan opt_f32(const Info& info, size_t i, const char* op, const char* name) {
  return arg_present(info, i) ? arg_f32(info, i, op, name) : FSpan{};
}

// Rejects attribute keys the op does not know (a misspelled key would be silently ignored).
void check_keys(Napi::Object o, const char* op, std::initializer_list<const char*> known) {
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t k = 0; k < keys.Length(); ++k) {
    std::string key = keys.Get(k).ToString().Utf8Value();
    bool ok = false;
    for (const char* name : known) ok = ok || key == name;
    if (!ok) fail(ErrorCode::Attr, op, ": unknown attribute '", key, "'");
  }
}

Napi::Value undef(const Info& info) { return info.Env().Undefined(); }

void register_random(Napi::Env env, Napi::Object exports) {
  exports.Set("rand_counters", fn(env, "rand_counters", [](const Info& info) -> Napi::Value {
    int64_t n = arg_int(info, 0, "rand_counters", "n");
    return Napi::Number::New(info.Env(), double(rand_counters(n)));
  }));
  exports.Set("rand_uniform", fn(env, "rand_uniform", [](const Info& info) {
    const char* op = "rand_uniform";
    rand_uniform(arg_f32(info, 0, op, "out"), arg_num(info, 1, op, "low"), arg_num(info, 2, op, "high"),
                 arg_int(info, 3, op, "seed"), arg_int(info, 4, op, "offset"));
    return undef(info);
  }));
  exports.Set("rand_normal", fn(env, "rand_normal", [](const Info& info) {
    const char* op = "rand_normal";
    rand_normal(arg_f32(info, 0, op, "out"), arg_num(info, 1, op, "mean"), arg_num(info, 2, op, "std"),
                arg_int(info, 3, op, "seed"), arg_int(info, 4, op, "offset"));
    return undef(info);
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

void register_embedding(Napi::Env env, Napi::Object exports) {
  exports.Set("embedding", fn(env, "embedding", [](const Info& info) {
    const char* op = "embedding";
    CFView w = cview(op, "weight", arg_f32(info, 0, op, "weight"), arg_shape(info, 1, op, "wShape"));
    Span<int32_t> ids = arg_i32(info, 2, op, "ids");
    embedding(w, {ids.data, ids.size}, arg_f32(info, 3, op, "out"));
    return undef(info);
  }));
  exports.Set("embedding_backward", fn(env, "embedding_backward", [](const Info& info) {
    const char* op = "embedding_backward";
    FSpan gy = arg_f32(info, 0, op, "gy");
    Span<int32_t> ids = arg_i32(info, 1, op, "ids");
    int64_t V = arg_int(info, 2, op, "V"), D = arg_int(info, 3, op, "D");
    std::optional<int64_t> pad;
    if (arg_present(info, 4)) pad = arg_int(info, 4, op, "padding_idx");
    embedding_backward({gy.data, gy.size}, {ids.data, ids.size}, V, D, pad, arg_f32(info, 5, op, "gw"));
    return undef(info);
  }));
}

template <class T>
void concat_as(const std::vector<AnyArray>& ins, const std::vector<Shape>& shapes, int64_t axis,
               const AnyArray& out) {
  std::vector<View<const T>> views;
  for (size_t k = 0; k < ins.size(); ++k) {
    std::string name = "inputs[" + std::to_string(k) + "]";
    views.push_back(view<const T>("concat", name.c_str(), static_cast<const T*>(ins[k].data), ins[k].size, shapes[k]));
  }
  concat<T>(views, axis, out.span<T>());
}

template <class T>
void split_as(const AnyArray& x, const Shape& xs, int64_t axis, const std::vector<int64_t>& sizes,
              const std::vector<AnyArray>& outs) {
  std::vector<Span<T>> spans;
  for (auto& o : outs) spans.push_back(o.span<T>());
  split<T>(view<const T>("split", "x", static_cast<const T*>(x.data), x.size, xs), axis, sizes, spans);
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
  exports.Set("concat", fn(env, "concat", [](const Info& info) {
    const char* op = "concat";
    Napi::Array ins = js_array(info[0], op, "inputs"), shs = js_array(info[1], op, "shapes");
    const uint32_t n = ins.Length();
    if (n != shs.Length())
      fail(ErrorCode::Arg, op, ": got ", n, " inputs but ", shs.Length(), " shapes");
    AnyArray out = any_array(info[3], op, "out");
    std::vector<AnyArray> arrays;
    std::vector<Shape> shapes;
    for (uint32_t k = 0; k < n; ++k) {
      std::string name = "inputs[" + std::to_string(k) + "]";
      arrays.push_back(any_array(ins.Get(k), op, name));
      same_dtype(op, out, arrays.back(), name);
      shapes.push_back(shape_value(shs.Get(k), op, "shapes[" + std::to_string(k) + "]"));
    }
    int64_t axis = arg_int(info, 2, op, "axis");
    if (out.is_int) concat_as<int32_t>(arrays, shapes, axis, out);
    else concat_as<float>(arrays, shapes, axis, out);
    return undef(info);
  }));
  exports.Set("split", fn(env, "split", [](const Info& info) {
    const char* op = "split";
    AnyArray x = any_array(info[0], op, "x");
    Shape xs = arg_shape(info, 1, op, "xShape");
    int64_t axis = arg_int(info, 2, op, "axis");
    std::vector<int64_t> sizes = arg_ints(info, 3, op, "sizes");
    Napi::Array outs_js = js_array(info[4], op, "outs");
    std::vector<AnyArray> outs;
    const uint32_t n = outs_js.Length();
    for (uint32_t k = 0; k < n; ++k) {
      std::string name = "outs[" + std::to_string(k) + "]";
      outs.push_back(any_array(outs_js.Get(k), op, name));
      same_dtype(op, x, outs.back(), name);
    }
    check_spans(info.Env(), op);  // outs[k] may be an accessor that detached an earlier buffer
    if (x.is_int) split_as<int32_t>(x, xs, axis, sizes, outs);
    else split_as<float>(x, xs, axis, sizes, outs);
    return undef(info);
  }));
  exports.Set("slice_shape", fn(env, "slice_shape", [](const Info& info) -> Napi::Value {
    const char* op = "slice_shape";
    return to_js(info.Env(), slice_shape(arg_shape(info, 0, op, "xShape"), arg_ints(info, 1, op, "starts"),
                                         arg_ints(info, 2, op, "ends"), arg_ints(info, 3, op, "steps")));
  }));
  exports.Set("slice", fn(env, "slice", [](const Info& info) {
    const char* op = "slice";
    AnyArray x = any_array(info[0], op, "x");
    Shape xs = arg_shape(info, 1, op, "xShape");
    auto starts = arg_ints(info, 2, op, "starts"), ends = arg_ints(info, 3, op, "ends");
    auto steps = arg_ints(info, 4, op, "steps");
    AnyArray out = any_array(info[5], op, "out");
    same_dtype(op, x, out, "out");
    if (x.is_int)
      slice<int32_t>(view<const int32_t>(op, "x", static_cast<const int32_t*>(x.data), x.size, xs), starts, ends,
                     steps, out.span<int32_t>());
    else
      slice<float>(view<const float>(op, "x", static_cast<const float*>(x.data), x.size, xs), starts, ends,
                   steps, out.span<float>());
    return undef(info);
  }));
  exports.Set("slice_backward", fn(env, "slice_backward", [](const Info& info) {
    const char* op = "slice_backward";
    CFView gy = cview(op, "gy", arg_f32(info, 0, op, "gy"), arg_shape(info, 1, op, "gyShape"));
    slice_backward(gy, arg_shape(info, 2, op, "xShape"), arg_ints(info, 3, op, "starts"),
                   arg_ints(info, 4, op, "ends"), arg_ints(info, 5, op, "steps"), arg_f32(info, 6, op, "gx"));
    return undef(info);
  }));
  exports.Set("permute_shape", fn(env, "permute_shape", [](const Info& info) -> Napi::Value {
    const char* op = "permute_shape";
    return to_js(info.Env(), permute_shape(arg_shape(info, 0, op, "xShape"), arg_ints(info, 1, op, "perm")));
  }));
  exports.Set("permute", fn(env, "permute", [](const Info& info) {
    const char* op = "permute";
    AnyArray x = any_array(info[0], op, "x");
    Shape xs = arg_shape(info, 1, op, "xShape");
    auto perm = arg_ints(info, 2, op, "perm");
    AnyArray out = any_array(info[3], op, "out");
    same_dtype(op, x, out, "out");
    if (x.is_int)
      permute<int32_t>(view<const int32_t>(op, "x", static_cast<const int32_t*>(x.data), x.size, xs), perm,
                       out.span<int32_t>());
    else
      permute<float>(view<const float>(op, "x", static_cast<const float*>(x.data), x.size, xs), perm,
                     out.span<float>());
    return undef(info);
  }));
}

void register_optim(Napi::Env env, Napi::Object exports) {
  exports.Set("adam_step", fn(env, "adam_step", [](const Info& info) {
    const char* op = "adam_step";
    FSpan grad = arg_f32(info, 1, op, "grad");
    Napi::Object a = arg_obj(info, 6, op, "attrs");
    check_keys(a, op, {"lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad", "decoupled_weight_decay", "maximize"});
    AdamOptions o;
    o.lr = attr_num(a, "lr", op, o.lr);
    o.beta1 = attr_num(a, "beta1", op, o.beta1);
    o.beta2 = attr_num(a, "beta2", op, o.beta2);
    o.eps = attr_num(a, "eps", op, o.eps);
    o.weight_decay = attr_num(a, "weight_decay", op, o.weight_decay);
    o.amsgrad = attr_bool(a, "amsgrad", op, o.amsgrad);
    o.decoupled_weight_decay = attr_bool(a, "decoupled_weight_decay", op, o.decoupled_weight_decay);
    o.maximize = attr_bool(a, "maximize", op, o.maximize);
    adam_step(arg_f32(info, 0, op, "param"), {grad.data, grad.size}, arg_f32(info, 2, op, "exp_avg"),
              arg_f32(info, 3, op, "exp_avg_sq"), opt_f32(info, 4, op, "max_exp_avg_sq"),
              arg_int(info, 5, op, "step"), o);
    return undef(info);
  }));
  exports.Set("rmsprop_step", fn(env, "rmsprop_step", [](const Info& info) {
    const char* op = "rmsprop_step";
    FSpan grad = arg_f32(info, 1, op, "grad");
    Napi::Object a = arg_obj(info, 5, op, "attrs");
    check_keys(a, op, {"lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"});
    RmspropOptions o;
    o.lr = attr_num(a, "lr", op, o.lr);
    o.alpha = attr_num(a, "alpha", op, o.alpha);
    o.eps = attr_num(a, "eps", op, o.eps);
    o.weight_decay = attr_num(a, "weight_decay", op, o.weight_decay);
    o.momentum = attr_num(a, "momentum", op, o.momentum);
    o.centered = attr_bool(a, "centered", op, o.centered);
    o.maximize = attr_bool(a, "maximize", op, o.maximize);
    rmsprop_step(arg_f32(info, 0, op, "param"), {grad.data, grad.size}, arg_f32(info, 2, op, "square_avg"),
                 opt_f32(info, 3, op, "momentum_buf"), opt_f32(info, 4, op, "grad_avg"), o);
    return undef(info);
  }));
  exports.Set("sgd_step", fn(env, "sgd_step", [](const Info& info) {
    const char* op = "sgd_step";
    FSpan grad = arg_f32(info, 1, op, "grad");
    Napi::Object a = arg_obj(info, 4, op, "attrs");
    check_keys(a, op, {"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"});
    SgdOptions o;
    o.lr = attr_num(a, "lr", op, o.lr);
    o.momentum = attr_num(a, "momentum", op, o.momentum);
    o.dampening = attr_num(a, "dampening", op, o.dampening);
    o.weight_decay = attr_num(a, "weight_decay", op, o.weight_decay);
    o.nesterov = attr_bool(a, "nesterov", op, o.nesterov);
    o.maximize = attr_bool(a, "maximize", op, o.maximize);
    sgd_step(arg_f32(info, 0, op, "param"), {grad.data, grad.size}, opt_f32(info, 2, op, "momentum_buf"),
             arg_int(info, 3, op, "step"), o);
    return undef(info);
  }));
}

}  // namespace

void register_misc(Napi::Env env, Napi::Object exports) {
  register_random(env, exports);
  register_embedding(env, exports);
  register_shape_ops(env, exports);
  register_optim(env, exports);
}

}  // namespace ravdl::node

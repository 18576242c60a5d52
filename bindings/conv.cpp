// Binding of the conv kernel group: pad, conv2d (+ gradients), maxpool2d (+ gradient) and
// their shape functions. Only parses arguments; the core validates everything.
#include <set>
#include <string>

#include "common.h"
#include "ravdl/conv.h"
#include "ravdl/pad.h"
#include "ravdl/pool.h"

namespace ravdl::node {
namespace {

// Rejects attribute names the op does not know (catches typos like 'strides').
void check_keys(Napi::Object o, const char* op, const std::set<std::string>& known) {
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string k = keys.Get(i).ToString().Utf8Value();
    if (!known.count(k)) fail(ErrorCode::Attr, op, ": unknown attribute '", k, "'");
  }
}

Conv2dAttrs conv_attrs(const Napi::CallbackInfo& info, size_t i, const char* op) {
  Napi::Object o = arg_obj(info, i, op, "attrs");
  check_keys(o, op, {"stride", "padding", "dilation", "groups", "padding_mode"});
  Conv2dAttrs a;
  auto st = attr_ints(o, "stride", op, 2, {1, 1});
  a.stride = {st[0], st[1]};
  if (attr_has(o, "padding") && o.Get("padding").IsString()) {
    a.padding_kind = conv_padding_from(op, attr_str(o, "padding", op, ""));
  } else {
    auto p = attr_ints(o, "padding", op, 2, {0, 0});
    a.padding = {p[0], p[1]};
  }
  auto d = attr_ints(o, "dilation", op, 2, {1, 1});
  a.dilation = {d[0], d[1]};
  a.groups = attr_int(o, "groups", op, 1);
  a.padding_mode = conv_padding_mode_from(op, attr_str(o, "padding_mode", op, "zeros"));
  return a;
}

// Five int32 arrays from argument i on: h0, h1, w0, w1, div (see PoolWindows).
PoolWindows pool_windows(const Napi::CallbackInfo& info, size_t i, const char* op) {
  auto c = [&](size_t k, const char* name) {
    Span<int32_t> a = arg_i32(info, i + k, op, name);
    return Span<const int32_t>{a.data, a.size};
  };
  return PoolWindows{c(0, "h0"), c(1, "h1"), c(2, "w0"), c(3, "w1"), c(4, "div")};
}

MaxPool2dAttrs pool_attrs(const Napi::CallbackInfo& info, size_t i, const char* op) {
  Napi::Object o = arg_obj(info, i, op, "attrs");
  check_keys(o, op, {"kernel_size", "stride", "padding", "dilation", "ceil_mode"});
  if (!attr_has(o, "kernel_size")) fail(ErrorCode::Attr, op, ": attribute kernel_size is required");
  MaxPool2dAttrs a;
  auto k = attr_ints(o, "kernel_size", op, 2, {});
  a.kernel_size = {k[0], k[1]};
  if (attr_has(o, "stride")) {
    auto s = attr_ints(o, "stride", op, 2, {});
    a.stride = std::array<int64_t, 2>{s[0], s[1]};
  }
  auto p = attr_ints(o, "padding", op, 2, {0, 0});
  a.padding = {p[0], p[1]};
  auto d = attr_ints(o, "dilation", op, 2, {1, 1});
  a.dilation = {d[0], d[1]};
  a.ceil_mode = attr_bool(o, "ceil_mode", op, false);
  return a;
}

Napi::Value shape_value(Napi::Env env, const Shape& s) {
  Napi::Array arr = Napi::Array::New(env, s.size());
  for (size_t i = 0; i < s.size(); ++i) arr.Set(static_cast<uint32_t>(i), static_cast<double>(s[i]));
  return arr;
}

CIView ci32(const char* op, const char* name, Span<int32_t> s, Shape shape) {
  return view<const int32_t>(op, name, s.data, s.size, std::move(shape));
}

}  // namespace

void register_conv(Napi::Env env, Napi::Object exports) {
  exports.Set("pad", fn(env, "pad", [](const Napi::CallbackInfo& info) {
    const char* op = "pad";
    auto x = cview(op, "x", arg_f32(info, 0, op, "x"), arg_shape(info, 1, op, "xShape"));
    auto pads = arg_ints(info, 2, op, "pads");
    PadMode mode = pad_mode_from(op, arg_str(info, 3, op, "mode"));
    float value = static_cast<float>(arg_num(info, 4, op, "value"));
    pad(x, pads, mode, value, arg_f32(info, 5, op, "out"));
    return info.Env().Undefined();
  }));
  exports.Set("pad_backward", fn(env, "pad_backward", [](const Napi::CallbackInfo& info) {
    const char* op = "pad_backward";
    auto gy = cview(op, "gy", arg_f32(info, 0, op, "gy"), arg_shape(info, 1, op, "gyShape"));
    auto pads = arg_ints(info, 2, op, "pads");
    PadMode mode = pad_mode_from(op, arg_str(info, 3, op, "mode"));
    pad_backward(gy, pads, mode, arg_f32(info, 4, op, "gx"));
    return info.Env().Undefined();
  }));
  exports.Set("pad_shape", fn(env, "pad_shape", [](const Napi::CallbackInfo& info) {
    const char* op = "pad_shape";
    Shape xs = arg_shape(info, 0, op, "xShape");
    auto pads = arg_ints(info, 1, op, "pads");
    PadMode mode = pad_mode_from(op, arg_str(info, 2, op, "mode"));
    return shape_value(info.Env(), pad_shape(op, xs, pads, mode));
  }));

  exports.Set("conv2d", fn(env, "conv2d", [](const Napi::CallbackInfo& info) {
    const char* op = "conv2d";
    auto x = cview(op, "x", arg_f32(info, 0, op, "x"), arg_shape(info, 1, op, "xShape"));
    auto w = cview(op, "w", arg_f32(info, 2, op, "w"), arg_shape(info, 3, op, "wShape"));
    std::optional<Span<const float>> bias;
    if (arg_present(info, 4)) {
      Span<float> b = arg_f32(info, 4, op, "bias");
      bias = Span<const float>{b.data, b.size};
    }
    Span<float> out = arg_f32(info, 5, op, "out");
    conv2d(x, w, bias, out, conv_attrs(info, 6, op));
    return info.Env().Undefined();
  }));
  exports.Set("conv2d_backward_input", fn(env, "conv2d_backward_input", [](const Napi::CallbackInfo& info) {
    const char* op = "conv2d_backward_input";
    auto gy = cview(op, "gy", arg_f32(info, 0, op, "gy"), arg_shape(info, 1, op, "gyShape"));
    auto w = cview(op, "w", arg_f32(info, 2, op, "w"), arg_shape(info, 3, op, "wShape"));
    Span<float> gx = arg_f32(info, 4, op, "gx");
    Shape xs = arg_shape(info, 5, op, "xShape");
    conv2d_backward_input(gy, w, xs, gx, conv_attrs(info, 6, op));
    return info.Env().Undefined();
  }));
  exports.Set("conv2d_backward_weight", fn(env, "conv2d_backward_weight", [](const Napi::CallbackInfo& info) {
    const char* op = "conv2d_backward_weight";
    auto gy = cview(op, "gy", arg_f32(info, 0, op, "gy"), arg_shape(info, 1, op, "gyShape"));
    auto x = cview(op, "x", arg_f32(info, 2, op, "x"), arg_shape(info, 3, op, "xShape"));
    Span<float> gw = arg_f32(info, 4, op, "gw");
    Shape ws = arg_shape(info, 5, op, "wShape");
    conv2d_backward_weight(gy, x, ws, gw, conv_attrs(info, 6, op));
    return info.Env().Undefined();
  }));
  exports.Set("conv2d_backward_bias", fn(env, "conv2d_backward_bias", [](const Napi::CallbackInfo& info) {
    const char* op = "conv2d_backward_bias";
    auto gy = cview(op, "gy", arg_f32(info, 0, op, "gy"), arg_shape(info, 1, op, "gyShape"));
    conv2d_backward_bias(gy, arg_f32(info, 2, op, "gb"));
    return info.Env().Undefined();
  }));
  exports.Set("conv2d_shape", fn(env, "conv2d_shape", [](const Napi::CallbackInfo& info) {
    const char* op = "conv2d_shape";
    Shape xs = arg_shape(info, 0, op, "xShape");
    Shape ws = arg_shape(info, 1, op, "wShape");
    return shape_value(info.Env(), conv2d_shape(xs, ws, conv_attrs(info, 2, op)));
  }));

  exports.Set("maxpool2d", fn(env, "maxpool2d", [](const Napi::CallbackInfo& info) {
    const char* op = "maxpool2d";
    auto x = cview(op, "x", arg_f32(info, 0, op, "x"), arg_shape(info, 1, op, "xShape"));
    Span<float> out = arg_f32(info, 2, op, "out");
    Span<int32_t> idx = arg_i32(info, 3, op, "indices");
    maxpool2d(x, out, idx, pool_attrs(info, 4, op));
    return info.Env().Undefined();
  }));
  exports.Set("maxpool2d_backward", fn(env, "maxpool2d_backward", [](const Napi::CallbackInfo& info) {
    const char* op = "maxpool2d_backward";
    Shape gys = arg_shape(info, 1, op, "gyShape");
    auto gy = cview(op, "gy", arg_f32(info, 0, op, "gy"), gys);
    auto idx = ci32(op, "indices", arg_i32(info, 2, op, "indices"), gys);
    Span<float> gx = arg_f32(info, 3, op, "gx");
    Shape xs = arg_shape(info, 4, op, "xShape");
    maxpool2d_backward(gy, idx, xs, gx);
    return info.Env().Undefined();
  }));
  // avgpool2d(x, xShape, h0, h1, w0, w1, div, out) and
  // avgpool2d_backward(gy, gyShape, h0, h1, w0, w1, div, gx, xShape): windows as int32 arrays.
  exports.Set("avgpool2d", fn(env, "avgpool2d", [](const Napi::CallbackInfo& info) {
    const char* op = "avgpool2d";
    auto x = cview(op, "x", arg_f32(info, 0, op, "x"), arg_shape(info, 1, op, "xShape"));
    avgpool2d(x, arg_f32(info, 7, op, "out"), pool_windows(info, 2, op));
    return info.Env().Undefined();
  }));
  exports.Set("avgpool2d_backward", fn(env, "avgpool2d_backward", [](const Napi::CallbackInfo& info) {
    const char* op = "avgpool2d_backward";
    auto gy = cview(op, "gy", arg_f32(info, 0, op, "gy"), arg_shape(info, 1, op, "gyShape"));
    avgpool2d_backward(gy, arg_shape(info, 8, op, "xShape"), arg_f32(info, 7, op, "gx"), pool_windows(info, 2, op));
    return info.Env().Undefined();
  }));
  exports.Set("maxpool2d_shape", fn(env, "maxpool2d_shape", [](const Napi::CallbackInfo& info) {
    const char* op = "maxpool2d_shape";
    Shape xs = arg_shape(info, 0, op, "xShape");
    return shape_value(info.Env(), maxpool2d_shape(xs, pool_attrs(info, 1, op)));
  }));
}

}  // namespace ravdl::node

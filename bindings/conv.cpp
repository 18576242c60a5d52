// Binding of the conv group's shape functions: pad_shape, conv2d_shape, maxpool2d_shape (the op
// catalog infers shapes with them). The kernels run through runKernel (bindings/kernel.cpp).
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

}  // namespace

void register_conv(Napi::Env env, Napi::Object exports) {
  exports.Set("pad_shape", fn(env, "pad_shape", [](const Napi::CallbackInfo& info) {
    const char* op = "pad_shape";
    Shape xs = arg_shape(info, 0, op, "xShape");
    auto pads = arg_ints(info, 1, op, "pads");
    PadMode mode = pad_mode_from(op, arg_str(info, 2, op, "mode"));
    return shape_value(info.Env(), pad_shape(op, xs, pads, mode));
  }));

  exports.Set("conv2d_shape", fn(env, "conv2d_shape", [](const Napi::CallbackInfo& info) {
    const char* op = "conv2d_shape";
    Shape xs = arg_shape(info, 0, op, "xShape");
    Shape ws = arg_shape(info, 1, op, "wShape");
    return shape_value(info.Env(), conv2d_shape(xs, ws, conv_attrs(info, 2, op)));
  }));

  exports.Set("maxpool2d_shape", fn(env, "maxpool2d_shape", [](const Napi::CallbackInfo& info) {
    const char* op = "maxpool2d_shape";
    Shape xs = arg_shape(info, 0, op, "xShape");
    return shape_value(info.Env(), maxpool2d_shape(xs, pool_attrs(info, 1, op)));
  }));
}

}  // namespace ravdl::node

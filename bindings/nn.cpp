// Binding of the nn kernel group: batch_norm, layer_norm, softmax family, cross_entropy, mse_loss.
// Only parses arguments; the core validates every size, index and attribute.
#include "common.h"
#include "ravdl/loss.h"
#include "ravdl/norm.h"
#include "ravdl/softmax.h"

namespace ravdl::node {
namespace {

// A Float32Array argument that may be null/undefined.
OptF opt_f32(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (!arg_present(info, i)) return std::nullopt;
  return arg_f32(info, i, op, name);
}
OptCF opt_cf32(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (!arg_present(info, i)) return std::nullopt;
  Span<float> s = arg_f32(info, i, op, name);
  return Span<const float>{s.data, s.size};
}
Span<const float> cf32(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  Span<float> s = arg_f32(info, i, op, name);
  return Span<const float>{s.data, s.size};
}
CFView cview_at(const Napi::CallbackInfo& info, size_t data, size_t shape, const char* op,
                const char* name) {
  Span<float> s = arg_f32(info, data, op, name);
  return cview(op, name, s, arg_shape(info, shape, op, "shape"));
}

Reduction reduction_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  return parse_reduction(op, arg_present(info, i) ? arg_str(info, i, op, "reduction") : "mean");
}

Napi::Value shape_js(Napi::Env env, const Shape& s) {
  Napi::Array a = Napi::Array::New(env, s.size());
  for (size_t i = 0; i < s.size(); ++i) a.Set(uint32_t(i), Napi::Number::New(env, double(s[i])));
  return a;
}

}  // namespace

void register_nn(Napi::Env env, Napi::Object exports) {
  exports.Set("batch_norm", fn(env, "batch_norm", [](const Napi::CallbackInfo& info) {
    const char* op = "batch_norm";
    CFView x = cview_at(info, 0, 1, op, "x");
    OptCF gamma = opt_cf32(info, 2, op, "gamma"), beta = opt_cf32(info, 3, op, "beta");
    OptF rm = opt_f32(info, 4, op, "running_mean"), rv = opt_f32(info, 5, op, "running_var");
    FSpan out = arg_f32(info, 6, op, "out");
    OptF sm = opt_f32(info, 7, op, "save_mean"), si = opt_f32(info, 8, op, "save_invstd");
    Napi::Object o = arg_obj(info, 9, op, "attrs");
    BatchNormAttrs a;
    a.training = attr_bool(o, "training", op, true);
    a.momentum = attr_num(o, "momentum", op, 0.1);
    a.eps = attr_num(o, "eps", op, 1e-5);
    batch_norm_forward(x, gamma, beta, rm, rv, out, sm, si, a);
    return info.Env().Undefined();
  }));
  exports.Set("batch_norm_backward", fn(env, "batch_norm_backward", [](const Napi::CallbackInfo& info) {
    const char* op = "batch_norm_backward";
    Shape shape = arg_shape(info, 2, op, "shape");
    CFView g = cview(op, "grad_out", arg_f32(info, 0, op, "grad_out"), shape);
    CFView x = cview(op, "x", arg_f32(info, 1, op, "x"), shape);
    OptCF gamma = opt_cf32(info, 3, op, "gamma");
    Span<const float> mean = cf32(info, 4, op, "save_mean"), invstd = cf32(info, 5, op, "save_invstd");
    OptF gx = opt_f32(info, 6, op, "grad_x"), gg = opt_f32(info, 7, op, "grad_gamma"),
         gb = opt_f32(info, 8, op, "grad_beta");
    Napi::Object o = arg_obj(info, 9, op, "attrs");
    batch_norm_backward(g, x, gamma, mean, invstd, attr_bool(o, "training", op, true), gx, gg, gb);
    return info.Env().Undefined();
  }));

  exports.Set("layer_norm", fn(env, "layer_norm", [](const Napi::CallbackInfo& info) {
    const char* op = "layer_norm";
    CFView x = cview_at(info, 0, 1, op, "x");
    Shape ns = arg_shape(info, 2, op, "normalized_shape");
    OptCF w = opt_cf32(info, 3, op, "weight"), b = opt_cf32(info, 4, op, "bias");
    FSpan out = arg_f32(info, 5, op, "out");
    OptF mean = opt_f32(info, 6, op, "mean"), rstd = opt_f32(info, 7, op, "rstd");
    double eps = arg_num_or(info, 8, op, "eps", 1e-5);
    layer_norm_forward(x, ns, w, b, out, mean, rstd, eps);
    return info.Env().Undefined();
  }));
  exports.Set("layer_norm_backward", fn(env, "layer_norm_backward", [](const Napi::CallbackInfo& info) {
    const char* op = "layer_norm_backward";
    Shape shape = arg_shape(info, 2, op, "shape");
    CFView g = cview(op, "grad_out", arg_f32(info, 0, op, "grad_out"), shape);
    CFView x = cview(op, "x", arg_f32(info, 1, op, "x"), shape);
    Shape ns = arg_shape(info, 3, op, "normalized_shape");
    Span<const float> mean = cf32(info, 4, op, "mean"), rstd = cf32(info, 5, op, "rstd");
    OptCF w = opt_cf32(info, 6, op, "weight");
    OptF gx = opt_f32(info, 7, op, "grad_x"), gw = opt_f32(info, 8, op, "grad_weight"),
         gb = opt_f32(info, 9, op, "grad_bias");
    layer_norm_backward(g, x, ns, mean, rstd, w, gx, gw, gb);
    return info.Env().Undefined();
  }));


  exports.Set("cross_entropy_shape", fn(env, "cross_entropy_shape", [](const Napi::CallbackInfo& info) {
    const char* op = "cross_entropy_shape";
    Shape s = arg_shape(info, 0, op, "logits_shape");
    return shape_js(info.Env(), cross_entropy_shape(s, reduction_arg(info, 1, op)));
  }));

  exports.Set("mse_loss", fn(env, "mse_loss", [](const Napi::CallbackInfo& info) {
    const char* op = "mse_loss";
    Span<const float> p = cf32(info, 0, op, "pred"), t = cf32(info, 1, op, "target");
    FSpan out = arg_f32(info, 2, op, "out");
    mse_loss_forward(p, t, out, reduction_arg(info, 3, op));
    return info.Env().Undefined();
  }));
  exports.Set("mse_loss_backward", fn(env, "mse_loss_backward", [](const Napi::CallbackInfo& info) {
    const char* op = "mse_loss_backward";
    Span<const float> p = cf32(info, 0, op, "pred"), t = cf32(info, 1, op, "target");
    Span<const float> g = cf32(info, 2, op, "grad_loss");
    OptF gp = opt_f32(info, 3, op, "grad_pred"), gt = opt_f32(info, 4, op, "grad_target");
    mse_loss_backward(p, t, g, gp, gt, reduction_arg(info, 5, op));
    return info.Env().Undefined();
  }));
  exports.Set("mse_loss_shape", fn(env, "mse_loss_shape", [](const Napi::CallbackInfo& info) {
    const char* op = "mse_loss_shape";
    Shape s = arg_shape(info, 0, op, "pred_shape");
    return shape_js(info.Env(), mse_loss_shape(s, reduction_arg(info, 1, op)));
  }));
}

}  // namespace ravdl::node

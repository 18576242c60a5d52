// Binding of the elementwise kernel group: unary ops (+ backward) from the unary table,
// broadcasting binary ops, where, broadcast_to, sum_to, reductions and argmax/argmin.
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

Span<const float> cspan(Span<float> s) { return {s.data, s.size}; }

// Scalar parameters start at argument `first`; a missing/null one keeps the default.
UnaryParams unary_params(const Napi::CallbackInfo& info, size_t first, const UnaryInfo& u, const char* op) {
  UnaryParams p;
  for (int k = 0; k < u.nparams; ++k) {
    if (!arg_present(info, first + k)) continue;
    p.p[k] = arg_num(info, first + k, op, u.param_names[k]);
    p.has[k] = true;
  }
  return p;
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

void register_unary(Napi::Env env, Napi::Object exports) {
  int count = 0;
  const UnaryInfo* table = unary_table(&count);
  for (int k = 0; k < count; ++k) {
    const UnaryInfo* u = &table[k];
    // name(x, out, ...params)
    exports.Set(u->name, fn(env, u->name, [u](const Napi::CallbackInfo& info) {
      auto x = arg_f32(info, 0, u->name, "x");
      auto out = arg_f32(info, 1, u->name, "out");
      unary(u->op, cspan(x), out, unary_params(info, 2, *u, u->name));
      return info.Env().Undefined();
    }));
    if (!u->has_backward) continue;
    // name_backward(saved, grad_out, grad_in, ...params), saved = x or y (UnaryInfo::saved)
    std::string bname = std::string(u->name) + "_backward";
    exports.Set(bname, fn(env, bname.c_str(), [u, bname](const Napi::CallbackInfo& info) {
      const char* op = bname.c_str();
      auto saved = arg_f32(info, 0, op, u->saved == Saved::Output ? "y" : "x");
      auto g = arg_f32(info, 1, op, "grad_out");
      auto gi = arg_f32(info, 2, op, "grad_in");
      unary_backward(u->op, cspan(saved), cspan(g), gi, unary_params(info, 3, *u, op));
      return info.Env().Undefined();
    }));
  }
}

void register_binary(Napi::Env env, Napi::Object exports) {
  const BinaryOp ops[] = {
#define RAVDL_ENTRY(name, E) BinaryOp::E,
      RAVDL_BINARY_OPS(RAVDL_ENTRY)
#undef RAVDL_ENTRY
  };
  for (BinaryOp op : ops) {
    const char* name = binary_name(op);
    // name(a, aShape, b, bShape, out): out holds numel(broadcast_shape(aShape, bShape)).
    // Both shapes null: a, b and out are flat arrays of one length (skips reading shape arrays,
    // which dominates the cost of small calls).
    exports.Set(name, fn(env, name, [op, name](const Napi::CallbackInfo& info) {
      if (!arg_present(info, 1) && !arg_present(info, 3)) {
        binary_flat(op, cspan(arg_f32(info, 0, name, "a")), cspan(arg_f32(info, 2, name, "b")),
                    arg_f32(info, 4, name, "out"));
        return info.Env().Undefined();
      }
      auto a = cview(name, "a", arg_f32(info, 0, name, "a"), arg_shape(info, 1, name, "aShape"));
      auto b = cview(name, "b", arg_f32(info, 2, name, "b"), arg_shape(info, 3, name, "bShape"));
      Shape s = broadcast_shapes(name, a.shape, b.shape);
      auto out = mview(name, "out", arg_f32(info, 4, name, "out"), s);
      binary(op, a, b, out);
      return info.Env().Undefined();
    }));
  }
  exports.Set("broadcast_shape", fn(env, "broadcast_shape", [](const Napi::CallbackInfo& info) {
    const char* op = "broadcast_shape";
    return shape_js(info.Env(), broadcast_shapes(op, arg_shape(info, 0, op, "aShape"), arg_shape(info, 1, op, "bShape")));
  }));
  // where(cond, condShape, a, aShape, b, bShape, out); cond is a Float32Array or a Uint8Array.
  exports.Set("where", fn(env, "where", [](const Napi::CallbackInfo& info) {
    const char* op = "where";
    Shape cs = arg_shape(info, 1, op, "condShape");
    auto a = cview(op, "a", arg_f32(info, 2, op, "a"), arg_shape(info, 3, op, "aShape"));
    auto b = cview(op, "b", arg_f32(info, 4, op, "b"), arg_shape(info, 5, op, "bShape"));
    Shape s = broadcast_shapes(op, broadcast_shapes(op, cs, a.shape), b.shape);
    auto out = mview(op, "out", arg_f32(info, 6, op, "out"), s);
    bool typed = info[0].IsTypedArray();
    auto type = typed ? info[0].As<Napi::TypedArray>().TypedArrayType() : napi_float32_array;
    if (typed && type != napi_uint8_array && type != napi_float32_array)
      fail(ErrorCode::Dtype, "where: cond must be a Float32Array or a Uint8Array");
    if (type == napi_uint8_array) {
      auto c = arg_u8(info, 0, op, "cond");
      where(view<const uint8_t>(op, "cond", c.data, c.size, cs), a, b, out);
    } else {
      auto c = arg_f32(info, 0, op, "cond");
      where(view<const float>(op, "cond", c.data, c.size, cs), a, b, out);
    }
    return info.Env().Undefined();
  }));
  // broadcast_to(x, xShape, outShape, out)
  exports.Set("broadcast_to", fn(env, "broadcast_to", [](const Napi::CallbackInfo& info) {
    const char* op = "broadcast_to";
    auto x = cview(op, "x", arg_f32(info, 0, op, "x"), arg_shape(info, 1, op, "xShape"));
    auto out = mview(op, "out", arg_f32(info, 3, op, "out"), arg_shape(info, 2, op, "outShape"));
    broadcast_to(x, out);
    return info.Env().Undefined();
  }));
  // sum_to(x, xShape, targetShape, out)
  exports.Set("sum_to", fn(env, "sum_to", [](const Napi::CallbackInfo& info) {
    const char* op = "sum_to";
    auto x = cview(op, "x", arg_f32(info, 0, op, "x"), arg_shape(info, 1, op, "xShape"));
    auto out = mview(op, "out", arg_f32(info, 3, op, "out"), arg_shape(info, 2, op, "targetShape"));
    sum_to(x, out);
    return info.Env().Undefined();
  }));
}

void register_reduce(Napi::Env env, Napi::Object exports) {
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod,
                      ReduceOp::Var, ReduceOp::Std}) {
    const char* name = reduce_name(op);
    // name(x, xShape, out, axes = null, keepdims = false[, correction = 1 for var/std])
    exports.Set(name, fn(env, name, [op, name](const Napi::CallbackInfo& info) {
      auto x = cview(name, "x", arg_f32(info, 0, name, "x"), arg_shape(info, 1, name, "xShape"));
      auto out = arg_f32(info, 2, name, "out");
      auto axes = axes_arg(info, 3, name);
      bool keep = arg_bool_or(info, 4, name, "keepdims", false);
      double corr = 1.0;
      if (op == ReduceOp::Var || op == ReduceOp::Std) corr = arg_num_or(info, 5, name, "correction", 1.0);
      reduce(op, x, axes, keep, out, corr);
      return info.Env().Undefined();
    }));
  }
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
  for (bool is_max : {true, false}) {
    const char* name = is_max ? "argmax" : "argmin";
    // name(x, xShape, out: Int32Array, axis = null, keepdims = false)
    exports.Set(name, fn(env, name, [is_max, name](const Napi::CallbackInfo& info) {
      auto x = cview(name, "x", arg_f32(info, 0, name, "x"), arg_shape(info, 1, name, "xShape"));
      auto out = arg_i32(info, 2, name, "out");
      auto axis = axis_arg(info, 3, name);
      bool keep = arg_bool_or(info, 4, name, "keepdims", false);
      if (is_max) argmax(x, axis, keep, out);
      else argmin(x, axis, keep, out);
      return info.Env().Undefined();
    }));
  }
}

}  // namespace

void register_elementwise(Napi::Env env, Napi::Object exports) {
  register_unary(env, exports);
  register_binary(env, exports);
  register_reduce(env, exports);
}

}  // namespace ravdl::node

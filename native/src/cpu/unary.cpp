// Unary elementwise ops and their derivatives, one functor per op (see elementwise.h).
// Each functor has fwd(x) and bwd(saved, g), or vfwd/vbwd on 4-float vectors for the ops
// built on exp/tanh (libm is scalar and ~10x slower); run_* templates the loop on the functor
// so the per-element call is inlined and the loop vectorizes.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "ravdl/elementwise.h"
#include "ravdl/parallel.h"

namespace ravdl {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Elements per parallel chunk for cheap ops (~30 µs of memory-bound work); costly ops
// (exp/log/tanh per element) divide it by their kCost.
constexpr int64_t kGrain = 32768;

// Parameters as seen by the functors (already defaulted and validated).
struct P {
  float a = 0, b = 0;
};

// 4-float vectors (GCC/Clang vector extensions): selects are blends, never branches.
typedef float VF __attribute__((vector_size(16)));
typedef int32_t VI __attribute__((vector_size(16)));
inline VF splat(float a) { return VF{} + a; }

// exp(x) = 2^k * p(r), r = x - k ln2 (Cody-Waite split), p the Cephes expf polynomial
// (about 1 ulp); 2^k is applied in two halves so results down to the
// subnormal range and the overflow to inf stay exact. NaN propagates.
inline VF vexp(VF x) {
  VF xc = x < 88.8f ? x : splat(88.8f);  // NaN becomes 88.8 here (no NaN reaches the int conversion)
  xc = xc > -104.0f ? xc : splat(-104.0f);
  VF k = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
  VF r = xc - k * 0.693359375f;
  r = r - k * -2.12194440e-4f;
  VF p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  VI ki = __builtin_convertvector(k, VI);
  VI k1 = ki >> 1, k2 = ki - k1;
  VF y = p * (VF)((k1 + 127) << 23) * (VF)((k2 + 127) << 23);
  return x != x ? x : y;
}

// tanh: odd polynomial below |x| = 0.625 (Cephes tanhf), 1 - 2 / (e^2|x| + 1) above.
inline VF vtanh(VF x) {
  VF ax = x < 0.0f ? -x : x;
  VF s = x * x;
  VF poly = (((s * -5.70498872745e-3f + 2.06390887954e-2f) * s - 5.37397155531e-2f) * s + 1.33314422036e-1f) * s -
            3.33332819422e-1f;
  VF small = x * (1.0f + s * poly);  // keeps the sign of -0
  VF big = 1.0f - 2.0f / (vexp(ax + ax) + 1.0f);
  big = x < 0.0f ? -big : big;
  return ax < 0.625f ? small : (x != x ? x : big);
}

inline VF vsigmoid(VF x) { return 1.0f / (1.0f + vexp(-x)); }

// expm1: Taylor series to x^8 for |x| <= 0.5 (truncation < 2e-8 relative), exp(x) - 1 beyond,
// where the subtraction no longer cancels.
inline VF vexpm1(VF x) {
  VF t = x * (1.0f / 40320) + 1.0f / 5040;
  t = t * x + 1.0f / 720;
  t = t * x + 1.0f / 120;
  t = t * x + 1.0f / 24;
  t = t * x + 1.0f / 6;
  t = t * x + 0.5f;
  t = x * (t * x + 1.0f);  // keeps the sign of -0
  VF ax = x < 0.0f ? -x : x;
  return ax <= 0.5f ? t : vexp(x) - 1.0f;
}

// log(1 + u) for u in [0, 1]: Cephes logf polynomial on w = 1 + u (reduced to [0.707, 1.414]),
// plus (u - (w - 1)) / w, the first-order correction for the rounding of 1 + u.
inline VF vlog1p_unit(VF u) {
  VF w = 1.0f + u;
  auto big = w > 1.41421356f;
  VF x = big ? w * 0.5f - 1.0f : w - 1.0f;  // exact (Sterbenz)
  VF e = big ? splat(1.0f) : splat(0.0f);
  VF z = x * x;
  VF p = x * 7.0376836292e-2f - 1.1514610310e-1f;
  p = p * x + 1.1676998740e-1f;
  p = p * x - 1.2420140846e-1f;
  p = p * x + 1.4249322787e-1f;
  p = p * x - 1.6668057665e-1f;
  p = p * x + 2.0000714765e-1f;
  p = p * x - 2.4999993993e-1f;
  p = p * x + 3.3333331174e-1f;
  VF y = p * x * z + e * -2.12194440e-4f - 0.5f * z;
  return x + y + e * 0.693359375f + (u - (w - 1.0f)) / w;
}

// softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^-|z|): never overflows.
inline VF vsoftplus(VF z) {
  VF az = z < 0.0f ? -z : z;
  VF m = z > 0.0f ? z : splat(0.0f);
  return m + vlog1p_unit(vexp(-az));
}

struct Relu {
  static constexpr int kCost = 1;
  P p;
  float fwd(float x) const { return x > 0.0f ? x : (x != x ? x : 0.0f); }
  float bwd(float x, float g) const { return x > 0.0f ? g : 0.0f; }
};
struct Sigmoid {
  static constexpr int kCost = 4;
  P p;
  VF vfwd(VF x) const { return vsigmoid(x); }
  float bwd(float y, float g) const { return g * y * (1.0f - y); }
};
struct Tanh {
  static constexpr int kCost = 4;
  P p;
  VF vfwd(VF x) const { return vtanh(x); }
  float bwd(float y, float g) const { return g * (1.0f - y * y); }
};
struct LeakyRelu {  // a = negative_slope
  static constexpr int kCost = 1;
  P p;
  float fwd(float x) const { return x > 0.0f ? x : x * p.a; }
  float bwd(float x, float g) const { return x > 0.0f ? g : g * p.a; }
};
struct Elu {  // a = alpha; derivative at 0 is alpha like torch (x <= 0 branch)
  static constexpr int kCost = 4;
  P p;
  VF vfwd(VF x) const { return x > 0.0f ? x : p.a * vexpm1(x); }
  VF vbwd(VF x, VF g) const { return x > 0.0f ? g : g * p.a * vexp(x); }
};
struct Selu {
  static constexpr int kCost = 4;
  static constexpr float kAlpha = 1.6732632423543772848170429916717f;
  static constexpr float kScale = 1.0507009873554804934193349852946f;
  P p;
  VF vfwd(VF x) const { return x > 0.0f ? kScale * x : (kScale * kAlpha) * vexpm1(x); }
  VF vbwd(VF x, VF g) const { return x > 0.0f ? g * kScale : g * (kScale * kAlpha) * vexp(x); }
};
struct Softplus {  // a = beta, b = threshold: linear where beta * x > threshold
  static constexpr int kCost = 5;
  P p;
  VF vfwd(VF x) const {
    VF z = x * p.a;
    return z > p.b ? x : vsoftplus(z) / p.a;
  }
  VF vbwd(VF x, VF g) const {
    VF z = x * p.a;
    return z > p.b ? g : g * vsigmoid(z);
  }
};
struct Softsign {
  static constexpr int kCost = 2;
  P p;
  float fwd(float x) const { return x / (1.0f + std::fabs(x)); }
  float bwd(float x, float g) const {
    float d = 1.0f + std::fabs(x);
    return g / (d * d);
  }
};
struct Tanhshrink {
  static constexpr int kCost = 4;
  P p;
  VF vfwd(VF x) const { return x - vtanh(x); }
  VF vbwd(VF x, VF g) const {
    VF t = vtanh(x);
    return g * t * t;
  }
};
struct Logsigmoid {  // log(sigmoid(x)) = -softplus(-x); derivative sigmoid(-x)
  static constexpr int kCost = 5;
  P p;
  VF vfwd(VF x) const { return -vsoftplus(-x); }
  VF vbwd(VF x, VF g) const { return g * vsigmoid(-x); }
};
struct Hardshrink {  // a = lambd
  static constexpr int kCost = 1;
  P p;
  float fwd(float x) const { return (x >= -p.a && x <= p.a) ? 0.0f : x; }
  float bwd(float x, float g) const { return (x >= -p.a && x <= p.a) ? 0.0f : g; }
};
struct Hardtanh {  // a = min_val, b = max_val; gradient 0 at and beyond the bounds (torch)
  static constexpr int kCost = 1;
  P p;
  float fwd(float x) const {
    float y = x < p.a ? p.a : x;
    return y > p.b ? p.b : y;
  }
  float bwd(float x, float g) const { return (x <= p.a || x >= p.b) ? 0.0f : g; }
};
struct Softshrink {  // a = lambd >= 0
  static constexpr int kCost = 1;
  P p;
  VF vfwd(VF x) const {
    VF y = x > p.a ? x - p.a : splat(0.0f);
    y = x < -p.a ? x + p.a : y;
    return x != x ? x : y;
  }
  float bwd(float x, float g) const { return (x >= -p.a && x <= p.a) ? 0.0f : g; }
};
struct Threshold {  // a = threshold, b = value: y = x > threshold ? x : value
  static constexpr int kCost = 1;
  P p;
  float fwd(float x) const { return x > p.a ? x : (x != x ? x : p.b); }
  float bwd(float x, float g) const { return x <= p.a ? 0.0f : g; }
};
struct Exp {
  static constexpr int kCost = 3;
  P p;
  VF vfwd(VF x) const { return vexp(x); }
  float bwd(float y, float g) const { return g * y; }
};
struct Log {
  static constexpr int kCost = 6;
  P p;
  float fwd(float x) const { return std::log(x); }
  float bwd(float x, float g) const { return g / x; }
};
struct Sqrt {
  static constexpr int kCost = 2;
  P p;
  float fwd(float x) const { return std::sqrt(x); }
  float bwd(float y, float g) const { return g / (2.0f * y); }
};
struct Abs {
  static constexpr int kCost = 1;
  P p;
  float fwd(float x) const { return std::fabs(x); }
  float bwd(float x, float g) const { return x > 0.0f ? g : (x < 0.0f ? -g : 0.0f); }
};
struct Sign {  // sign(NaN) = 0 like torch
  static constexpr int kCost = 1;
  P p;
  float fwd(float x) const { return static_cast<float>((x > 0.0f) - (x < 0.0f)); }
  float bwd(float, float) const { return 0.0f; }
};
struct Neg {
  static constexpr int kCost = 1;
  P p;
  float fwd(float x) const { return -x; }
  float bwd(float, float g) const { return -g; }
};
struct PowScalar {  // a = exponent; torch: zero gradient when the exponent is 0
  static constexpr int kCost = 10;
  P p;
  float fwd(float x) const {
    if (p.a == 2.0f) return x * x;
    return std::pow(x, p.a);
  }
  float bwd(float x, float g) const { return p.a == 0.0f ? 0.0f : g * p.a * std::pow(x, p.a - 1.0f); }
};
struct Clip {  // a = min, b = max (+-inf when absent); NaN stays NaN; min > max gives max
  static constexpr int kCost = 1;
  P p;
  float fwd(float x) const {
    float y = x < p.a ? p.a : x;
    return y > p.b ? p.b : y;
  }
  float bwd(float x, float g) const { return (x >= p.a && x <= p.b) ? g : 0.0f; }
};
struct LogicalNot {  // 1 where x == 0 (NaN counts as true, so gives 0)
  static constexpr int kCost = 1;
  P p;
  float fwd(float x) const { return x == 0.0f ? 1.0f : 0.0f; }
  float bwd(float, float) const { return 0.0f; }
};

constexpr double kReq = kNaN;  // marks a required parameter

// Order must follow RAVDL_UNARY_OPS (checked in unary_info and by the tests).
const UnaryInfo kTable[] = {
    {UnaryOp::Relu, "relu", 0, {}, {}, false, true, Saved::Input},
    {UnaryOp::Sigmoid, "sigmoid", 0, {}, {}, false, true, Saved::Output},
    {UnaryOp::Tanh, "tanh", 0, {}, {}, false, true, Saved::Output},
    {UnaryOp::LeakyRelu, "leaky_relu", 1, {"negative_slope"}, {0.01}, false, true, Saved::Input},
    {UnaryOp::Elu, "elu", 1, {"alpha"}, {1.0}, false, true, Saved::Input},
    {UnaryOp::Selu, "selu", 0, {}, {}, false, true, Saved::Input},
    {UnaryOp::Softplus, "softplus", 2, {"beta", "threshold"}, {1.0, 20.0}, false, true, Saved::Input},
    {UnaryOp::Softsign, "softsign", 0, {}, {}, false, true, Saved::Input},
    {UnaryOp::Tanhshrink, "tanhshrink", 0, {}, {}, false, true, Saved::Input},
    {UnaryOp::Logsigmoid, "logsigmoid", 0, {}, {}, false, true, Saved::Input},
    {UnaryOp::Hardshrink, "hardshrink", 1, {"lambd"}, {0.5}, false, true, Saved::Input},
    {UnaryOp::Hardtanh, "hardtanh", 2, {"min_val", "max_val"}, {-1.0, 1.0}, false, true, Saved::Input},
    {UnaryOp::Softshrink, "softshrink", 1, {"lambd"}, {0.5}, false, true, Saved::Input},
    {UnaryOp::Threshold, "threshold", 2, {"threshold", "value"}, {kReq, kReq}, false, true, Saved::Input},
    {UnaryOp::Exp, "exp", 0, {}, {}, false, true, Saved::Output},
    {UnaryOp::Log, "log", 0, {}, {}, false, true, Saved::Input},
    {UnaryOp::Sqrt, "sqrt", 0, {}, {}, false, true, Saved::Output},
    {UnaryOp::Abs, "abs", 0, {}, {}, false, true, Saved::Input},
    {UnaryOp::Sign, "sign", 0, {}, {}, false, true, Saved::Input},
    {UnaryOp::Neg, "neg", 0, {}, {}, false, true, Saved::Input},
    {UnaryOp::PowScalar, "pow_scalar", 1, {"exponent"}, {kReq}, false, true, Saved::Input},
    {UnaryOp::Clip, "clip", 2, {"min", "max"}, {-kInf, kInf}, true, true, Saved::Input},
    {UnaryOp::LogicalNot, "logical_not", 0, {}, {}, false, false, Saved::Input},
};
constexpr int kCount = sizeof(kTable) / sizeof(kTable[0]);

// Defaults, required and range checks; returns the float parameters the functors use. Errors
// name `op` (the forward or the backward function).
P resolve(const UnaryInfo& info, const UnaryParams& in, const char* op) {
  double v[2] = {0, 0};
  for (int i = 0; i < info.nparams; ++i) {
    if (in.has[i]) {
      v[i] = in.p[i];
      if (std::isnan(v[i]))
        fail(ErrorCode::Attr, op, ": ", info.param_names[i], " must be a number, got NaN");
    } else if (std::isnan(info.defaults[i])) {
      fail(ErrorCode::Attr, op, ": ", info.param_names[i], " is required");
    } else {
      v[i] = info.defaults[i];
    }
    // Only clip bounds and the threshold value may be infinite.
    bool inf_ok = info.op == UnaryOp::Clip || (info.op == UnaryOp::Threshold && i == 1);
    if (!inf_ok && !std::isfinite(v[i]))
      fail(ErrorCode::Attr, op, ": ", info.param_names[i], " must be finite, got ", v[i]);
  }
  switch (info.op) {
    case UnaryOp::Softplus:
      if (v[0] == 0) fail(ErrorCode::Attr, op, ": beta must be nonzero, got 0");
      break;
    case UnaryOp::Softshrink:
      if (v[0] < 0) fail(ErrorCode::Attr, op, ": lambd must be >= 0, got ", v[0]);
      break;
    case UnaryOp::Clip:
      if (!in.has[0] && !in.has[1]) fail(ErrorCode::Attr, op, ": at least one of min and max must be given");
      break;
    default:
      break;
  }
  return P{static_cast<float>(v[0]), static_cast<float>(v[1])};
}

// Exact aliasing is fine for elementwise loops; a shifted overlap is not.
template <class A>
void check_alias(const char* op, const char* out_name, const float* out, size_t n, const char* in_name,
                 const A* in) {
  if (static_cast<const void*>(out) != static_cast<const void*>(in))
    check_no_alias(op, out_name, out, n, in_name, in, n);
}

// Which functors provide vector forms (detected, so each op defines one form only).
template <class F, class = void>
struct HasVfwd : std::false_type {};
template <class F>
struct HasVfwd<F, std::void_t<decltype(std::declval<const F&>().vfwd(VF{}))>> : std::true_type {};
template <class F, class = void>
struct HasVbwd : std::false_type {};
template <class F>
struct HasVbwd<F, std::void_t<decltype(std::declval<const F&>().vbwd(VF{}, VF{}))>> : std::true_type {};

constexpr int64_t kLanes = 4;
inline VF load(const float* p, int64_t n) {  // n <= kLanes; missing lanes are 0
  VF v{};
  std::memcpy(&v, p, static_cast<size_t>(n) * sizeof(float));
  return v;
}
inline void store(float* p, VF v, int64_t n) { std::memcpy(p, &v, static_cast<size_t>(n) * sizeof(float)); }

template <class F>
void run_fwd(P p, const float* x, float* y, int64_t n) {
  F f{p};
  parallel_for(n, kGrain / F::kCost, [&](int64_t b, int64_t e) {
    if constexpr (HasVfwd<F>::value) {
      // The tail goes through the same vector code, so no element depends on chunking.
      int64_t i = b;
      for (; i + kLanes <= e; i += kLanes) store(y + i, f.vfwd(load(x + i, kLanes)), kLanes);
      if (i < e) store(y + i, f.vfwd(load(x + i, e - i)), e - i);
    } else {
      for (int64_t i = b; i < e; ++i) y[i] = f.fwd(x[i]);
    }
  });
}

template <class F>
void run_bwd(P p, const float* s, const float* g, float* gi, int64_t n) {
  F f{p};
  parallel_for(n, kGrain / F::kCost, [&](int64_t b, int64_t e) {
    if constexpr (HasVbwd<F>::value) {
      int64_t i = b;
      for (; i + kLanes <= e; i += kLanes) store(gi + i, f.vbwd(load(s + i, kLanes), load(g + i, kLanes)), kLanes);
      if (i < e) store(gi + i, f.vbwd(load(s + i, e - i), load(g + i, e - i)), e - i);
    } else {
      for (int64_t i = b; i < e; ++i) gi[i] = f.bwd(s[i], g[i]);
    }
  });
}

}  // namespace

const UnaryInfo* unary_table(int* count) {
  if (count) *count = kCount;
  return kTable;
}

const UnaryInfo& unary_info(UnaryOp op) {
  int i = static_cast<int>(op);
  if (i < 0 || i >= kCount || kTable[i].op != op)
    fail(ErrorCode::Internal, "unary_info: table entry ", i, " does not match its op");
  return kTable[i];
}

void unary(UnaryOp op, Span<const float> x, FSpan out, const UnaryParams& params) {
  const UnaryInfo& info = unary_info(op);
  if (out.size != x.size)
    fail(ErrorCode::Shape, info.name, ": out has ", out.size, " elements but x has ", x.size);
  if (x.size && (!x.data || !out.data)) fail(ErrorCode::Arg, info.name, ": missing data");
  check_alias(info.name, "out", out.data, out.size, "x", x.data);
  P p = resolve(info, params, info.name);
  auto n = static_cast<int64_t>(x.size);
  switch (op) {
#define RAVDL_CASE(name, E) \
  case UnaryOp::E: return run_fwd<E>(p, x.data, out.data, n);
    RAVDL_UNARY_OPS(RAVDL_CASE)
#undef RAVDL_CASE
  }
}

void unary_backward(UnaryOp op, Span<const float> saved, Span<const float> grad_out, FSpan grad_in,
                    const UnaryParams& params) {
  const UnaryInfo& info = unary_info(op);
  const char* sname = info.saved == Saved::Output ? "y" : "x";
  if (!info.has_backward) fail(ErrorCode::Arg, info.name, ": has no derivative");
  if (grad_out.size != saved.size)
    fail(ErrorCode::Shape, info.name, "_backward: grad_out has ", grad_out.size, " elements but ", sname,
         " has ", saved.size);
  if (grad_in.size != saved.size)
    fail(ErrorCode::Shape, info.name, "_backward: grad_in has ", grad_in.size, " elements but ", sname,
         " has ", saved.size);
  if (saved.size && (!saved.data || !grad_out.data || !grad_in.data))
    fail(ErrorCode::Arg, info.name, "_backward: missing data");
  const std::string bname = std::string(info.name) + "_backward";
  check_alias(bname.c_str(), "grad_in", grad_in.data, grad_in.size, sname, saved.data);
  check_alias(bname.c_str(), "grad_in", grad_in.data, grad_in.size, "grad_out", grad_out.data);
  P p = resolve(info, params, bname.c_str());
  auto n = static_cast<int64_t>(saved.size);
  switch (op) {
#define RAVDL_CASE(name, E) \
  case UnaryOp::E: return run_bwd<E>(p, saved.data, grad_out.data, grad_in.data, n);
    RAVDL_UNARY_OPS(RAVDL_CASE)
#undef RAVDL_CASE
  }
}

}  // namespace ravdl

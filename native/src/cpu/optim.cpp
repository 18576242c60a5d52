// Fused Adam/AdamW, RMSprop and SGD updates. Each mirrors the tensor ops of torch 1.13's
// single-tensor implementation in the same order, scalars rounded to float like torch's CPU
// kernels, so results match torch to float rounding.
#include "ravdl/optim.h"

#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "ravdl/parallel.h"

namespace ravdl {
namespace {

constexpr int64_t kGrain = 8192;

// Calls f(std::true_type) or f(std::false_type): option flags become `if constexpr` in the
// loop bodies, which keeps them branch-free so they vectorize.
template <class F>
void with_flag(bool b, F&& f) {
  if (b) f(std::true_type{});
  else f(std::false_type{});
}

struct Buf {
  const char* name;
  const void* data;
  size_t size;
};

// Every buffer must have grad's length and none may overlap another.
void check_buffers(const char* op, const std::vector<Buf>& bufs) {
  const size_t n = bufs[0].size;
  for (size_t i = 0; i < bufs.size(); ++i) {
    if (bufs[i].size != n)
      fail(ErrorCode::Shape, op, ": ", bufs[i].name, " has ", bufs[i].size, " elements but ",
           bufs[0].name, " has ", n);
    if (n > 0 && bufs[i].data == nullptr) fail(ErrorCode::Arg, op, ": ", bufs[i].name, " has no data");
    for (size_t j = 0; j < i; ++j)
      check_no_alias(op, bufs[i].name, static_cast<const float*>(bufs[i].data), n, bufs[j].name,
                     static_cast<const float*>(bufs[j].data), n);
  }
}

void check_range(const char* op, const char* name, double v, double lo, double hi, bool hi_open) {
  bool ok = std::isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi);
  if (!ok)
    fail(ErrorCode::Attr, op, ": ", name, " must be in [", lo, ", ", hi, hi_open ? ")" : "]", ", got ", v);
}
constexpr double kInf = HUGE_VAL;

void check_step(const char* op, int64_t step) {
  if (step < 1) fail(ErrorCode::Attr, op, ": step must be >= 1 (1-based, after increment), got ", step);
}

struct AdamScalars {
  float b1, b2, c1, c2, wd, eps, decay, bc2_sqrt, neg_step_size, sign;
};
// One chunk of adam_step; the scalars arrive by value so they stay in registers, and the
// buffers are known not to overlap (check_buffers), hence __restrict__.
template <bool kCoupled, bool kAms>
void adam_chunk(const AdamScalars k, float* __restrict__ P, const float* __restrict__ G,
                float* __restrict__ M, float* __restrict__ V, float* __restrict__ VM, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    float g = k.sign * G[i];
    const float pi = P[i] * k.decay;
    if constexpr (kCoupled) g = g + k.wd * pi;
    M[i] = M[i] * k.b1 + k.c1 * g;
    V[i] = V[i] * k.b2 + k.c2 * g * g;
    float sq = V[i];
    if constexpr (kAms) {
      const float a = VM[i], vi = V[i];
      VM[i] = (a != a || a > vi) ? a : vi;  // torch.maximum: NaN propagates
      sq = VM[i];
    }
    const float denom = std::sqrt(sq) / k.bc2_sqrt + k.eps;
    P[i] = pi + k.neg_step_size * M[i] / denom;
  }
}

struct RmspropScalars {
  float alpha, c, eps, wd, mom, neg_lr, sign;
};
template <bool kDecay, bool kCentered, bool kMomentum>
void rmsprop_chunk(const RmspropScalars k, float* __restrict__ P, const float* __restrict__ G,
                   float* __restrict__ SQ, float* __restrict__ BUF, float* __restrict__ GA, int64_t b,
                   int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    float g = k.sign * G[i];
    if constexpr (kDecay) g = g + k.wd * P[i];
    SQ[i] = SQ[i] * k.alpha + k.c * g * g;
    float avg;
    if constexpr (kCentered) {
      GA[i] = GA[i] * k.alpha + k.c * g;
      avg = std::sqrt(SQ[i] + -1.0f * GA[i] * GA[i]);
    } else {
      avg = std::sqrt(SQ[i]);
    }
    avg = avg + k.eps;
    if constexpr (kMomentum) {
      BUF[i] = BUF[i] * k.mom + g / avg;
      P[i] = P[i] + k.neg_lr * BUF[i];
    } else {
      P[i] = P[i] + k.neg_lr * g / avg;
    }
  }
}

}  // namespace

void adam_step(FSpan param, Span<const float> grad, FSpan exp_avg, FSpan exp_avg_sq,
               FSpan max_exp_avg_sq, int64_t step, const AdamOptions& o) {
  const char* op = "adam_step";
  check_range(op, "lr", o.lr, 0, kInf, false);
  check_range(op, "eps", o.eps, 0, kInf, false);
  check_range(op, "beta1", o.beta1, 0, 1, true);
  check_range(op, "beta2", o.beta2, 0, 1, true);
  check_range(op, "weight_decay", o.weight_decay, 0, kInf, false);
  check_step(op, step);
  std::vector<Buf> bufs{{"grad", grad.data, grad.size},
                        {"param", param.data, param.size},
                        {"exp_avg", exp_avg.data, exp_avg.size},
                        {"exp_avg_sq", exp_avg_sq.data, exp_avg_sq.size}};
  if (o.amsgrad) {
    if (max_exp_avg_sq.data == nullptr && grad.size > 0)
      fail(ErrorCode::Arg, op, ": max_exp_avg_sq is required when amsgrad is set");
    bufs.push_back({"max_exp_avg_sq", max_exp_avg_sq.data, max_exp_avg_sq.size});
  }
  check_buffers(op, bufs);

  const double bc1 = 1.0 - std::pow(o.beta1, double(step));
  const double bc2 = 1.0 - std::pow(o.beta2, double(step));
  const auto b1 = float(o.beta1), b2 = float(o.beta2);
  const auto c1 = float(1.0 - o.beta1), c2 = float(1.0 - o.beta2);
  const auto wd = float(o.weight_decay), eps = float(o.eps);
  // AdamW scales the parameter first; for Adam the factor is 1 (exact, a no-op).
  const auto decay = o.decoupled_weight_decay ? float(1.0 - o.lr * o.weight_decay) : 1.0f;
  const auto bc2_sqrt = float(std::sqrt(bc2));
  const auto neg_step_size = float(-(o.lr / bc1));
  const float sign = o.maximize ? -1.0f : 1.0f;  // -g is exact
  const bool coupled = !o.decoupled_weight_decay && o.weight_decay != 0;
  float *p = param.data, *m = exp_avg.data, *v = exp_avg_sq.data, *vmax = max_exp_avg_sq.data;
  const float* g0 = grad.data;
  const AdamScalars k{b1, b2, c1, c2, wd, eps, decay, bc2_sqrt, neg_step_size, sign};
  with_flag(coupled, [&](auto kCoupled) {
    with_flag(o.amsgrad, [&](auto kAms) {
      parallel_for(int64_t(grad.size), kGrain, [&](int64_t b, int64_t e) {
        adam_chunk<decltype(kCoupled)::value, decltype(kAms)::value>(k, p, g0, m, v, vmax, b, e);
      });
    });
  });
}

void rmsprop_step(FSpan param, Span<const float> grad, FSpan square_avg, FSpan momentum_buf,
                  FSpan grad_avg, const RmspropOptions& o) {
  const char* op = "rmsprop_step";
  check_range(op, "lr", o.lr, 0, kInf, false);
  check_range(op, "alpha", o.alpha, 0, kInf, false);
  check_range(op, "eps", o.eps, 0, kInf, false);
  check_range(op, "weight_decay", o.weight_decay, 0, kInf, false);
  check_range(op, "momentum", o.momentum, 0, kInf, false);
  std::vector<Buf> bufs{{"grad", grad.data, grad.size},
                        {"param", param.data, param.size},
                        {"square_avg", square_avg.data, square_avg.size}};
  const bool use_mom = o.momentum > 0;
  if (use_mom) {
    if (momentum_buf.data == nullptr && grad.size > 0)
      fail(ErrorCode::Arg, op, ": momentum_buf is required when momentum > 0");
    bufs.push_back({"momentum_buf", momentum_buf.data, momentum_buf.size});
  }
  if (o.centered) {
    if (grad_avg.data == nullptr && grad.size > 0)
      fail(ErrorCode::Arg, op, ": grad_avg is required when centered is set");
    bufs.push_back({"grad_avg", grad_avg.data, grad_avg.size});
  }
  check_buffers(op, bufs);

  const auto alpha = float(o.alpha), c = float(1.0 - o.alpha), eps = float(o.eps);
  const auto wd = float(o.weight_decay), mom = float(o.momentum), neg_lr = float(-o.lr);
  const float sign = o.maximize ? -1.0f : 1.0f;
  float *p = param.data, *sq = square_avg.data, *buf = momentum_buf.data, *ga = grad_avg.data;
  const float* g0 = grad.data;
  const RmspropScalars k{alpha, c, eps, wd, mom, neg_lr, sign};
  with_flag(o.weight_decay != 0, [&](auto kDecay) {
    with_flag(o.centered, [&](auto kCentered) {
      with_flag(use_mom, [&](auto kMomentum) {
        parallel_for(int64_t(grad.size), kGrain, [&](int64_t b, int64_t e) {
          rmsprop_chunk<decltype(kDecay)::value, decltype(kCentered)::value, decltype(kMomentum)::value>(
              k, p, g0, sq, buf, ga, b, e);
        });
      });
    });
  });
}

void sgd_step(FSpan param, Span<const float> grad, FSpan momentum_buf, int64_t step,
              const SgdOptions& o) {
  const char* op = "sgd_step";
  check_range(op, "lr", o.lr, 0, kInf, false);
  check_range(op, "momentum", o.momentum, 0, kInf, false);
  check_range(op, "weight_decay", o.weight_decay, 0, kInf, false);
  if (!std::isfinite(o.dampening)) fail(ErrorCode::Attr, op, ": dampening must be finite, got ", o.dampening);
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    fail(ErrorCode::Attr, op, ": nesterov needs momentum > 0 and dampening 0, got momentum ", o.momentum,
         ", dampening ", o.dampening);
  check_step(op, step);
  std::vector<Buf> bufs{{"grad", grad.data, grad.size}, {"param", param.data, param.size}};
  const bool use_mom = o.momentum != 0;
  if (use_mom) {
    if (momentum_buf.data == nullptr && grad.size > 0)
      fail(ErrorCode::Arg, op, ": momentum_buf is required when momentum != 0");
    bufs.push_back({"momentum_buf", momentum_buf.data, momentum_buf.size});
  }
  check_buffers(op, bufs);

  const auto wd = float(o.weight_decay), mom = float(o.momentum);
  const auto c = float(1.0 - o.dampening), neg_lr = float(-o.lr);
  const float sign = o.maximize ? -1.0f : 1.0f;
  float *p = param.data, *buf = momentum_buf.data;
  const float* g0 = grad.data;
  with_flag(o.weight_decay != 0, [&](auto kDecay) {
    with_flag(use_mom, [&](auto kMomentum) {
      with_flag(step == 1, [&](auto kFirst) {
        with_flag(o.nesterov, [&](auto kNesterov) {
          parallel_for(int64_t(grad.size), kGrain, [&](int64_t b, int64_t e) {
            float* __restrict__ P = p;
            float* __restrict__ BUF = buf;
            const float* __restrict__ G = g0;
            for (int64_t i = b; i < e; ++i) {
              float d = sign * G[i];
              if constexpr (decltype(kDecay)::value) d = d + wd * P[i];
              if constexpr (decltype(kMomentum)::value) {
                // torch clones d into a new buffer on the first step
                if constexpr (decltype(kFirst)::value) BUF[i] = d;
                else BUF[i] = BUF[i] * mom + c * d;
                if constexpr (decltype(kNesterov)::value) d = d + mom * BUF[i];
                else d = BUF[i];
              }
              P[i] = P[i] + neg_lr * d;
            }
          });
        });
      });
    });
  });
}

}  // namespace ravdl

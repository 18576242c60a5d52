// Fused optimizer updates (sgd_update, adam_update, rmsprop_update): the CPU kernels'
// formulas (native/src/cpu/optim.cpp, torch 1.13's single-tensor algorithms) step for step,
// with the same float scalars and every operation rounded separately (__fmul_rn etc.: no
// fused multiply-adds), so results match the CPU bit for bit. Each output may be its input's
// buffer (the catalog's in-place pairs): every element is read before it is written.
#include <cmath>

#include "common.cuh"

namespace ravdl_cuda {
namespace {

__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float dv(float a, float b) { return __fdiv_rn(a, b); }

struct AdamK {
  float b1, b2, c1, c2, wd, eps, decay, bc2_sqrt, neg_step_size, sign;
  bool coupled, ams;
};

__global__ void adam_kernel(int64_t n, AdamK k, const float* P0, const float* __restrict__ G, const float* M0,
                            const float* V0, const float* VM0, float* P, float* M, float* V, float* VM) {
  RAVDL_GRID_STRIDE(i, n) {
    float g = mul(k.sign, G[i]);
    const float pi = mul(P0[i], k.decay);
    if (k.coupled) g = add(g, mul(k.wd, pi));
    const float m = add(mul(M0[i], k.b1), mul(k.c1, g));
    const float v = add(mul(V0[i], k.b2), mul(mul(k.c2, g), g));
    float sq = v;
    if (k.ams) {
      const float a = VM0[i];
      const float vm = (a != a || a > v) ? a : v;  // torch.maximum: NaN propagates
      VM[i] = vm;
      sq = vm;
    }
    const float denom = add(dv(__fsqrt_rn(sq), k.bc2_sqrt), k.eps);
    M[i] = m;
    V[i] = v;
    P[i] = add(pi, dv(mul(k.neg_step_size, m), denom));
  }
}

struct RmsK {
  float alpha, c, eps, wd, mom, neg_lr, sign;
  bool decay, centered, momentum;
};

__global__ void rmsprop_kernel(int64_t n, RmsK k, const float* P0, const float* __restrict__ G, const float* SQ0,
                               const float* BUF0, const float* GA0, float* P, float* SQ, float* BUF, float* GA) {
  RAVDL_GRID_STRIDE(i, n) {
    float g = mul(k.sign, G[i]);
    const float p = P0[i];
    if (k.decay) g = add(g, mul(k.wd, p));
    const float sq = add(mul(SQ0[i], k.alpha), mul(mul(k.c, g), g));
    SQ[i] = sq;
    float avg;
    if (k.centered) {
      const float ga = add(mul(GA0[i], k.alpha), mul(k.c, g));
      GA[i] = ga;
      avg = __fsqrt_rn(add(sq, mul(mul(-1.0f, ga), ga)));
    } else {
      avg = __fsqrt_rn(sq);
    }
    avg = add(avg, k.eps);
    if (k.momentum) {
      const float b = add(mul(BUF0[i], k.mom), dv(g, avg));
      BUF[i] = b;
      P[i] = add(p, mul(k.neg_lr, b));
    } else {
      P[i] = add(p, dv(mul(k.neg_lr, g), avg));
    }
  }
}

struct SgdK {
  float wd, mom, c, neg_lr, sign;
  bool decay, momentum, first, nesterov;
};

__global__ void sgd_kernel(int64_t n, SgdK k, const float* P0, const float* __restrict__ G, const float* BUF0, float* P,
                           float* BUF) {
  RAVDL_GRID_STRIDE(i, n) {
    const float p = P0[i];
    float d = mul(k.sign, G[i]);
    if (k.decay) d = add(d, mul(k.wd, p));
    if (k.momentum) {
      const float b = k.first ? d : add(mul(BUF0[i], k.mom), mul(k.c, d));
      BUF[i] = b;
      d = k.nesterov ? add(d, mul(k.mom, b)) : b;
    }
    P[i] = add(p, mul(k.neg_lr, d));
  }
}

// Inputs present in order, all of param's shape, float32.
void check_same(const Call& c, const std::vector<int64_t>& shape) {
  for (size_t i = 0; i < c.in.size(); i++)
    if (c.present(i)) {
      expect_dtype(c, c.in[i], kF32, "every input");
      expect_shape(c, c.in[i], shape, "every input");
    }
  for (auto& o : c.out) {
    expect_dtype(c, o, kF32, "every output");
    expect_shape(c, o, shape, "every output");
  }
}

double hyper(const Call& c, const char* name, double fallback) {
  const double v = c.num(name, fallback);
  if (!std::isfinite(v) || v < 0) fail(kAttr, c.op + ": " + name + " must be a finite number >= 0, got " + std::to_string(v));
  return v;
}

}  // namespace

// adam_update: (param, grad, exp_avg, exp_avg_sq[, max_exp_avg_sq]) -> (param, exp_avg,
// exp_avg_sq[, max_exp_avg_sq]); attrs lr, beta1, beta2, eps, weight_decay, amsgrad,
// decoupled_weight_decay, step (1-based), maximize.
void launch_adam_update(const Call& c) {
  const bool ams = c.flag("amsgrad", false);
  expect_io(c, ams ? 5 : 4, 5, ams ? 4 : 3);
  if (ams != c.present(4)) fail(kAttr, "adam_update: max_exp_avg_sq must be given exactly when amsgrad is set");
  check_same(c, c.in[0].shape);
  const double lr = hyper(c, "lr", 1e-3), beta1 = c.num("beta1", 0.9), beta2 = c.num("beta2", 0.999);
  const double eps = hyper(c, "eps", 1e-8), wd = hyper(c, "weight_decay", 0);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) fail(kAttr, "adam_update: beta1 and beta2 must be in [0, 1)");
  const int64_t step = c.integer("step", 1);
  if (step < 1) fail(kAttr, "adam_update: step must be >= 1");
  const bool decoupled = c.flag("decoupled_weight_decay", false);
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step)), bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  AdamK k{};
  k.b1 = static_cast<float>(beta1), k.b2 = static_cast<float>(beta2);
  k.c1 = static_cast<float>(1.0 - beta1), k.c2 = static_cast<float>(1.0 - beta2);
  k.wd = static_cast<float>(wd), k.eps = static_cast<float>(eps);
  k.decay = decoupled ? static_cast<float>(1.0 - lr * wd) : 1.0f;
  k.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  k.neg_step_size = static_cast<float>(-(lr / bc1));
  k.sign = c.flag("maximize", false) ? -1.0f : 1.0f;
  k.coupled = !decoupled && wd != 0;
  k.ams = ams;
  const int64_t n = c.in[0].numel();
  if (n == 0) return;
  adam_kernel<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(n, k, c.in[0].f(), c.in[1].f(), c.in[2].f(), c.in[3].f(), ams ? c.in[4].f() : nullptr,
                                                              c.out[0].fw(), c.out[1].fw(), c.out[2].fw(), ams ? c.out[3].fw() : nullptr);
}

// rmsprop_update: (param, grad, square_avg[, momentum_buffer][, grad_avg]) -> (param,
// square_avg[, momentum_buffer][, grad_avg]); attrs lr, alpha, eps, weight_decay, momentum,
// centered, maximize.
void launch_rmsprop_update(const Call& c) {
  const double lr = hyper(c, "lr", 1e-2), alpha = hyper(c, "alpha", 0.99), eps = hyper(c, "eps", 1e-8);
  const double wd = hyper(c, "weight_decay", 0), mom = hyper(c, "momentum", 0);
  const bool centered = c.flag("centered", false), use_mom = mom > 0;
  expect_io(c, 3, 5, 2 + use_mom + centered);
  if (use_mom != c.present(3)) fail(kAttr, "rmsprop_update: momentum_buffer must be given exactly when momentum > 0");
  if (centered != c.present(4)) fail(kAttr, "rmsprop_update: grad_avg must be given exactly when centered is set");
  check_same(c, c.in[0].shape);
  RmsK k{};
  k.alpha = static_cast<float>(alpha), k.c = static_cast<float>(1.0 - alpha), k.eps = static_cast<float>(eps);
  k.wd = static_cast<float>(wd), k.mom = static_cast<float>(mom), k.neg_lr = static_cast<float>(-lr);
  k.sign = c.flag("maximize", false) ? -1.0f : 1.0f;
  k.decay = wd != 0, k.centered = centered, k.momentum = use_mom;
  const int64_t n = c.in[0].numel();
  if (n == 0) return;
  float* buf = use_mom ? c.out[2].fw() : nullptr;
  float* ga = centered ? c.out[use_mom ? 3 : 2].fw() : nullptr;
  rmsprop_kernel<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(n, k, c.in[0].f(), c.in[1].f(), c.in[2].f(), use_mom ? c.in[3].f() : nullptr,
                                                                 centered ? c.in[4].f() : nullptr, c.out[0].fw(), c.out[1].fw(), buf, ga);
}

// sgd_update: (param, grad[, momentum_buffer]) -> (param[, momentum_buffer]); attrs lr,
// momentum, dampening, weight_decay, nesterov, step (step 1 starts the buffer from the
// gradient), maximize.
void launch_sgd_update(const Call& c) {
  const double lr = hyper(c, "lr", 1e-2), mom = hyper(c, "momentum", 0), damp = c.num("dampening", 0), wd = hyper(c, "weight_decay", 0);
  const bool nesterov = c.flag("nesterov", false), use_mom = mom != 0;
  if (!(damp >= 0 && damp <= 1)) fail(kAttr, "sgd_update: dampening must be in [0, 1]");
  if (nesterov && (mom <= 0 || damp != 0)) fail(kAttr, "sgd_update: nesterov needs momentum > 0 and dampening 0");
  const int64_t step = c.integer("step", 1);
  if (step < 1) fail(kAttr, "sgd_update: step must be >= 1");
  expect_io(c, use_mom ? 3 : 2, 3, use_mom ? 2 : 1);
  if (use_mom != c.present(2)) fail(kAttr, "sgd_update: momentum_buffer must be given exactly when momentum > 0");
  check_same(c, c.in[0].shape);
  SgdK k{};
  k.wd = static_cast<float>(wd), k.mom = static_cast<float>(mom), k.c = static_cast<float>(1.0 - damp), k.neg_lr = static_cast<float>(-lr);
  k.sign = c.flag("maximize", false) ? -1.0f : 1.0f;
  k.decay = wd != 0, k.momentum = use_mom, k.first = step == 1, k.nesterov = nesterov;
  const int64_t n = c.in[0].numel();
  if (n == 0) return;
  sgd_kernel<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(n, k, c.in[0].f(), c.in[1].f(), use_mom ? c.in[2].f() : nullptr, c.out[0].fw(),
                                                             use_mom ? c.out[1].fw() : nullptr);
}

}  // namespace ravdl_cuda

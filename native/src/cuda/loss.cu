// Losses: fused softmax cross-entropy (class-index int32 targets with weight, ignore_index and
// label smoothing, or float32 probability targets) forward and backward, and mean squared
// error, with the CPU kernels' formulas (loss.h). Attribute `reduction`: 0 = 'mean', 1 =
// 'sum', 2 = 'none' (the catalog's order). Logits (N, C, d1, ...) are N blocks of C x D; one
// warp per position (n, d). Sums over positions run in one block in a fixed order.
#include <algorithm>
#include <array>
#include <cmath>

#include "common.cuh"

namespace ravdl_cuda {
namespace {

enum Red { kMean = 0, kSum = 1, kNone = 2 };
constexpr int kWarpsPerBlock = 8;
constexpr int kSumThreads = 256;

struct Pos {
  int64_t n, c, d;
  __host__ __device__ int64_t count() const { return n * d; }
};

__device__ __forceinline__ float warp_max(float v) {
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}
__device__ __forceinline__ float warp_sumf(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}
__device__ __forceinline__ double warp_sumd(double v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// max and log(sum(exp(z - max))) of one position's C logits at stride D (in every lane).
__device__ __forceinline__ void warp_lse(const float* z, int64_t C, int64_t D, float& m, float& ls) {
  const int lane = threadIdx.x % 32;
  float mx = -INFINITY;
  for (int64_t k = lane; k < C; k += 32) mx = fmaxf(mx, z[k * D]);
  mx = warp_max(mx);
  float s = 0.0f;
  for (int64_t k = lane; k < C; k += 32) s += expf(z[k * D] - mx);
  s = warp_sumf(s);
  m = mx;
  ls = logf(s);
}

// Per position i: nll[i], smooth[i] (class-index targets), or the whole loss in nll[i]
// (probability targets, prob != nullptr); wv[i] = the target's class weight (0 if ignored),
// cnt[i] = 1 unless ignored.
__global__ void ce_positions(Pos p, const float* __restrict__ z, const int32_t* __restrict__ t, const float* __restrict__ prob,
                             const float* __restrict__ w, int64_t ignore, float eps, float* __restrict__ nll, float* __restrict__ smooth,
                             double* __restrict__ wv, double* __restrict__ cnt) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t i = blockIdx.x * (int64_t)kWarpsPerBlock + threadIdx.x / 32; i < p.count(); i += warps) {
    const int64_t base = (i / p.d) * p.c * p.d + i % p.d;
    const float* zi = z + base;
    if (prob) {
      float m, ls;
      warp_lse(zi, p.c, p.d, m, ls);
      const float off = m + ls, u = eps / static_cast<float>(p.c > 0 ? p.c : 1);
      double s = 0;
      for (int64_t k = lane; k < p.c; k += 32) {
        const float qk = prob[base + k * p.d] * (1 - eps) + u;
        s += static_cast<double>(w ? w[k] : 1.f) * qk * (zi[k * p.d] - off);
      }
      s = warp_sumd(s);
      if (lane == 0) nll[i] = static_cast<float>(-s);
      continue;
    }
    const int64_t ti = t[i];
    if (ti == ignore) {
      if (lane == 0) nll[i] = 0, smooth[i] = 0, wv[i] = 0, cnt[i] = 0;
      continue;
    }
    float m, ls;
    warp_lse(zi, p.c, p.d, m, ls);
    double s = 0;
    if (eps > 0)
      for (int64_t k = lane; k < p.c; k += 32) s += static_cast<double>(w ? w[k] : 1.f) * ((zi[k * p.d] - m) - ls);
    s = warp_sumd(s);
    if (lane == 0) {
      const float wt = w ? w[ti] : 1.f;
      nll[i] = -wt * ((zi[ti * p.d] - m) - ls);
      smooth[i] = static_cast<float>(-s);
      wv[i] = w ? static_cast<double>(w[ti]) : 1.0;
      cnt[i] = 1;
    }
  }
}

// sums[k] = the sum over i < n of the k-th array, in double: nf float arrays (f0, f1) first,
// then nd double arrays (d0, d1). One block, a fixed order.
__global__ void __launch_bounds__(kSumThreads) sum_arrays(int64_t n, int nf, const float* f0, const float* f1, int nd, const double* d0,
                                                          const double* d1, double* __restrict__ sums) {
  __shared__ double buf[kSumThreads];
  for (int k = 0; k < nf + nd; k++) {
    const float* f = k == 0 ? f0 : f1;
    const double* d = k == nf ? d0 : d1;
    double acc = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += k < nf ? static_cast<double>(f[i]) : d[i];
    buf[threadIdx.x] = acc;
    __syncthreads();
    for (int half = kSumThreads / 2; half > 0; half >>= 1) {
      if (threadIdx.x < half) buf[threadIdx.x] += buf[threadIdx.x + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) sums[k] = buf[0];
    __syncthreads();
  }
}

// The reduced loss from the sums of sum_arrays: [nll, smooth, weight, count, (class weights)].
__global__ void ce_finish(int red, bool has_w, bool prob, int64_t np, int64_t C, float eps, const double* __restrict__ sums, float* out) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  if (prob) {
    out[0] = static_cast<float>(red == kMean ? sums[0] / static_cast<double>(np) : sums[0]);
    return;
  }
  const double denom = has_w ? sums[2] : sums[3];
  const float r1 = static_cast<float>(red == kMean ? sums[0] / denom : sums[0]);
  if (eps == 0) {
    out[0] = r1;
    return;
  }
  const float r2 = static_cast<float>(red == kMean ? sums[1] / denom : sums[1]);
  out[0] = (1 - eps) * r1 + (eps / static_cast<float>(C)) * r2;
}

__global__ void ce_none(int64_t np, int64_t C, float eps, const float* __restrict__ nll, const float* __restrict__ smooth, float* __restrict__ out) {
  RAVDL_GRID_STRIDE(i, np) out[i] = eps == 0 ? nll[i] : (1 - eps) * nll[i] + (eps / static_cast<float>(C)) * smooth[i];
}

// Gradient w.r.t. the logits, one warp per position. sums (class-index targets) holds
// [weight total of the targets, valid count, class weight total] from sum_arrays.
__global__ void ce_backward(Pos p, int red, const float* __restrict__ z, const int32_t* __restrict__ t, const float* __restrict__ prob,
                            const float* __restrict__ w, int64_t ignore, float eps, const float* __restrict__ gl, const double* __restrict__ sums,
                            float* __restrict__ gz) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t i = blockIdx.x * (int64_t)kWarpsPerBlock + threadIdx.x / 32; i < p.count(); i += warps) {
    const int64_t base = (i / p.d) * p.c * p.d + i % p.d;
    const float* zi = z + base;
    float* g = gz + base;
    if (prob) {
      const float u = eps / static_cast<float>(p.c);
      const double inv = red == kMean ? 1.0 / static_cast<double>(p.count()) : 1.0;
      const float s = red == kNone ? gl[i] : static_cast<float>(gl[0] * inv);
      float m, ls;
      warp_lse(zi, p.c, p.d, m, ls);
      const float off = m + ls;
      double wq = 0;
      for (int64_t k = lane; k < p.c; k += 32) wq += static_cast<double>(w ? w[k] : 1.f) * (prob[base + k * p.d] * (1 - eps) + u);
      wq = warp_sumd(wq);
      const float swq = static_cast<float>(wq) * s;
      for (int64_t k = lane; k < p.c; k += 32) {
        const float qk = prob[base + k * p.d] * (1 - eps) + u;
        g[k * p.d] = swq * expf(zi[k * p.d] - off) - s * (w ? w[k] : 1.f) * qk;
      }
      continue;
    }
    const int64_t ti = t[i];
    if (ti == ignore) {
      for (int64_t k = lane; k < p.c; k += 32) g[k * p.d] = 0;
      continue;
    }
    const double inv = red == kSum ? 1.0 : 1.0 / (w ? sums[0] : sums[1]);
    const float s = red == kNone ? gl[i] : static_cast<float>(gl[0] * inv);
    const float wtot = w ? static_cast<float>(sums[2]) : static_cast<float>(p.c);
    const float a1 = s * (1 - eps) * (w ? w[ti] : 1.f);
    const float a2 = s * (eps / static_cast<float>(p.c));
    const float pc = a1 + a2 * wtot;
    float m, ls;
    warp_lse(zi, p.c, p.d, m, ls);
    const float off = m + ls;
    for (int64_t k = lane; k < p.c; k += 32) {
      float v = pc * expf(zi[k * p.d] - off) - (eps > 0 ? a2 * (w ? w[k] : 1.f) : 0.f);
      if (k == ti) v -= a1;
      g[k * p.d] = v;
    }
  }
}

// MSE: per-element squared differences (reduction 'none'), or their sum in double in
// fixed blocks of kMseBlock elements, then the blocks in order.
constexpr int64_t kMseBlock = 4096;
__global__ void mse_none(int64_t n, const float* __restrict__ p, const float* __restrict__ t, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(i, n) {
    const float d = __fsub_rn(p[i], t[i]);
    y[i] = __fmul_rn(d, d);
  }
}
__global__ void __launch_bounds__(kSumThreads) mse_blocks(int64_t n, const float* __restrict__ p, const float* __restrict__ t, double* __restrict__ part) {
  __shared__ double buf[kSumThreads];
  const int64_t nb = (n + kMseBlock - 1) / kMseBlock;
  for (int64_t b = blockIdx.x; b < nb; b += gridDim.x) {
    double acc = 0;
    for (int64_t i = b * kMseBlock + threadIdx.x; i < min(n, (b + 1) * kMseBlock); i += blockDim.x) {
      const double d = static_cast<double>(p[i]) - t[i];
      acc += d * d;
    }
    buf[threadIdx.x] = acc;
    __syncthreads();
    for (int half = kSumThreads / 2; half > 0; half >>= 1) {
      if (threadIdx.x < half) buf[threadIdx.x] += buf[threadIdx.x + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) part[b] = buf[0];
    __syncthreads();
  }
}
__global__ void mse_finish(int red, int64_t n, const double* __restrict__ sums, float* __restrict__ y) {
  if (threadIdx.x == 0 && blockIdx.x == 0) y[0] = static_cast<float>(red == kMean ? sums[0] / static_cast<double>(n) : sums[0]);
}
// grad_pred = g * k * (pred - target), grad_target = -grad_pred (the CPU's float steps).
__global__ void mse_backward(int red, int64_t n, float k, const float* __restrict__ p, const float* __restrict__ t, const float* __restrict__ gl,
                             float* __restrict__ gp, float* __restrict__ gt) {
  RAVDL_GRID_STRIDE(i, n) {
    const float g = __fmul_rn(red == kNone ? gl[i] : gl[0], k);
    const float v = __fmul_rn(g, __fsub_rn(p[i], t[i]));
    if (gp) gp[i] = v;
    if (gt) gt[i] = -v;
  }
}

// ---- pointwise losses (lib/ops/pointwise_loss.ts): each element in double, as the catalog's
// kernels; weight / pos_weight broadcast to pred's shape through strides.
enum PwKind { kL1, kHuber, kBce, kBceLogits };
struct PwMap {
  int ndim;
  int64_t dims[RAVDL_CUDA_MAX_DIMS];
  int64_t ws[RAVDL_CUDA_MAX_DIMS], qs[RAVDL_CUDA_MAX_DIMS];  // element strides of weight, pos_weight (0 = broadcast)
};
__device__ __forceinline__ void pw_offsets(const PwMap& m, int64_t i, int64_t& wo, int64_t& qo) {
  wo = qo = 0;
  for (int d = m.ndim - 1; d >= 0; d--) {
    const int64_t k = i % m.dims[d];
    i /= m.dims[d];
    wo += k * m.ws[d];
    qo += k * m.qs[d];
  }
}
__device__ __forceinline__ double clamp_log(double v) { return fmax(log(v), -100.0); }
__device__ __forceinline__ double softplus_neg(double x) { return fmax(-x, 0.0) + log1p(exp(-fabs(x))); }
__device__ __forceinline__ double sigmoid_d(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }
__device__ __forceinline__ double sgn_d(double d) { return d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0; }

__device__ double pw_loss(int kind, double p, double t, double w, double q, double delta) {
  switch (kind) {
    case kL1: return fabs(p - t);
    case kHuber: {
      const double d = fabs(p - t);
      return d < delta ? 0.5 * d * d : delta * (d - 0.5 * delta);
    }
    case kBce: return w * ((t - 1) * clamp_log(1 - p) - t * clamp_log(p));
    default: return w * ((1 - t) * p + (1 + (q - 1) * t) * softplus_neg(p));
  }
}
__device__ void pw_grads(int kind, double p, double t, double w, double q, double delta, double& dp, double& dt) {
  switch (kind) {
    case kL1:
      dp = sgn_d(p - t);
      dt = -dp;
      break;
    case kHuber:
      dp = fmin(fmax(p - t, -delta), delta);
      dt = -dp;
      break;
    case kBce:
      dp = (w * (p - t)) / fmax((1 - p) * p, 1e-12);
      dt = w * (log(1 - p) - log(p));
      break;
    default:
      dp = w * ((1 + (q - 1) * t) * sigmoid_d(p) - q * t);
      dt = w * (-p + (q - 1) * softplus_neg(p));
  }
}

// Per element (reduction 'none') or per-block double partial sums (in a fixed tree order).
__global__ void __launch_bounds__(kSumThreads) pw_forward(int kind, bool none, int64_t n, PwMap m, double delta, const float* __restrict__ p,
                                                          const float* __restrict__ t, const float* __restrict__ w, const float* __restrict__ q,
                                                          float* __restrict__ out, double* __restrict__ part) {
  __shared__ double buf[kSumThreads];
  const int64_t nb = (n + kMseBlock - 1) / kMseBlock;
  for (int64_t b = blockIdx.x; b < nb; b += gridDim.x) {
    double acc = 0;
    for (int64_t i = b * kMseBlock + threadIdx.x; i < min(n, (b + 1) * kMseBlock); i += blockDim.x) {
      int64_t wo, qo;
      pw_offsets(m, i, wo, qo);
      const double v = pw_loss(kind, p[i], t[i], w ? w[wo] : 1.0, q ? q[qo] : 1.0, delta);
      if (none) out[i] = static_cast<float>(v);
      else acc += v;
    }
    if (none) continue;
    buf[threadIdx.x] = acc;
    __syncthreads();
    for (int half = kSumThreads / 2; half > 0; half >>= 1) {
      if (threadIdx.x < half) buf[threadIdx.x] += buf[threadIdx.x + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) part[b] = buf[0];
    __syncthreads();
  }
}

__global__ void pw_backward(int kind, int red, int64_t n, PwMap m, double delta, const float* __restrict__ p, const float* __restrict__ t,
                            const float* __restrict__ w, const float* __restrict__ q, const float* __restrict__ gl, float* __restrict__ gp,
                            float* __restrict__ gt) {
  RAVDL_GRID_STRIDE(i, n) {
    int64_t wo, qo;
    pw_offsets(m, i, wo, qo);
    const double s = red == kNone ? static_cast<double>(gl[i]) : red == kMean ? static_cast<double>(gl[0]) / static_cast<double>(n) : gl[0];
    double dp, dt;
    pw_grads(kind, p[i], t[i], w ? w[wo] : 1.0, q ? q[qo] : 1.0, delta, dp, dt);
    if (gp) gp[i] = static_cast<float>(s * dp);
    if (gt) gt[i] = static_cast<float>(s * dt);
  }
}

// Flags the first pred outside [0, 1] (binary_cross_entropy's domain).
__global__ void bad_probability(int64_t n, const float* __restrict__ p, unsigned long long* bad) {
  RAVDL_GRID_STRIDE(i, n) if (!(p[i] >= 0.0f && p[i] <= 1.0f)) atomicMin(bad, static_cast<unsigned long long>(i));
}

unsigned warp_blocks(int64_t positions) {
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>((positions + kWarpsPerBlock - 1) / kWarpsPerBlock, 65536)));
}

int reduction_of(const Call& c) {
  const int64_t r = c.integer("reduction", kMean);
  if (r < 0 || r > 2) fail(kAttr, c.op + ": reduction must be 0 ('mean'), 1 ('sum') or 2 ('none'), got " + std::to_string(r));
  return static_cast<int>(r);
}

// Shared checks of cross_entropy(_backward): logits, target (int32 indices or float32
// probabilities), weight; returns the positions.
Pos ce_check(const Call& c, bool& prob, const float*& w, float& eps, int64_t& ignore) {
  const Desc &z = c.in[0], &t = c.in[1];
  expect_dtype(c, z, kF32, "logits");
  if (z.rank() < 2) fail(kShape, c.op + ": logits must be (N, C) or (N, C, d1, ...), got " + shape_str(z.shape));
  Pos p{z.shape[0], z.shape[1], 1};
  for (int64_t i = 2; i < z.rank(); i++) p.d *= z.shape[i];
  prob = t.dtype == kF32;
  if (prob) {
    expect_shape(c, t, z.shape, "probability target");
  } else {
    expect_dtype(c, t, kI32, "target");
    std::vector<int64_t> want{z.shape[0]};
    want.insert(want.end(), z.shape.begin() + 2, z.shape.end());
    expect_shape(c, t, want, "class-index target");
  }
  w = nullptr;
  if (c.present(2)) {
    expect_dtype(c, c.in[2], kF32, "weight");
    expect_shape(c, c.in[2], {p.c}, "weight");
    w = c.in[2].f();
  }
  const double ls = c.num("label_smoothing", 0);
  if (!(ls >= 0 && ls <= 1)) fail(kAttr, c.op + ": label_smoothing must be in [0, 1]");
  eps = static_cast<float>(ls);
  ignore = c.integer("ignore_index", -100);
  if (!prob) {
    const int64_t bad = first_bad_index(c.dev, t.i(), t.numel(), 0, p.c, ignore);
    if (bad >= 0)
      fail(kIndex, c.op + ": target at position " + std::to_string(bad) + " is out of range [0, " + std::to_string(p.c) +
                       ") and is not ignore_index " + std::to_string(ignore));
  }
  return p;
}

std::vector<int64_t> loss_shape(const Desc& z, int red) {
  if (red != kNone) return {};
  std::vector<int64_t> s{z.shape[0]};
  s.insert(s.end(), z.shape.begin() + 2, z.shape.end());
  return s;
}

}  // namespace

// cross_entropy: (logits, target, weight?) -> loss
void launch_cross_entropy(const Call& c) {
  expect_io(c, 2, 3, 1);
  bool prob;
  const float* w;
  float eps;
  int64_t ignore;
  const Pos p = ce_check(c, prob, w, eps, ignore);
  const int red = reduction_of(c);
  const Desc& y = c.out[0];
  expect_dtype(c, y, kF32, "output");
  expect_shape(c, y, loss_shape(c.in[0], red), "output");
  const int64_t np = p.count();
  cudaStream_t s = stream_of(c.dev);
  Scratch per(c.dev, static_cast<size_t>(std::max<int64_t>(np, 1)) * (2 * sizeof(float) + 2 * sizeof(double)) + 8 * sizeof(double));
  float* nll = per.as<float>();
  float* smooth = nll + np;
  double* wv = reinterpret_cast<double*>(per.as<char>() + ((2 * np * sizeof(float) + 7) / 8) * 8);
  double* cnt = wv + np;
  double* sums = cnt + np;
  if (np > 0 && p.c > 0)
    ce_positions<<<warp_blocks(np), 32 * kWarpsPerBlock, 0, s>>>(p, c.in[0].f(), prob ? nullptr : c.in[1].i(), prob ? c.in[1].f() : nullptr, w,
                                                                 ignore, eps, nll, smooth, wv, cnt);
  else if (np > 0)  // no classes: every target is ignore_index (checked), each loss 0
    check_cuda(cudaMemsetAsync(per.ptr, 0, static_cast<size_t>(np) * (2 * sizeof(float) + 2 * sizeof(double)), s), "cudaMemsetAsync");
  if (red == kNone) {
    if (np > 0) {
      if (prob) check_cuda(cudaMemcpyAsync(y.data, nll, static_cast<size_t>(np) * sizeof(float), cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync");
      else ce_none<<<grid_for(np), kThreads, 0, s>>>(np, p.c, eps, nll, smooth, y.fw());
    }
    return;
  }
  // sums: [nll, smooth, weight total, count] (class-index targets) or [loss] (probabilities).
  if (prob) sum_arrays<<<1, kSumThreads, 0, s>>>(np, 1, nll, nullptr, 0, nullptr, nullptr, sums);
  else sum_arrays<<<1, kSumThreads, 0, s>>>(np, 2, nll, smooth, 2, wv, cnt, sums);
  ce_finish<<<1, 32, 0, s>>>(red, w != nullptr, prob, np, p.c, eps, sums, y.fw());
}

// cross_entropy_backward: (logits, target, weight?, gloss) -> glogits
void launch_cross_entropy_backward(const Call& c) {
  expect_io(c, 4, 4, 1, 1u << 2);
  bool prob;
  const float* w;
  float eps;
  int64_t ignore;
  const Pos p = ce_check(c, prob, w, eps, ignore);
  const int red = reduction_of(c);
  const Desc &gl = c.in[3], &gz = c.out[0];
  expect_dtype(c, gl, kF32, "gloss");
  expect_shape(c, gl, loss_shape(c.in[0], red), "gloss");
  expect_dtype(c, gz, kF32, "output");
  expect_shape(c, gz, c.in[0].shape, "output");
  const int64_t np = p.count();
  if (np == 0 || p.c == 0) return;
  cudaStream_t s = stream_of(c.dev);
  Scratch scratch(c.dev, static_cast<size_t>(np) * 2 * sizeof(double) + 8 * sizeof(double));
  double* wv = scratch.as<double>();
  double* cnt = wv + np;
  double* sums = cnt + np;
  if (!prob) {
    // Per-position target weights and counts (ce_positions' by-products), then their sums and
    // the class weight total: [wsum, valid, wtot].
    Scratch tmp(c.dev, static_cast<size_t>(np) * 2 * sizeof(float));
    ce_positions<<<warp_blocks(np), 32 * kWarpsPerBlock, 0, s>>>(p, c.in[0].f(), c.in[1].i(), nullptr, w, ignore, 0.0f, tmp.as<float>(),
                                                                 tmp.as<float>() + np, wv, cnt);
    sum_arrays<<<1, kSumThreads, 0, s>>>(np, 0, nullptr, nullptr, 2, wv, cnt, sums);
    if (w) sum_arrays<<<1, kSumThreads, 0, s>>>(p.c, 1, w, nullptr, 0, nullptr, nullptr, sums + 2);
  }
  ce_backward<<<warp_blocks(np), 32 * kWarpsPerBlock, 0, s>>>(p, red, c.in[0].f(), prob ? nullptr : c.in[1].i(), prob ? c.in[1].f() : nullptr,
                                                              w, ignore, eps, gl.f(), sums, gz.fw());
}

// mse_loss: (pred, target) -> loss; attr reduction.
void launch_mse_loss(const Call& c) {
  expect_io(c, 2, 2, 1);
  const Desc &p = c.in[0], &t = c.in[1], &y = c.out[0];
  for (auto* d : {&p, &t, &y}) expect_dtype(c, *d, kF32, d == &p ? "pred" : d == &t ? "target" : "output");
  expect_shape(c, t, p.shape, "target");
  const int red = reduction_of(c);
  expect_shape(c, y, red == kNone ? p.shape : std::vector<int64_t>{}, "output");
  const int64_t n = p.numel();
  cudaStream_t s = stream_of(c.dev);
  if (red == kNone) {
    if (n > 0) mse_none<<<grid_for(n), kThreads, 0, s>>>(n, p.f(), t.f(), y.fw());
    return;
  }
  const int64_t nb = (n + kMseBlock - 1) / kMseBlock;
  Scratch part(c.dev, static_cast<size_t>(nb + 1) * sizeof(double));
  double* sums = part.as<double>() + nb;
  if (nb > 0) mse_blocks<<<static_cast<unsigned>(std::min<int64_t>(nb, 65536)), kSumThreads, 0, s>>>(n, p.f(), t.f(), part.as<double>());
  sum_arrays<<<1, kSumThreads, 0, s>>>(nb, 0, nullptr, nullptr, 1, part.as<double>(), nullptr, sums);
  mse_finish<<<1, 32, 0, s>>>(red, n, sums, y.fw());
}

namespace {
// The optional outputs [gpred, gtarget] of a loss's backward, each checked float32 of `shape`
// (null where absent).
std::array<float*, 2> grad_outputs(const Call& c, const std::vector<int64_t>& shape) {
  std::array<float*, 2> out = {nullptr, nullptr};
  for (int k = 0; k < 2; k++)
    if (c.present_out(k)) {
      expect_dtype(c, c.out[k], kF32, k == 0 ? "gpred" : "gtarget");
      expect_shape(c, c.out[k], shape, k == 0 ? "gpred" : "gtarget");
      out[k] = c.out[k].fw();
    }
  return out;
}
}  // namespace

// mse_loss_backward: (pred, target, gloss) -> [gpred, gtarget]; attr reduction.
void launch_mse_loss_backward(const Call& c) {
  expect_io(c, 3, 3, 2);
  const Desc &p = c.in[0], &t = c.in[1], &gl = c.in[2];
  expect_dtype(c, p, kF32, "pred");
  expect_dtype(c, t, kF32, "target");
  expect_dtype(c, gl, kF32, "gloss");
  expect_shape(c, t, p.shape, "target");
  const int red = reduction_of(c);
  expect_shape(c, gl, red == kNone ? p.shape : std::vector<int64_t>{}, "gloss");
  std::array<float*, 2> out = grad_outputs(c, p.shape);
  const int64_t n = p.numel();
  if (n == 0) return;
  const float k = red == kMean ? static_cast<float>(2.0 / static_cast<double>(n)) : 2.f;
  mse_backward<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(red, n, k, p.f(), t.f(), gl.f(), out[0], out[1]);
}

namespace {
// Shared checks of the pointwise losses: (pred, target[, weight][, pos_weight][, gloss]).
struct PwCall {
  int kind, red;
  double delta = 1;
  int n_extra;
  const float *w = nullptr, *q = nullptr;
  PwMap m{};
};
PwCall pw_check(const Call& c, bool backward) {
  PwCall k{};
  const std::string base = backward ? c.op.substr(0, c.op.size() - 9) : c.op;  // without "_backward"
  k.kind = base == "l1_loss" ? kL1 : base == "huber_loss" ? kHuber : base == "binary_cross_entropy" ? kBce : kBceLogits;
  k.n_extra = k.kind == kBce ? 1 : k.kind == kBceLogits ? 2 : 0;
  const size_t n_in = 2 + k.n_extra + (backward ? 1 : 0);
  if (backward) expect_io(c, n_in, n_in, 2, ((1u << k.n_extra) - 1) << 2);
  else expect_io(c, 2, n_in, 1);
  k.red = reduction_of(c);
  if (k.kind == kHuber) {
    k.delta = c.num("delta", 1);
    if (!(k.delta > 0) || !std::isfinite(k.delta)) fail(kAttr, c.op + ": delta must be a finite number > 0");
  }
  const Desc &p = c.in[0], &t = c.in[1];
  expect_dtype(c, p, kF32, "pred");
  expect_dtype(c, t, kF32, "target");
  expect_shape(c, t, p.shape, "target");
  if (p.rank() > RAVDL_CUDA_MAX_DIMS) fail(kShape, c.op + ": at most 8 dimensions on cuda");
  k.m.ndim = static_cast<int>(p.rank());
  for (int64_t d = 0; d < p.rank(); d++) k.m.dims[d] = p.shape[d];
  for (int e = 0; e < k.n_extra; e++) {
    if (!c.present(2 + e)) continue;
    const Desc& w = c.in[2 + e];
    expect_dtype(c, w, kF32, e == 0 ? "weight" : "pos_weight");
    int64_t* st = e == 0 ? k.m.ws : k.m.qs;
    if (w.rank() > p.rank()) fail(kShape, c.op + ": weight " + shape_str(w.shape) + " does not broadcast to pred's shape " + shape_str(p.shape));
    int64_t stride = 1;
    for (int64_t d = p.rank() - 1; d >= 0; d--) {
      const int64_t wd = d - (p.rank() - w.rank());
      const int64_t dim = wd < 0 ? 1 : w.shape[wd];
      if (dim != 1 && dim != p.shape[d]) fail(kShape, c.op + ": weight " + shape_str(w.shape) + " does not broadcast to pred's shape " + shape_str(p.shape));
      st[d] = dim == 1 ? 0 : stride;
      stride *= dim;
    }
    (e == 0 ? k.w : k.q) = w.f();
  }
  return k;
}
}  // namespace

// l1_loss, huber_loss, binary_cross_entropy, binary_cross_entropy_with_logits: (pred, target,
// [weight?], [pos_weight?]) -> loss; attrs reduction, delta (huber).
void launch_pointwise_loss(const Call& c) {
  const PwCall k = pw_check(c, false);
  const Desc &p = c.in[0], &y = c.out[0];
  expect_dtype(c, y, kF32, "output");
  expect_shape(c, y, k.red == kNone ? p.shape : std::vector<int64_t>{}, "output");
  const int64_t n = p.numel();
  cudaStream_t s = stream_of(c.dev);
  if (k.kind == kBce && n > 0) {
    Scratch flag(c.dev, sizeof(unsigned long long));
    check_cuda(cudaMemsetAsync(flag.ptr, 0xff, sizeof(unsigned long long), s), "cudaMemsetAsync");
    bad_probability<<<grid_for(n), kThreads, 0, s>>>(n, p.f(), flag.as<unsigned long long>());
    unsigned long long bad = ~0ull;
    check_cuda(cudaMemcpyAsync(&bad, flag.ptr, sizeof bad, cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync");
    check_cuda(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    if (bad != ~0ull)
      fail(kArg, "binary_cross_entropy: pred must hold probabilities in [0, 1] (e.g. a sigmoid's output), the value at flat index " +
                     std::to_string(bad) + " is not; for logits use binary_cross_entropy_with_logits");
  }
  const int64_t nb = (n + kMseBlock - 1) / kMseBlock;
  Scratch part(c.dev, static_cast<size_t>(nb + 1) * sizeof(double));
  const unsigned blocks = static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(nb, 65536)));
  if (n > 0)
    pw_forward<<<blocks, kSumThreads, 0, s>>>(k.kind, k.red == kNone, n, k.m, k.delta, p.f(), c.in[1].f(), k.w, k.q, y.fw(), part.as<double>());
  if (k.red == kNone) return;
  double* sums = part.as<double>() + nb;
  sum_arrays<<<1, kSumThreads, 0, s>>>(nb, 0, nullptr, nullptr, 1, part.as<double>(), nullptr, sums);
  mse_finish<<<1, 32, 0, s>>>(k.red, n, sums, y.fw());  // sum / n for 'mean' (NaN when empty), or the sum
}

// <loss>_backward: (pred, target, [weight?], [pos_weight?], gloss) -> [gpred, gtarget].
void launch_pointwise_loss_backward(const Call& c) {
  const PwCall k = pw_check(c, true);
  const Desc &p = c.in[0], &gl = c.in[2 + k.n_extra];
  expect_dtype(c, gl, kF32, "gloss");
  expect_shape(c, gl, k.red == kNone ? p.shape : std::vector<int64_t>{}, "gloss");
  std::array<float*, 2> out = grad_outputs(c, p.shape);
  const int64_t n = p.numel();
  if (n == 0) return;
  pw_backward<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(k.kind, k.red, n, k.m, k.delta, p.f(), c.in[1].f(), k.w, k.q, gl.f(), out[0], out[1]);
}

}  // namespace ravdl_cuda

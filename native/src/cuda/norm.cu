// Batch norm (channel = dim 1 of (N, C), (N, C, L), (N, C, H, W)) and layer norm (trailing
// normalized_shape dims), forward and backward, with the CPU kernels' formulas (norm.h):
// statistics summed in double, per-channel scale/shift in float. Per-channel and per-row sums
// are block reductions in a fixed tree order (deterministic, no atomics).
#include <algorithm>
#include <cmath>

#include "common.cuh"

namespace ravdl_cuda {
namespace {

constexpr int kNormThreads = 256;

// Two double sums over the block at once, in a fixed tree order; valid in every thread.
__device__ void block_sum2(double& a, double& b) {
  __shared__ double sa[kNormThreads], sb[kNormThreads];
  sa[threadIdx.x] = a;
  sb[threadIdx.x] = b;
  __syncthreads();
  for (int half = kNormThreads / 2; half > 0; half >>= 1) {
    if (threadIdx.x < half) {
      sa[threadIdx.x] += sa[threadIdx.x + half];
      sb[threadIdx.x] += sb[threadIdx.x + half];
    }
    __syncthreads();
  }
  a = sa[0];
  b = sb[0];
  __syncthreads();
}

// x viewed as [N][C][S].
struct BnLayout {
  int64_t n, c, s;
};

// Per channel (one block each): mean / invstd (training: batch statistics; else running),
// running-stat update, save_mean / save_invstd, and scale / shift for the normalization.
__global__ void __launch_bounds__(kNormThreads) bn_stats(BnLayout l, bool training, double momentum, double eps, const float* __restrict__ x,
                                                         const float* __restrict__ gamma, const float* __restrict__ beta, float* rm, float* rv,
                                                         float* __restrict__ save_mean, float* __restrict__ save_invstd,
                                                         float* __restrict__ scale, float* __restrict__ shift) {
  const int64_t count = l.n * l.s;
  for (int64_t c = blockIdx.x; c < l.c; c += gridDim.x) {
    float mean, invstd;
    if (training) {
      double s = 0, unused = 0;
      for (int64_t i = threadIdx.x; i < count; i += blockDim.x) s += x[((i / l.s) * l.c + c) * l.s + i % l.s];
      block_sum2(s, unused);
      mean = static_cast<float>(s / count);
      double v = 0;
      unused = 0;
      for (int64_t i = threadIdx.x; i < count; i += blockDim.x) {
        const float d = x[((i / l.s) * l.c + c) * l.s + i % l.s] - mean;
        v += static_cast<double>(d) * d;
      }
      block_sum2(v, unused);
      invstd = static_cast<float>(1.0 / sqrt(v / count + eps));
      if (threadIdx.x == 0 && rm) {
        const double unbiased = v / (count - 1);
        rm[c] = static_cast<float>((1 - momentum) * rm[c] + momentum * mean);
        rv[c] = static_cast<float>((1 - momentum) * rv[c] + momentum * unbiased);
      }
    } else {
      mean = rm[c];
      invstd = static_cast<float>(1.0 / sqrt(static_cast<double>(rv[c]) + eps));
    }
    if (threadIdx.x == 0) {
      if (save_mean) save_mean[c] = mean;
      if (save_invstd) save_invstd[c] = invstd;
      const float gc = gamma ? gamma[c] : 1.f, bc = beta ? beta[c] : 0.f;
      scale[c] = gc * invstd;
      shift[c] = bc - mean * scale[c];
    }
  }
}

__global__ void bn_apply(BnLayout l, const float* __restrict__ x, const float* __restrict__ scale, const float* __restrict__ shift,
                         float* __restrict__ y) {
  RAVDL_GRID_STRIDE(i, l.n * l.c * l.s) {
    const int64_t c = (i / l.s) % l.c;
    y[i] = x[i] * scale[c] + shift[c];
  }
}

// Per channel: sum(dy), sum(dy * (x - mean)) * invstd -> grad_beta, grad_gamma and the two
// coefficients of grad_x (k[2c], k[2c + 1]).
__global__ void __launch_bounds__(kNormThreads) bn_backward_stats(BnLayout l, const float* __restrict__ gy, const float* __restrict__ x,
                                                                  const float* __restrict__ mean, const float* __restrict__ invstd,
                                                                  float* __restrict__ gg, float* __restrict__ gb, float* __restrict__ k) {
  const int64_t count = l.n * l.s;
  for (int64_t c = blockIdx.x; c < l.c; c += gridDim.x) {
    const float m = mean[c];
    double s_dy = 0, s_dyx = 0;
    for (int64_t i = threadIdx.x; i < count; i += blockDim.x) {
      const int64_t off = ((i / l.s) * l.c + c) * l.s + i % l.s;
      const float dy = gy[off];
      s_dy += dy;
      s_dyx += static_cast<double>(dy) * (x[off] - m);
    }
    block_sum2(s_dy, s_dyx);
    if (threadIdx.x == 0) {
      const float is = invstd[c];
      s_dyx *= is;
      if (gb) gb[c] = static_cast<float>(s_dy);
      if (gg) gg[c] = static_cast<float>(s_dyx);
      k[2 * c] = static_cast<float>(s_dy / count);
      k[2 * c + 1] = static_cast<float>(s_dyx / count);
    }
  }
}

__global__ void bn_backward_apply(BnLayout l, bool training, const float* __restrict__ gy, const float* __restrict__ x,
                                  const float* __restrict__ gamma, const float* __restrict__ mean, const float* __restrict__ invstd,
                                  const float* __restrict__ k, float* __restrict__ gx) {
  RAVDL_GRID_STRIDE(i, l.n * l.c * l.s) {
    const int64_t c = (i / l.s) % l.c;
    const float is = invstd[c], m = mean[c];
    const float sc = (gamma ? gamma[c] : 1.f) * is;
    if (!training) {
      gx[i] = gy[i] * sc;
    } else {
      const float a = k[2 * c], b = k[2 * c + 1] * is;
      gx[i] = sc * (gy[i] - a - (x[i] - m) * b);
    }
  }
}

// ---- layer norm: x as [M rows][D] ----
__global__ void __launch_bounds__(kNormThreads) ln_forward(int64_t M, int64_t D, double eps, const float* __restrict__ x,
                                                           const float* __restrict__ w, const float* __restrict__ b, float* __restrict__ y,
                                                           float* __restrict__ mean, float* __restrict__ rstd) {
  for (int64_t r = blockIdx.x; r < M; r += gridDim.x) {
    const float* xr = x + r * D;
    float* yr = y + r * D;
    double s = 0, unused = 0;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) s += xr[j];
    block_sum2(s, unused);
    const float m = static_cast<float>(s / D);
    double v = 0;
    unused = 0;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) v += static_cast<double>(xr[j] - m) * (xr[j] - m);
    block_sum2(v, unused);
    const float rs = static_cast<float>(1.0 / sqrt(v / D + eps));
    if (threadIdx.x == 0) {
      if (mean) mean[r] = m;
      if (rstd) rstd[r] = rs;
    }
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      const float h = (xr[j] - m) * rs;
      yr[j] = (w ? h * w[j] : h) + (b ? b[j] : 0.f);
    }
  }
}

__global__ void __launch_bounds__(kNormThreads) ln_backward_x(int64_t M, int64_t D, const float* __restrict__ gy, const float* __restrict__ x,
                                                              const float* __restrict__ mean, const float* __restrict__ rstd,
                                                              const float* __restrict__ w, float* __restrict__ gx) {
  for (int64_t r = blockIdx.x; r < M; r += gridDim.x) {
    const float *dy = gy + r * D, *xr = x + r * D;
    float* out = gx + r * D;
    const float m = mean[r], rs = rstd[r];
    double s1 = 0, s2 = 0;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      const float gj = w ? dy[j] * w[j] : dy[j];
      s1 += gj;
      s2 += gj * ((xr[j] - m) * rs);
    }
    block_sum2(s1, s2);
    const float a = static_cast<float>(s1 / D), c = static_cast<float>(s2 / D);
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      const float gj = w ? dy[j] * w[j] : dy[j];
      out[j] = rs * (gj - a - (xr[j] - m) * rs * c);
    }
  }
}

// grad_weight / grad_bias: one thread per column, rows summed in order in double.
__global__ void ln_backward_wb(int64_t M, int64_t D, const float* __restrict__ gy, const float* __restrict__ x, const float* __restrict__ mean,
                               const float* __restrict__ rstd, float* __restrict__ gw, float* __restrict__ gb) {
  RAVDL_GRID_STRIDE(j, D) {
    double sw = 0, sb = 0;
    for (int64_t r = 0; r < M; r++) {
      const float dy = gy[r * D + j];
      sw += dy * ((x[r * D + j] - mean[r]) * rstd[r]);
      sb += dy;
    }
    if (gw) gw[j] = static_cast<float>(sw);
    if (gb) gb[j] = static_cast<float>(sb);
  }
}

const float* opt_in(const Call& c, size_t i, const std::vector<int64_t>& shape, const char* name) {
  if (!c.present(i)) return nullptr;
  expect_dtype(c, c.in[i], kF32, name);
  expect_shape(c, c.in[i], shape, name);
  return c.in[i].f();
}
float* opt_out(const Call& c, size_t i, const std::vector<int64_t>& shape, const char* name) {
  if (!c.present_out(i) || c.out[i].numel() == 0) return nullptr;
  expect_dtype(c, c.out[i], kF32, name);
  expect_shape(c, c.out[i], shape, name);
  return c.out[i].fw();
}

BnLayout bn_layout(const Call& c, const Desc& x) {
  if (x.rank() < 2 || x.rank() > 4) fail(kShape, c.op + ": x must be (N, C), (N, C, L) or (N, C, H, W), got " + shape_str(x.shape));
  BnLayout l{x.shape[0], x.shape[1], 1};
  for (int64_t d = 2; d < x.rank(); d++) l.s *= x.shape[d];
  return l;
}

unsigned blocks_of(int64_t n) { return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(n, 65536))); }

// Rows and row length of layer norm's x over normalized_shape.
void ln_rows(const Call& c, const Desc& x, const std::vector<int64_t>& ns, int64_t& M, int64_t& D) {
  if (ns.size() > x.shape.size() || !std::equal(ns.begin(), ns.end(), x.shape.end() - ns.size()))
    fail(kShape, c.op + ": normalized_shape " + shape_str(ns) + " must be the trailing dims of x " + shape_str(x.shape));
  D = 1;
  for (auto d : ns) D *= d;
  M = D > 0 ? x.numel() / D : 0;
}

std::vector<int64_t> ln_stat_shape(const Desc& x, const std::vector<int64_t>& ns) {
  return std::vector<int64_t>(x.shape.begin(), x.shape.end() - ns.size());
}

}  // namespace

// batch_norm: (x, weight?, bias?, running_mean?, running_var?) -> [y, save_mean, save_invstd,
// new_running_mean, new_running_var]; attrs training (default false), momentum, eps.
void launch_batch_norm(const Call& c) {
  expect_io(c, 1, 5, 5);
  const Desc& x = c.in[0];
  expect_dtype(c, x, kF32, "x");
  const BnLayout l = bn_layout(c, x);
  const std::vector<int64_t> C = {l.c};
  const bool training = c.flag("training", false);
  const double momentum = c.num("momentum", 0.1), eps = c.num("eps", 1e-5);
  if (!(momentum >= 0 && momentum <= 1)) fail(kAttr, "batch_norm: momentum must be in [0, 1]");
  if (!(eps > 0)) fail(kAttr, "batch_norm: eps must be > 0");
  const float* gamma = opt_in(c, 1, C, "weight");
  const float* beta = opt_in(c, 2, C, "bias");
  const float* rm_in = opt_in(c, 3, C, "running_mean");
  const float* rv_in = opt_in(c, 4, C, "running_var");
  if (!rm_in != !rv_in) fail(kArg, "batch_norm: running_mean and running_var must be given together (or both null)");
  if (!training && !rm_in) fail(kArg, "batch_norm: training=false needs running_mean and running_var");
  if (training && l.n * l.s == 1) fail(kShape, "batch_norm: training needs more than 1 value per channel, x is " + shape_str(x.shape));
  expect_dtype(c, c.out[0], kF32, "y");
  expect_shape(c, c.out[0], x.shape, "y");
  const bool empty = x.numel() == 0;
  const std::vector<int64_t> stat = empty ? std::vector<int64_t>{0} : C;
  float* save_mean = opt_out(c, 1, stat, "save_mean");
  float* save_invstd = opt_out(c, 2, stat, "save_invstd");
  float* rm = rm_in ? opt_out(c, 3, C, "new_running_mean") : nullptr;
  float* rv = rv_in ? opt_out(c, 4, C, "new_running_var") : nullptr;
  if (rm_in && (!rm || !rv)) fail(kArg, "batch_norm: new_running_mean and new_running_var outputs are required with running stats");
  cudaStream_t s = stream_of(c.dev);
  const size_t cbytes = static_cast<size_t>(l.c) * sizeof(float);
  if (rm_in && rm != rm_in) check_cuda(cudaMemcpyAsync(rm, rm_in, cbytes, cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync");
  if (rv_in && rv != rv_in) check_cuda(cudaMemcpyAsync(rv, rv_in, cbytes, cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync");
  if (empty) return;  // nothing to normalize, running stats unchanged
  Scratch ss(c.dev, 2 * cbytes);
  float* scale = ss.as<float>();
  float* shift = scale + l.c;
  bn_stats<<<blocks_of(l.c), kNormThreads, 0, s>>>(l, training, momentum, eps, x.f(), gamma, beta, rm, rv, save_mean, save_invstd, scale,
                                                   shift);
  bn_apply<<<grid_for(x.numel()), kThreads, 0, s>>>(l, x.f(), scale, shift, c.out[0].fw());
}

// batch_norm_backward: (gy, x, weight?, save_mean, save_invstd) -> [gx, gweight, gbias];
// attr training.
void launch_batch_norm_backward(const Call& c) {
  expect_io(c, 5, 5, 3, 1u << 2);  // weight is optional
  const Desc &gy = c.in[0], &x = c.in[1];
  expect_dtype(c, x, kF32, "x");
  expect_dtype(c, gy, kF32, "gy");
  expect_shape(c, gy, x.shape, "gy");
  const BnLayout l = bn_layout(c, x);
  const std::vector<int64_t> C = {l.c};
  const bool training = c.flag("training", false);
  const float* gamma = opt_in(c, 2, C, "weight");
  const bool empty = x.numel() == 0;
  const std::vector<int64_t> stat = empty ? std::vector<int64_t>{0} : C;
  const float* mean = opt_in(c, 3, stat, "save_mean");
  const float* invstd = opt_in(c, 4, stat, "save_invstd");
  float* gx = opt_out(c, 0, x.shape, "gx");
  float* gg = opt_out(c, 1, C, "gweight");
  float* gb = opt_out(c, 2, C, "gbias");
  cudaStream_t s = stream_of(c.dev);
  if (empty) {
    if (gg) check_cuda(cudaMemsetAsync(gg, 0, static_cast<size_t>(l.c) * sizeof(float), s), "cudaMemsetAsync");
    if (gb) check_cuda(cudaMemsetAsync(gb, 0, static_cast<size_t>(l.c) * sizeof(float), s), "cudaMemsetAsync");
    return;
  }
  Scratch k(c.dev, static_cast<size_t>(2 * l.c) * sizeof(float));
  bn_backward_stats<<<blocks_of(l.c), kNormThreads, 0, s>>>(l, gy.f(), x.f(), mean, invstd, gg, gb, k.as<float>());
  if (gx) bn_backward_apply<<<grid_for(x.numel()), kThreads, 0, s>>>(l, training, gy.f(), x.f(), gamma, mean, invstd, k.as<float>(), gx);
}

// layer_norm: (x, weight?, bias?) -> [y, mean, rstd]; attrs normalized_shape, eps.
void launch_layer_norm(const Call& c) {
  expect_io(c, 1, 3, 3);
  const Desc& x = c.in[0];
  expect_dtype(c, x, kF32, "x");
  const auto ns = c.ints("normalized_shape");
  const double eps = c.num("eps", 1e-5);
  if (!(eps > 0)) fail(kAttr, "layer_norm: eps must be > 0");
  int64_t M, D;
  ln_rows(c, x, ns, M, D);
  const float* w = opt_in(c, 1, ns, "weight");
  const float* b = opt_in(c, 2, ns, "bias");
  expect_dtype(c, c.out[0], kF32, "y");
  expect_shape(c, c.out[0], x.shape, "y");
  const auto stat = ln_stat_shape(x, ns);
  float* mean = opt_out(c, 1, stat, "mean");
  float* rstd = opt_out(c, 2, stat, "rstd");
  if (M == 0 || D == 0) return;
  ln_forward<<<blocks_of(M), kNormThreads, 0, stream_of(c.dev)>>>(M, D, eps, x.f(), w, b, c.out[0].fw(), mean, rstd);
}

// layer_norm_backward: (gy, x, mean, rstd, weight?) -> [gx, gweight, gbias]; attr normalized_shape.
void launch_layer_norm_backward(const Call& c) {
  expect_io(c, 4, 5, 3);
  const Desc &gy = c.in[0], &x = c.in[1];
  expect_dtype(c, x, kF32, "x");
  expect_dtype(c, gy, kF32, "gy");
  expect_shape(c, gy, x.shape, "gy");
  const auto ns = c.ints("normalized_shape");
  int64_t M, D;
  ln_rows(c, x, ns, M, D);
  const auto stat = ln_stat_shape(x, ns);
  const float* mean = opt_in(c, 2, stat, "mean");
  const float* rstd = opt_in(c, 3, stat, "rstd");
  const float* w = opt_in(c, 4, ns, "weight");
  float* gx = opt_out(c, 0, x.shape, "gx");
  float* gw = opt_out(c, 1, ns, "gweight");
  float* gb = opt_out(c, 2, ns, "gbias");
  cudaStream_t s = stream_of(c.dev);
  if (D == 0) return;
  if (gw || gb) ln_backward_wb<<<grid_for(D), kThreads, 0, s>>>(M, D, gy.f(), x.f(), mean, rstd, gw, gb);
  if (gx && M > 0) ln_backward_x<<<blocks_of(M), kNormThreads, 0, s>>>(M, D, gy.f(), x.f(), mean, rstd, w, gx);
}

}  // namespace ravdl_cuda

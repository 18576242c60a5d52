// Philox4x32-10 on the GPU with the CPU's stream layout (random.h): element i takes word i % 4
// of the block for counter offset + i / 4 (counter low/high 32 bits in words 0/1, words 2/3
// zero), key = the 64-bit seed. So dropout masks and uniform values match the CPU bit for bit.
#include <cmath>

#include "common.cuh"

namespace ravdl_cuda {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

__device__ __forceinline__ uint4 philox(uint64_t seed, uint64_t ctr) {
  uint32_t c0 = static_cast<uint32_t>(ctr), c1 = static_cast<uint32_t>(ctr >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
#pragma unroll
  for (int r = 0; r < 10; r++) {
    const uint32_t hi0 = __umulhi(kMul0, c0), lo0 = kMul0 * c0;
    const uint32_t hi1 = __umulhi(kMul1, c2), lo1 = kMul1 * c2;
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c1 = lo1;
    c3 = lo0;
    c0 = n0;
    c2 = n2;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return make_uint4(c0, c1, c2, c3);
}

__device__ __forceinline__ uint32_t word(const uint4& w, int j) { return j == 0 ? w.x : j == 1 ? w.y : j == 2 ? w.z : w.w; }

// One thread per counter (4 elements).
__global__ void dropout_kernel(int64_t n, uint64_t seed, uint64_t offset, uint32_t threshold, bool drop_all, float scale,
                               const float* __restrict__ x, float* __restrict__ y, float* __restrict__ mask) {
  RAVDL_GRID_STRIDE(q, (n + 3) / 4) {
    const uint4 w = philox(seed, offset + static_cast<uint64_t>(q));
    for (int j = 0; j < 4; j++) {
      const int64_t i = q * 4 + j;
      if (i >= n) break;
      const bool keep = word(w, j) >= threshold && !drop_all;
      const float m = keep ? scale : 0.0f;
      y[i] = x[i] * m;  // x * 0 keeps NaN like torch
      if (mask) mask[i] = m;
    }
  }
}

__global__ void copy_fill(int64_t n, const float* __restrict__ x, float* __restrict__ y, float* __restrict__ mask) {
  RAVDL_GRID_STRIDE(i, n) {
    y[i] = x[i];
    if (mask) mask[i] = 1.0f;
  }
}

__global__ void uniform_kernel(int64_t n, uint64_t seed, uint64_t offset, double low, double span, float below_high, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(q, (n + 3) / 4) {
    const uint4 w = philox(seed, offset + static_cast<uint64_t>(q));
    for (int j = 0; j < 4; j++) {
      const int64_t i = q * 4 + j;
      if (i >= n) break;
      const double u = static_cast<double>(static_cast<int32_t>(word(w, j) >> 8)) * (1.0 / 16777216.0);
      const float v = static_cast<float>(__dadd_rn(low, __dmul_rn(span, u)));  // no FMA: the CPU's rounding
      y[i] = v > below_high ? below_high : v;
    }
  }
}

// ---- normal: Box-Muller exactly as the CPU (random.cpp: log_unit, sincos_turns), every float
// operation rounded separately, so the values match bit for bit.
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }

__device__ float log_unit(float u) {
  uint32_t bits = __float_as_uint(u);
  int32_t e = static_cast<int32_t>(bits >> 23) - 127;
  uint32_t mbits = (bits & 0x7fffffu) | 0x3f800000u;
  const uint32_t big = mbits > 0x3fb504f3u ? 1u : 0u;
  mbits -= big << 23;
  e += static_cast<int32_t>(big);
  const float m = __uint_as_float(mbits);
  const float t = __fdiv_rn(__fsub_rn(m, 1.0f), add(m, 1.0f)), t2 = mul(t, t);
  float p = 2.0f / 9;
  p = add(2.0f / 7, mul(t2, p));
  p = add(2.0f / 5, mul(t2, p));
  p = add(2.0f / 3, mul(t2, p));
  p = mul(t, add(2.0f, mul(t2, p)));
  return add(mul(static_cast<float>(e), 0.693147180559945309f), p);
}

__device__ void sincos_turns(uint32_t word, float& sn, float& cs) {
  const int32_t i = static_cast<int32_t>(word >> 8);
  const int32_t q = ((i + (1 << 21)) >> 22) & 3;
  const int32_t rem = i - (((i + (1 << 21)) >> 22) << 22);
  const float x = mul(static_cast<float>(rem), 6.28318530717958647692f / 16777216.0f);
  const float x2 = mul(x, x);
  float sp = 1.0f / 362880;
  sp = add(-1.0f / 5040, mul(x2, sp));
  sp = add(1.0f / 120, mul(x2, sp));
  sp = add(-1.0f / 6, mul(x2, sp));
  const float s = mul(x, add(1.0f, mul(x2, sp)));
  float cp = 1.0f / 40320;
  cp = add(-1.0f / 720, mul(x2, cp));
  cp = add(1.0f / 24, mul(x2, cp));
  cp = add(-0.5f, mul(x2, cp));
  const float c = add(1.0f, mul(x2, cp));
  const float ns = -s, sign = (q & 2) ? -1.0f : 1.0f;
  sn = mul(sign, (q & 1) ? c : s);
  cs = mul(sign, (q & 1) ? ns : c);
}

// One thread per counter: words (0, 1) give elements 4q (cos) and 4q + 1 (sin), words (2, 3)
// elements 4q + 2 and 4q + 3.
__global__ void normal_kernel(int64_t n, uint64_t seed, uint64_t offset, float mean, float sd, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(q, (n + 3) / 4) {
    const uint4 w = philox(seed, offset + static_cast<uint64_t>(q));
    for (int pair = 0; pair < 2; pair++) {
      const uint32_t w1 = pair ? w.z : w.x, w2 = pair ? w.w : w.y;
      const float u1 = mul(static_cast<float>(static_cast<int32_t>(w1 >> 8) + 1), 1.0f / 16777216.0f);
      const float r = __fsqrt_rn(mul(-2.0f, log_unit(u1)));
      float sn, cs;
      sincos_turns(w2, sn, cs);
      const int64_t i = q * 4 + pair * 2;
      if (i < n) y[i] = add(mean, mul(sd, mul(r, cs)));
      if (i + 1 < n) y[i + 1] = add(mean, mul(sd, mul(r, sn)));
    }
  }
}

void seed_offset(const Call& c, int64_t& seed, int64_t& offset) {
  if (!c.has("seed") || !c.has("offset")) fail(kAttr, c.op + ": attributes 'seed' and 'offset' are required");
  seed = c.integer("seed", 0);
  offset = c.integer("offset", 0);
  if (seed < 0 || offset < 0) fail(kAttr, c.op + ": seed and offset must be non-negative integers");
}

}  // namespace

// dropout: x -> [y, mask (0 or 1/(1-p), float32)]; attrs p, training, seed, offset.
void launch_dropout(const Call& c) {
  expect_io(c, 1, 1, 2);
  const Desc &x = c.in[0], &y = c.out[0], &mask = c.out[1];
  expect_dtype(c, x, kF32, "x");
  expect_dtype(c, y, kF32, "y");
  expect_dtype(c, mask, kF32, "mask");
  expect_shape(c, y, x.shape, "y");
  expect_shape(c, mask, x.shape, "mask");
  const double p = c.num("p", 0.5);
  if (!(p >= 0.0 && p <= 1.0)) fail(kAttr, "dropout: p must be in [0, 1], got " + std::to_string(p));
  int64_t seed, offset;
  seed_offset(c, seed, offset);
  const int64_t n = x.numel();
  if (n == 0) return;
  cudaStream_t s = stream_of(c.dev);
  if (!c.flag("training", true) || p == 0) {
    copy_fill<<<grid_for(n), kThreads, 0, s>>>(n, x.f(), y.fw(), mask.fw());
    return;
  }
  // Keep element i when its word w >= ceil(p * 2^32) (probability 1 - p); p = 1 drops all.
  const double t = std::ceil(p * 4294967296.0);
  const bool drop_all = t >= 4294967296.0;
  const float scale = p < 1.0 ? static_cast<float>(1.0 / (1.0 - p)) : 0.0f;
  dropout_kernel<<<grid_for((n + 3) / 4), kThreads, 0, s>>>(n, static_cast<uint64_t>(seed), static_cast<uint64_t>(offset),
                                                            drop_all ? 0u : static_cast<uint32_t>(t), drop_all, scale, x.f(), y.fw(), mask.fw());
}

// uniform: () -> values in [a, b) (attrs a, b, seed, offset; the output's shape).
void launch_uniform(const Call& c) {
  expect_io(c, 0, 0, 1);
  const Desc& y = c.out[0];
  expect_dtype(c, y, kF32, "output");
  const double low = c.num("a", 0), high = c.num("b", 1);
  if (!std::isfinite(low) || !std::isfinite(high) || low > high) fail(kAttr, "uniform: need finite a <= b");
  int64_t seed, offset;
  seed_offset(c, seed, offset);
  const int64_t n = y.numel();
  if (n == 0) return;
  const float lo = static_cast<float>(low), hi = static_cast<float>(high);
  const float below_high = lo < hi ? std::nextafter(hi, lo) : lo;
  uniform_kernel<<<grid_for((n + 3) / 4), kThreads, 0, stream_of(c.dev)>>>(n, static_cast<uint64_t>(seed), static_cast<uint64_t>(offset), low,
                                                                           high - low, below_high, y.fw());
}

// normal: () -> values with mean a and standard deviation b (attrs a, b, seed, offset).
void launch_normal(const Call& c) {
  expect_io(c, 0, 0, 1);
  const Desc& y = c.out[0];
  expect_dtype(c, y, kF32, "output");
  const double mean = c.num("a", 0), sd = c.num("b", 1);
  if (!std::isfinite(mean) || !std::isfinite(sd) || sd < 0) fail(kAttr, "normal: need finite a (mean) and b (std) >= 0");
  int64_t seed, offset;
  seed_offset(c, seed, offset);
  const int64_t n = y.numel();
  if (n == 0) return;
  normal_kernel<<<grid_for((n + 3) / 4), kThreads, 0, stream_of(c.dev)>>>(n, static_cast<uint64_t>(seed), static_cast<uint64_t>(offset),
                                                                          static_cast<float>(mean), static_cast<float>(sd), y.fw());
}

}  // namespace ravdl_cuda

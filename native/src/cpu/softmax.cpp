// Softmax, log-softmax and softmin along any axis, forward and backward.
// The tensor is seen as (outer, K, inner) with K the softmax axis. inner == 1 walks contiguous
// rows; inner > 1 processes blocks of up to kBlock columns so that every pass is contiguous.
#include <algorithm>
#include <cmath>

#include "ravdl/parallel.h"
#include "ravdl/softmax.h"

namespace ravdl {
namespace {

using detail::exp_approx;

constexpr int64_t kLanes = 16;   // independent accumulators so that reductions vectorize
constexpr int64_t kBlock = 256;  // columns per block on inner axes
constexpr int64_t kWork = 32768; // elements per parallel chunk (~20-50 us)

const char* op_name(SoftmaxKind k, bool backward) {
  switch (k) {
    case SoftmaxKind::Softmax: return backward ? "softmax_backward" : "softmax";
    case SoftmaxKind::LogSoftmax: return backward ? "log_softmax_backward" : "log_softmax";
    case SoftmaxKind::Softmin: return backward ? "softmin_backward" : "softmin";
  }
  return "softmax";
}

struct Dims {
  int64_t outer = 1, k = 1, inner = 1;
};

Dims split(const char* op, const Shape& shape, int64_t axis) {
  int64_t rank = static_cast<int64_t>(shape.size());
  // A scalar is treated as a single slice of one element (axis 0 or -1), like PyTorch.
  if (rank == 0) {
    normalize_axis(op, axis, 1);
    return {};
  }
  int64_t a = normalize_axis(op, axis, rank);
  Dims d;
  for (int64_t i = 0; i < a; ++i) d.outer *= shape[i];
  d.k = shape[a];
  for (int64_t i = a + 1; i < rank; ++i) d.inner *= shape[i];
  return d;
}

float row_max_portable(const float* z, int64_t n, float sgn) {
  float acc[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) acc[l] = -INFINITY;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) {
      float v = sgn * z[i + l];
      acc[l] = acc[l] > v ? acc[l] : v;
    }
  float m = -INFINITY;
  for (; i < n; ++i) m = std::max(m, sgn * z[i]);
  for (int64_t l = 0; l < kLanes; ++l) m = std::max(m, acc[l]);
  return m;
}

// Sum of exp(sgn*z - m); stores the exps in `out` when Store (no branch in the loop).
template <bool Store>
float row_expsum_portable(const float* z, int64_t n, float sgn, float m, float* out) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) {
      float e = exp_approx(sgn * z[i + l] - m);
      if constexpr (Store) out[i + l] = e;
      acc[l] += e;
    }
  float s = 0.f;
  for (; i < n; ++i) {
    float e = exp_approx(sgn * z[i] - m);
    if constexpr (Store) out[i] = e;
    s += e;
  }
  for (int64_t l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

const bool kAvx512 = __builtin_cpu_supports("avx512f");

}  // namespace

namespace detail {
float row_max_avx512(const float* z, int64_t n, float sgn);
float row_expsum_avx512(const float* z, int64_t n, float sgn, float m, float* out);
void exp_sub_accumulate_avx512(const float* z, const float* m, int64_t w, float sgn, float* out,
                               float* acc);

float row_max(const float* z, int64_t n, float sgn) {
  return kAvx512 ? row_max_avx512(z, n, sgn) : row_max_portable(z, n, sgn);
}
float row_expsum(const float* z, int64_t n, float sgn, float m, float* out) {
  if (kAvx512) return row_expsum_avx512(z, n, sgn, m, out);
  return out ? row_expsum_portable<true>(z, n, sgn, m, out)
             : row_expsum_portable<false>(z, n, sgn, m, nullptr);
}
}  // namespace detail

namespace {
using detail::row_expsum;

// out[j] = exp(sgn*z[j] - m[j]) (unless out is null); acc[j] += that. One row of a tile.
void exp_sub_accumulate(const float* z, const float* m, int64_t w, float sgn, float* out,
                        float* acc) {
  if (kAvx512) return detail::exp_sub_accumulate_avx512(z, m, w, sgn, out, acc);
  for (int64_t j = 0; j < w; ++j) {
    float e = exp_approx(sgn * z[j] - m[j]);
    if (out) out[j] = e;
    acc[j] += e;
  }
}

using detail::row_max;

float row_dot(const float* a, const float* b, int64_t n) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) acc[l] += a[i + l] * b[i + l];
  float s = 0.f;
  for (; i < n; ++i) s += a[i] * b[i];
  for (int64_t l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

float row_sum(const float* a, int64_t n) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) acc[l] += a[i + l];
  float s = 0.f;
  for (; i < n; ++i) s += a[i];
  for (int64_t l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

void forward_row(SoftmaxKind kind, const float* x, float* y, int64_t n) {
  float sgn = kind == SoftmaxKind::Softmin ? -1.f : 1.f;
  float m = row_max(x, n, sgn);
  if (kind == SoftmaxKind::LogSoftmax) {
    // (x - m) - log(sum) keeps the precision of small log-probs of large logits.
    float ls = std::log(row_expsum(x, n, 1.f, m, nullptr));
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - ls;
    return;
  }
  float inv = 1.f / row_expsum(x, n, sgn, m, y);
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

// One (outer index, column block) tile of K x w values at row stride `ld`.
void forward_tile(SoftmaxKind kind, const float* x, float* y, int64_t k, int64_t w, int64_t ld) {
  float sgn = kind == SoftmaxKind::Softmin ? -1.f : 1.f;
  float mx[kBlock], sm[kBlock];
  for (int64_t j = 0; j < w; ++j) mx[j] = sgn * x[j];
  for (int64_t r = 1; r < k; ++r) {
    const float* xr = x + r * ld;
    for (int64_t j = 0; j < w; ++j) {
      float v = sgn * xr[j];
      mx[j] = mx[j] > v ? mx[j] : v;
    }
  }
  for (int64_t j = 0; j < w; ++j) sm[j] = 0.f;
  bool log = kind == SoftmaxKind::LogSoftmax;
  for (int64_t r = 0; r < k; ++r) exp_sub_accumulate(x + r * ld, mx, w, sgn, log ? nullptr : y + r * ld, sm);
  if (log) {
    for (int64_t j = 0; j < w; ++j) sm[j] = std::log(sm[j]);
    for (int64_t r = 0; r < k; ++r)
      for (int64_t j = 0; j < w; ++j) y[r * ld + j] = (x[r * ld + j] - mx[j]) - sm[j];
  } else {
    for (int64_t j = 0; j < w; ++j) sm[j] = 1.f / sm[j];
    for (int64_t r = 0; r < k; ++r)
      for (int64_t j = 0; j < w; ++j) y[r * ld + j] *= sm[j];
  }
}

void backward_row(SoftmaxKind kind, const float* y, const float* g, float* gx, int64_t n) {
  if (kind == SoftmaxKind::LogSoftmax) {
    float s = row_sum(g, n);
    for (int64_t i = 0; i < n; ++i) gx[i] = g[i] - exp_approx(y[i]) * s;
    return;
  }
  float sgn = kind == SoftmaxKind::Softmin ? -1.f : 1.f;
  float dot = row_dot(y, g, n);
  for (int64_t i = 0; i < n; ++i) gx[i] = sgn * y[i] * (g[i] - dot);
}

void backward_tile(SoftmaxKind kind, const float* y, const float* g, float* gx, int64_t k,
                   int64_t w, int64_t ld) {
  bool log = kind == SoftmaxKind::LogSoftmax;
  float sgn = kind == SoftmaxKind::Softmin ? -1.f : 1.f;
  float acc[kBlock];
  for (int64_t j = 0; j < w; ++j) acc[j] = 0.f;
  for (int64_t r = 0; r < k; ++r)
    for (int64_t j = 0; j < w; ++j) acc[j] += log ? g[r * ld + j] : g[r * ld + j] * y[r * ld + j];
  for (int64_t r = 0; r < k; ++r)
    for (int64_t j = 0; j < w; ++j) {
      int64_t p = r * ld + j;
      gx[p] = log ? g[p] - exp_approx(y[p]) * acc[j] : sgn * y[p] * (g[p] - acc[j]);
    }
}

// Runs fn(ptr offset, width) over every tile, in parallel.
template <class F>
void for_tiles(const Dims& d, const F& fn) {
  if (d.inner == 1) {
    int64_t grain = std::max<int64_t>(1, kWork / std::max<int64_t>(1, d.k));
    parallel_for(d.outer, grain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) fn(o * d.k, int64_t{1});
    });
    return;
  }
  int64_t nb = (d.inner + kBlock - 1) / kBlock;
  int64_t per_tile = d.k * std::min(d.inner, kBlock);
  int64_t grain = std::max<int64_t>(1, kWork / std::max<int64_t>(1, per_tile));
  parallel_for(d.outer * nb, grain, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      int64_t o = t / nb, j0 = (t % nb) * kBlock;
      fn(o * d.k * d.inner + j0, std::min(kBlock, d.inner - j0));
    }
  });
}

}  // namespace

void softmax_forward(SoftmaxKind kind, CFView x, int64_t axis, FSpan out) {
  const char* op = op_name(kind, false);
  Dims d = split(op, x.shape, axis);
  FView y = out_view(op, "out", out, x.shape);
  detail::check_same_or_disjoint(op, "out", y.data, out.size, "x", x.data, out.size);
  if (x.numel() == 0) return;
  if (d.inner == 1) {
    for_tiles(d, [&](int64_t off, int64_t) { forward_row(kind, x.data + off, y.data + off, d.k); });
  } else {
    for_tiles(d, [&](int64_t off, int64_t w) {
      forward_tile(kind, x.data + off, y.data + off, d.k, w, d.inner);
    });
  }
}

void softmax_backward(SoftmaxKind kind, CFView y, Span<const float> grad_out, int64_t axis,
                      FSpan grad_x) {
  const char* op = op_name(kind, true);
  Dims d = split(op, y.shape, axis);
  CFView g = view(op, "grad_out", grad_out.data, grad_out.size, y.shape);
  FView gx = out_view(op, "grad_x", grad_x, y.shape);
  size_t n = grad_x.size;
  detail::check_same_or_disjoint(op, "grad_x", gx.data, n, "y", y.data, n);
  detail::check_same_or_disjoint(op, "grad_x", gx.data, n, "grad_out", g.data, n);
  if (n == 0) return;
  if (d.inner == 1) {
    for_tiles(d, [&](int64_t off, int64_t) {
      backward_row(kind, y.data + off, g.data + off, gx.data + off, d.k);
    });
  } else {
    for_tiles(d, [&](int64_t off, int64_t w) {
      backward_tile(kind, y.data + off, g.data + off, gx.data + off, d.k, w, d.inner);
    });
  }
}

}  // namespace ravdl

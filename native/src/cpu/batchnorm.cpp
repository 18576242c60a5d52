// Batch normalization over dim 1 of (N, C), (N, C, L) or (N, C, H, W), forward and backward.
// The tensor is seen as (N, C, S). Channels are split across threads; each thread walks n, then
// its channels, then S, so both S == 1 (rows of C) and large S read memory contiguously.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ravdl/norm.h"
#include "ravdl/parallel.h"

namespace ravdl {
namespace {

struct Layout {
  int64_t n = 0, c = 0, s = 1;
};

Layout layout(const char* op, const Shape& shape) {
  if (shape.size() < 2 || shape.size() > 4)
    fail(ErrorCode::Shape, op, ": x must be (N, C), (N, C, L) or (N, C, H, W), got ",
         shape_str(shape));
  Layout l{shape[0], shape[1], 1};
  for (size_t i = 2; i < shape.size(); ++i) l.s *= shape[i];
  return l;
}

template <class T>
Span<T> need_c(const char* op, const char* name, std::optional<Span<T>> v, int64_t c) {
  if (!v) return {};
  if (static_cast<int64_t>(v->size) != c)
    fail(ErrorCode::Shape, op, ": ", name, " has ", v->size, " elements but x has ", c,
         " channels");
  return *v;
}

template <class T>
void need_c(const char* op, const char* name, Span<T> v, int64_t c) {
  need_c(op, name, std::optional<Span<T>>(v), c);
}

double sum_row(const float* p, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += p[i + l];
  double s = 0;
  for (; i < n; ++i) s += p[i];
  for (int l = 0; l < 16; ++l) s += acc[l];
  return s;
}

double sqdev_row(const float* p, int64_t n, float m) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) {
      float d = p[i + l] - m;
      acc[l] += d * d;
    }
  double s = 0;
  for (; i < n; ++i) s += double(p[i] - m) * (p[i] - m);
  for (int l = 0; l < 16; ++l) s += acc[l];
  return s;
}

// Channel chunks of about 32K elements of work each.
int64_t channel_grain(const Layout& l) {
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, l.n * l.s));
}

}  // namespace

void batch_norm_forward(CFView x, OptCF gamma, OptCF beta, OptF running_mean, OptF running_var,
                        FSpan out, OptF save_mean, OptF save_invstd, const BatchNormAttrs& a) {
  const char* op = "batch_norm";
  Layout l = layout(op, x.shape);
  Span<const float> g = need_c(op, "gamma", gamma, l.c), b = need_c(op, "beta", beta, l.c);
  Span<float> rm = need_c(op, "running_mean", running_mean, l.c);
  Span<float> rv = need_c(op, "running_var", running_var, l.c);
  Span<float> sm = need_c(op, "save_mean", save_mean, l.c);
  Span<float> si = need_c(op, "save_invstd", save_invstd, l.c);
  FView y = out_view(op, "out", out, x.shape);
  if (!(a.eps > 0) || !std::isfinite(a.eps))
    fail(ErrorCode::Attr, op, ": eps must be > 0, got ", a.eps);
  if (!(a.momentum >= 0 && a.momentum <= 1))
    fail(ErrorCode::Attr, op, ": momentum must be in [0, 1], got ", a.momentum);
  if (running_mean.has_value() != running_var.has_value())
    fail(ErrorCode::Arg, op, ": running_mean and running_var must be given together");
  if (!a.training && !running_mean)
    fail(ErrorCode::Arg, op, ": inference mode (training=false) needs running_mean and running_var");
  int64_t count = l.n * l.s;
  if (a.training && count == 1)
    fail(ErrorCode::Shape, op, ": training needs more than 1 value per channel, x is ",
         shape_str(x.shape));
  size_t total = out.size;
  detail::check_same_or_disjoint(op, "out", y.data, total, "x", x.data, total);
  // Every other buffer must be disjoint from x/out and from each other where written.
  for (auto* p : {rm.data, rv.data, sm.data, si.data}) {
    if (!p) continue;
    check_no_alias(op, "a statistics buffer", p, size_t(l.c), "x", x.data, total);
    check_no_alias(op, "a statistics buffer", p, size_t(l.c), "out", y.data, total);
  }
  if (l.c == 0) return;
  if (count == 0) {
    // An empty batch (like torch 1.13): nothing to normalize, running statistics unchanged,
    // and no statistics to save (zeros, which make the backward's sums 0).
    for (auto* p : {sm.data, si.data})
      if (p) std::fill(p, p + l.c, 0.0f);
    return;
  }

  // Per-channel scale/shift: y = x * scale[c] + shift[c].
  std::vector<float> scale(l.c), shift(l.c);
  const int64_t cs = l.c * l.s;
  parallel_for(l.c, channel_grain(l), [&](int64_t c0, int64_t c1) {
    int64_t w = c1 - c0;
    std::vector<double> acc(w, 0.0);
    std::vector<float> mean(w), invstd(w);
    if (a.training) {
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t c = c0; c < c1; ++c) acc[c - c0] += sum_row(x.data + n * cs + c * l.s, l.s);
      for (int64_t j = 0; j < w; ++j) mean[j] = float(acc[j] / count), acc[j] = 0;
      for (int64_t n = 0; n < l.n; ++n)
        for (int64_t c = c0; c < c1; ++c)
          acc[c - c0] += sqdev_row(x.data + n * cs + c * l.s, l.s, mean[c - c0]);
      for (int64_t j = 0; j < w; ++j) {
        int64_t c = c0 + j;
        double var = acc[j] / count;
        invstd[j] = float(1.0 / std::sqrt(var + a.eps));
        if (rm.data) {
          double unbiased = acc[j] / (count - 1);
          rm.data[c] = float((1 - a.momentum) * rm.data[c] + a.momentum * mean[j]);
          rv.data[c] = float((1 - a.momentum) * rv.data[c] + a.momentum * unbiased);
        }
      }
    } else {
      for (int64_t j = 0; j < w; ++j) {
        mean[j] = rm.data[c0 + j];
        invstd[j] = float(1.0 / std::sqrt(double(rv.data[c0 + j]) + a.eps));
      }
    }
    for (int64_t j = 0; j < w; ++j) {
      int64_t c = c0 + j;
      if (sm.data) sm.data[c] = mean[j];
      if (si.data) si.data[c] = invstd[j];
      float gc = g.data ? g.data[c] : 1.f, bc = b.data ? b.data[c] : 0.f;
      scale[c] = gc * invstd[j];
      shift[c] = bc - mean[j] * scale[c];
    }
  });
  // Normalize: parallel over rows of S (n, c) pairs.
  int64_t rows = l.n * l.c;
  parallel_for(rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, l.s)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t c = r % l.c;
      const float* xr = x.data + r * l.s;
      float* yr = y.data + r * l.s;
      float sc = scale[c], sh = shift[c];
      for (int64_t i = 0; i < l.s; ++i) yr[i] = xr[i] * sc + sh;
    }
  });
}

void batch_norm_backward(CFView grad_out, CFView x, OptCF gamma, Span<const float> mean,
                         Span<const float> invstd, bool training, OptF grad_x, OptF grad_gamma,
                         OptF grad_beta) {
  const char* op = "batch_norm_backward";
  Layout l = layout(op, x.shape);
  if (grad_out.shape != x.shape)
    fail(ErrorCode::Shape, op, ": grad_out ", shape_str(grad_out.shape), " must have x's shape ",
         shape_str(x.shape));
  Span<const float> g = need_c(op, "gamma", gamma, l.c);
  need_c(op, "mean", mean, l.c);
  need_c(op, "invstd", invstd, l.c);
  Span<float> gg = need_c(op, "grad_gamma", grad_gamma, l.c);
  Span<float> gb = need_c(op, "grad_beta", grad_beta, l.c);
  size_t total = static_cast<size_t>(x.numel());
  FView gx;
  if (grad_x) {
    gx = out_view(op, "grad_x", *grad_x, x.shape);
    detail::check_same_or_disjoint(op, "grad_x", gx.data, total, "grad_out", grad_out.data, total);
    check_no_alias(op, "grad_x", gx.data, total, "x", x.data, total);
  }
  for (auto* p : {gg.data, gb.data}) {
    if (!p) continue;
    check_no_alias(op, "grad_gamma/grad_beta", p, size_t(l.c), "grad_out", grad_out.data, total);
    if (gx.data) check_no_alias(op, "grad_gamma/grad_beta", p, size_t(l.c), "grad_x", gx.data, total);
  }
  if (l.c == 0) return;
  int64_t count = l.n * l.s;
  const int64_t cs = l.c * l.s;
  if (count == 0) {  // an empty batch: grad_x is empty, grad_gamma and grad_beta are sums of nothing
    for (auto* p : {gg.data, gb.data})
      if (p) std::fill(p, p + l.c, 0.0f);
    return;
  }

  // Per channel: sum(dy) and sum(dy * xhat).
  std::vector<float> k_dy(l.c), k_dyx(l.c);
  parallel_for(l.c, channel_grain(l), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double s_dy = 0, s_dyx = 0;
      float m = mean.data[c];
      for (int64_t n = 0; n < l.n; ++n) {
        const float* dy = grad_out.data + n * cs + c * l.s;
        const float* xr = x.data + n * cs + c * l.s;
        float a1[16] = {}, a2[16] = {};
        int64_t i = 0;
        for (; i + 16 <= l.s; i += 16)
          for (int q = 0; q < 16; ++q) {
            a1[q] += dy[i + q];
            a2[q] += dy[i + q] * (xr[i + q] - m);
          }
        for (; i < l.s; ++i) s_dy += dy[i], s_dyx += double(dy[i]) * (xr[i] - m);
        for (int q = 0; q < 16; ++q) s_dy += a1[q], s_dyx += a2[q];
      }
      float is = invstd.data[c];
      s_dyx *= is;
      if (gb.data) gb.data[c] = float(s_dy);
      if (gg.data) gg.data[c] = float(s_dyx);
      k_dy[c] = float(s_dy / count);
      k_dyx[c] = float(s_dyx / count);
    }
  });
  if (!gx.data) return;
  int64_t rows = l.n * l.c;
  parallel_for(rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, l.s)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t c = r % l.c;
      const float* dy = grad_out.data + r * l.s;
      const float* xr = x.data + r * l.s;
      float* out = gx.data + r * l.s;
      float is = invstd.data[c], m = mean.data[c];
      float sc = (g.data ? g.data[c] : 1.f) * is;
      if (!training) {
        for (int64_t i = 0; i < l.s; ++i) out[i] = dy[i] * sc;
        continue;
      }
      // grad_x = gamma*invstd * (dy - mean(dy) - xhat * mean(dy * xhat))
      float a = k_dy[c], b = k_dyx[c] * is;
      for (int64_t i = 0; i < l.s; ++i) out[i] = sc * (dy[i] - a - (xr[i] - m) * b);
    }
  });
}

}  // namespace ravdl

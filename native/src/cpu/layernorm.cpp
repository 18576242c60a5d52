// Layer normalization over the trailing dims: rows of D = numel(normalized_shape) values.
// Row statistics and grad_x run parallel over rows; grad_weight / grad_bias run parallel over
// column blocks (each column sums over all rows in a fixed order, so results do not depend
// on the thread count).
#include <algorithm>
#include <cmath>
#include <vector>

#include "ravdl/norm.h"
#include "ravdl/parallel.h"

namespace ravdl {
namespace {

struct Rows {
  int64_t m = 0, d = 0;
};

Rows rows_of(const char* op, const Shape& x, const Shape& norm) {
  if (norm.empty()) fail(ErrorCode::Shape, op, ": normalized_shape must not be empty");
  if (norm.size() > x.size() || !std::equal(norm.begin(), norm.end(), x.end() - norm.size()))
    fail(ErrorCode::Shape, op, ": normalized_shape ", shape_str(norm),
         " must match the trailing dims of x ", shape_str(x));
  Rows r;
  r.d = numel(norm);
  r.m = r.d == 0 ? 0 : numel(x) / r.d;
  return r;
}

template <class T>
Span<T> need(const char* op, const char* name, std::optional<Span<T>> v, int64_t n,
             const char* what) {
  if (!v) return {};
  if (static_cast<int64_t>(v->size) != n)
    fail(ErrorCode::Shape, op, ": ", name, " has ", v->size, " elements but ", what, " needs ", n);
  return *v;
}

int64_t row_grain(int64_t d) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, d)); }

}  // namespace

void layer_norm_forward(CFView x, const Shape& normalized_shape, OptCF weight, OptCF bias,
                        FSpan out, OptF mean, OptF rstd, double eps) {
  const char* op = "layer_norm";
  Rows r = rows_of(op, x.shape, normalized_shape);
  Span<const float> w = need(op, "weight", weight, r.d, "normalized_shape");
  Span<const float> b = need(op, "bias", bias, r.d, "normalized_shape");
  Span<float> mo = need(op, "mean", mean, r.m, "one value per row");
  Span<float> ro = need(op, "rstd", rstd, r.m, "one value per row");
  FView y = out_view(op, "out", out, x.shape);
  if (!(eps > 0) || !std::isfinite(eps)) fail(ErrorCode::Attr, op, ": eps must be > 0, got ", eps);
  size_t total = out.size;
  detail::check_same_or_disjoint(op, "out", y.data, total, "x", x.data, total);
  for (auto* p : {mo.data, ro.data})
    if (p) {
      check_no_alias(op, "mean/rstd", p, size_t(r.m), "x", x.data, total);
      check_no_alias(op, "mean/rstd", p, size_t(r.m), "out", y.data, total);
    }
  if (r.m == 0) return;
  parallel_for(r.m, row_grain(r.d), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float* xr = x.data + i * r.d;
      float* yr = y.data + i * r.d;
      float a[16] = {};
      int64_t j = 0;
      double s = 0;
      for (; j + 16 <= r.d; j += 16)
        for (int q = 0; q < 16; ++q) a[q] += xr[j + q];
      for (; j < r.d; ++j) s += xr[j];
      for (int q = 0; q < 16; ++q) s += a[q], a[q] = 0;
      float m = float(s / r.d);
      double v = 0;
      for (j = 0; j + 16 <= r.d; j += 16)
        for (int q = 0; q < 16; ++q) a[q] += (xr[j + q] - m) * (xr[j + q] - m);
      for (; j < r.d; ++j) v += double(xr[j] - m) * (xr[j] - m);
      for (int q = 0; q < 16; ++q) v += a[q];
      float rs = float(1.0 / std::sqrt(v / r.d + eps));
      if (mo.data) mo.data[i] = m;
      if (ro.data) ro.data[i] = rs;
      for (j = 0; j < r.d; ++j) {
        float h = (xr[j] - m) * rs;
        yr[j] = (w.data ? h * w.data[j] : h) + (b.data ? b.data[j] : 0.f);
      }
    }
  });
}

void layer_norm_backward(CFView grad_out, CFView x, const Shape& normalized_shape,
                         Span<const float> mean, Span<const float> rstd, OptCF weight, OptF grad_x,
                         OptF grad_weight, OptF grad_bias) {
  const char* op = "layer_norm_backward";
  Rows r = rows_of(op, x.shape, normalized_shape);
  if (grad_out.shape != x.shape)
    fail(ErrorCode::Shape, op, ": grad_out ", shape_str(grad_out.shape), " must have x's shape ",
         shape_str(x.shape));
  Span<const float> w = need(op, "weight", weight, r.d, "normalized_shape");
  need(op, "mean", OptCF(mean), r.m, "one value per row");
  need(op, "rstd", OptCF(rstd), r.m, "one value per row");
  Span<float> gw = need(op, "grad_weight", grad_weight, r.d, "normalized_shape");
  Span<float> gb = need(op, "grad_bias", grad_bias, r.d, "normalized_shape");
  size_t total = static_cast<size_t>(x.numel());
  FView gx;
  if (grad_x) {
    gx = out_view(op, "grad_x", *grad_x, x.shape);
    detail::check_same_or_disjoint(op, "grad_x", gx.data, total, "grad_out", grad_out.data, total);
    check_no_alias(op, "grad_x", gx.data, total, "x", x.data, total);
  }
  for (auto* p : {gw.data, gb.data})
    if (p) {
      check_no_alias(op, "grad_weight/grad_bias", p, size_t(r.d), "grad_out", grad_out.data, total);
      if (gx.data) check_no_alias(op, "grad_weight/grad_bias", p, size_t(r.d), "grad_x", gx.data, total);
    }
  // grad_weight / grad_bias first: grad_x may overwrite grad_out in place.
  if (gw.data || gb.data) {
    int64_t grain = std::max<int64_t>(16, 32768 / std::max<int64_t>(1, r.m));
    parallel_for(r.d, grain, [&](int64_t j0, int64_t j1) {
      int64_t n = j1 - j0;
      std::vector<double> sw(n, 0.0), sb(n, 0.0);
      for (int64_t i = 0; i < r.m; ++i) {
        const float* dy = grad_out.data + i * r.d;
        const float* xr = x.data + i * r.d;
        float m = mean.data[i], rs = rstd.data[i];
        for (int64_t j = j0; j < j1; ++j) {
          sw[j - j0] += dy[j] * ((xr[j] - m) * rs);
          sb[j - j0] += dy[j];
        }
      }
      for (int64_t j = j0; j < j1; ++j) {
        if (gw.data) gw.data[j] = float(sw[j - j0]);
        if (gb.data) gb.data[j] = float(sb[j - j0]);
      }
    });
  }
  if (!gx.data || r.m == 0) return;
  parallel_for(r.m, row_grain(r.d), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float* dy = grad_out.data + i * r.d;
      const float* xr = x.data + i * r.d;
      float* out = gx.data + i * r.d;
      float m = mean.data[i], rs = rstd.data[i];
      // g = dy * w; grad_x = rstd * (g - mean(g) - xhat * mean(g * xhat))
      double s1 = 0, s2 = 0;
      for (int64_t j = 0; j < r.d; ++j) {
        float gj = w.data ? dy[j] * w.data[j] : dy[j];
        s1 += gj;
        s2 += gj * ((xr[j] - m) * rs);
      }
      float a = float(s1 / r.d), c = float(s2 / r.d);
      for (int64_t j = 0; j < r.d; ++j) {
        float gj = w.data ? dy[j] * w.data[j] : dy[j];
        out[j] = rs * (gj - a - (xr[j] - m) * rs * c);
      }
    }
  });
}

}  // namespace ravdl

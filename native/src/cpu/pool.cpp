// maxpool2d forward (with argmax indices) and backward (scatter-add by index); average pooling
// over caller-given windows, forward and backward.
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "ravdl/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ravdl/parallel.h"

namespace ravdl {
namespace {

constexpr int64_t kMaxDim = std::numeric_limits<int32_t>::max();

struct PoolGeom {
  int64_t planes, H, W, OH, OW;
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
};

void check_attr(const char* op, const char* name, int64_t v, int64_t lo) {
  if (v < lo || v > kMaxDim)
    fail(ErrorCode::Attr, op, ": ", name, " must be in [", lo, ", 2^31), got ", v);
}

// torch's pooling_output_shape: floor division rounding toward -inf, then the ceil_mode fix.
int64_t out_size(int64_t in, int64_t k, int64_t pad, int64_t s, int64_t d, bool ceil) {
  int64_t num = in + 2 * pad - d * (k - 1) - 1 + (ceil ? s - 1 : 0);
  int64_t q = num / s;
  if (num % s != 0 && num < 0) --q;
  int64_t o = q + 1;
  if (ceil && (o - 1) * s >= in + pad) --o;
  return o;
}

PoolGeom geometry(const char* op, const Shape& x, const MaxPool2dAttrs& a) {
  if (x.size() != 3 && x.size() != 4)
    fail(ErrorCode::Shape, op, ": x must be 3-D [C, H, W] or 4-D [N, C, H, W], got shape ", shape_str(x));
  numel(x);
  check_attr(op, "kernel_size[0]", a.kernel_size[0], 1);
  check_attr(op, "kernel_size[1]", a.kernel_size[1], 1);
  std::array<int64_t, 2> st = a.stride ? *a.stride : a.kernel_size;
  check_attr(op, "stride[0]", st[0], 1);
  check_attr(op, "stride[1]", st[1], 1);
  check_attr(op, "dilation[0]", a.dilation[0], 1);
  check_attr(op, "dilation[1]", a.dilation[1], 1);
  for (int i = 0; i < 2; ++i)
    if (a.padding[i] < 0 || a.padding[i] > a.kernel_size[i] / 2)
      fail(ErrorCode::Attr, op, ": padding[", i, "] must be in [0, kernel_size/2 = ", a.kernel_size[i] / 2,
           "], got ", a.padding[i]);
  PoolGeom g{};
  size_t r = x.size();
  g.H = x[r - 2], g.W = x[r - 1];
  g.planes = 1;
  for (size_t d = 0; d + 2 < r; ++d) g.planes *= x[d];
  for (size_t d = 0; d < r; ++d)
    if (x[d] > kMaxDim) fail(ErrorCode::Shape, op, ": x shape ", shape_str(x), " has a dim >= 2^31");
  if (g.H * g.W > kMaxDim)
    fail(ErrorCode::Shape, op, ": a plane of x ", shape_str(x), " has more than 2^31-1 elements (int32 indices)");
  if (g.H == 0 || g.W == 0 || x[r - 3] == 0)
    fail(ErrorCode::Shape, op, ": x ", shape_str(x), " must have non-empty C, H and W");
  g.kh = a.kernel_size[0], g.kw = a.kernel_size[1];
  g.sh = st[0], g.sw = st[1];
  g.ph = a.padding[0], g.pw = a.padding[1];
  g.dh = a.dilation[0], g.dw = a.dilation[1];
  g.OH = out_size(g.H, g.kh, g.ph, g.sh, g.dh, a.ceil_mode);
  g.OW = out_size(g.W, g.kw, g.pw, g.sw, g.dw, a.ceil_mode);
  if (g.OH < 1 || g.OW < 1)
    fail(ErrorCode::Shape, op, ": output size ", g.OH, "x", g.OW, " is too small for input ", g.H, "x", g.W,
         " with kernel ", g.kh, "x", g.kw, ", padding [", g.ph, ", ", g.pw, "], dilation [", g.dh, ", ",
         g.dw, "]");
  return g;
}

Shape pooled_shape(const Shape& x, const PoolGeom& g) {
  Shape y = x;
  y[y.size() - 2] = g.OH;
  y[y.size() - 1] = g.OW;
  return y;
}

}  // namespace

Shape maxpool2d_shape(const Shape& x, const MaxPool2dAttrs& a) {
  return pooled_shape(x, geometry("maxpool2d_shape", x, a));
}

namespace {

// The common 2x2 / stride 2 window fully inside the plane, with the general loop's rule (first
// strict maximum, a NaN replaces it) as selects over the four candidates in scan order. With
// SSE2, four outputs at a time: branches on real activations mispredict half the time.
inline void select2x2(float& best, int32_t& at, float v, int32_t pos) {
  uint32_t bb, vb;
  std::memcpy(&bb, &best, 4);
  std::memcpy(&vb, &v, 4);
  const uint32_t m = 0u - static_cast<uint32_t>((v > best) | (v != v));
  bb = (vb & m) | (bb & ~m);
  std::memcpy(&best, &bb, 4);
  at = static_cast<int32_t>((static_cast<uint32_t>(pos) & m) | (static_cast<uint32_t>(at) & ~m));
}

void pool2x2(const float* xp, int64_t W, int64_t OH, int64_t OW, float* yp, int32_t* ip) {
  for (int64_t oh = 0; oh < OH; ++oh) {
    const float* r0 = xp + 2 * oh * W;
    const float* r1 = r0 + W;
    const int32_t base = static_cast<int32_t>(2 * oh * W), w = static_cast<int32_t>(W);
    float* yr = yp + oh * OW;
    int32_t* ir = ip + oh * OW;
    int64_t ow = 0;
#if defined(__SSE2__)
    const __m128i step = _mm_set_epi32(6, 4, 2, 0);
    for (; ow + 4 <= OW; ow += 4) {
      const int64_t c = 2 * ow;
      const __m128 a0 = _mm_loadu_ps(r0 + c), a1 = _mm_loadu_ps(r0 + c + 4);
      const __m128 b0 = _mm_loadu_ps(r1 + c), b1 = _mm_loadu_ps(r1 + c + 4);
      const __m128 cand[4] = {_mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0)), _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1)),
                              _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)), _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1))};
      const __m128i p00 = _mm_add_epi32(_mm_set1_epi32(base + static_cast<int32_t>(c)), step);
      const __m128i pos[4] = {p00, _mm_add_epi32(p00, _mm_set1_epi32(1)), _mm_add_epi32(p00, _mm_set1_epi32(w)),
                              _mm_add_epi32(p00, _mm_set1_epi32(w + 1))};
      __m128 best = cand[0];
      __m128i at = pos[0];
      for (int k = 1; k < 4; ++k) {
        const __m128 take = _mm_or_ps(_mm_cmpgt_ps(cand[k], best), _mm_cmpunord_ps(cand[k], cand[k]));
        best = _mm_or_ps(_mm_and_ps(take, cand[k]), _mm_andnot_ps(take, best));
        const __m128i ti = _mm_castps_si128(take);
        at = _mm_or_si128(_mm_and_si128(ti, pos[k]), _mm_andnot_si128(ti, at));
      }
      _mm_storeu_ps(yr + ow, best);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(ir + ow), at);
    }
#endif
    for (; ow < OW; ++ow) {
      const int32_t c = static_cast<int32_t>(2 * ow);
      float best = r0[c];
      int32_t at = base + c;
      select2x2(best, at, r0[c + 1], base + c + 1);
      select2x2(best, at, r1[c], base + w + c);
      select2x2(best, at, r1[c + 1], base + w + c + 1);
      yr[ow] = best;
      ir[ow] = at;
    }
  }
}

}  // namespace

void maxpool2d(CFView x, FSpan out, ISpan indices, const MaxPool2dAttrs& a) {
  const char* op = "maxpool2d";
  PoolGeom g = geometry(op, x.shape, a);
  Shape ys = pooled_shape(x.shape, g);
  FView y = out_view(op, "out", out, ys);
  IView idx = out_view(op, "indices", indices, ys);
  size_t xn = static_cast<size_t>(x.numel());
  check_no_alias(op, "out", y.data, out.size, "x", x.data, xn);
  check_no_alias(op, "indices", idx.data, indices.size, "x", x.data, xn);
  check_no_alias(op, "indices", idx.data, indices.size, "out", y.data, out.size);
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  const int64_t per_plane = std::max<int64_t>(1, OHW * g.kh * g.kw);
  const bool two_by_two = g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 &&
                          g.dh == 1 && g.dw == 1 && 2 * g.OH <= g.H && 2 * g.OW <= g.W;
  parallel_for(g.planes, std::max<int64_t>(1, 32768 / per_plane), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      if (two_by_two) {
        pool2x2(x.data + p * HW, g.W, g.OH, g.OW, y.data + p * OHW, idx.data + p * OHW);
        continue;
      }
      const float* xp = x.data + p * HW;
      float* yp = y.data + p * OHW;
      int32_t* ip = idx.data + p * OHW;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        int64_t h0 = oh * g.sh - g.ph;
        int64_t h1 = std::min(h0 + (g.kh - 1) * g.dh + 1, g.H);
        while (h0 < 0) h0 += g.dh;
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          int64_t w0 = ow * g.sw - g.pw;
          int64_t w1 = std::min(w0 + (g.kw - 1) * g.dw + 1, g.W);
          while (w0 < 0) w0 += g.dw;
          float best = -std::numeric_limits<float>::infinity();
          int64_t at = -1;
          for (int64_t ih = h0; ih < h1; ih += g.dh)
            for (int64_t iw = w0; iw < w1; iw += g.dw) {
              float v = xp[ih * g.W + iw];
              // First strict maximum wins, but any NaN replaces the running max (torch's rule).
              // Selects rather than branches: on real activations the branch is unpredictable.
              const bool take = (at < 0) | (v > best) | (v != v);
              best = take ? v : best;
              at = take ? ih * g.W + iw : at;
            }
          yp[oh * g.OW + ow] = best;
          ip[oh * g.OW + ow] = static_cast<int32_t>(at);
        }
      }
    }
  });
}

void maxpool2d_backward(CFView gy, CIView indices, const Shape& x_shape, FSpan gx) {
  const char* op = "maxpool2d_backward";
  if (x_shape.size() != 3 && x_shape.size() != 4)
    fail(ErrorCode::Shape, op, ": x_shape must be 3-D or 4-D, got ", shape_str(x_shape));
  FView out = out_view(op, "gx", gx, x_shape);
  size_t r = x_shape.size();
  if (gy.shape.size() != r || !std::equal(x_shape.begin(), x_shape.end() - 2, gy.shape.begin()))
    fail(ErrorCode::Shape, op, ": gy ", shape_str(gy.shape), " does not match the leading dims of x ",
         shape_str(x_shape));
  if (indices.shape != gy.shape)
    fail(ErrorCode::Shape, op, ": indices ", shape_str(indices.shape), " must have gy's shape ",
         shape_str(gy.shape));
  check_no_alias(op, "gx", out.data, gx.size, "gy", gy.data, static_cast<size_t>(gy.numel()));
  check_no_alias(op, "gx", out.data, gx.size, "indices", indices.data,
                 static_cast<size_t>(indices.numel()));
  const int64_t HW = x_shape[r - 2] * x_shape[r - 1];
  const int64_t OHW = gy.shape[r - 2] * gy.shape[r - 1];
  const int64_t n = gy.numel();
  for (int64_t i = 0; i < n; ++i) {
    int32_t k = indices.data[i];
    if (k < -1 || k >= HW)
      fail(ErrorCode::Index, op, ": indices[", i, "] = ", k, " is outside the plane of ", HW,
           " elements (x ", shape_str(x_shape), ")");
  }
  int64_t planes = HW > 0 ? out.numel() / HW : 0;
  if (HW == 0 || planes == 0) {
    std::fill(out.data, out.data + out.numel(), 0.0f);
    return;
  }
  const int64_t per = std::max<int64_t>(1, HW + OHW);
  parallel_for(planes, std::max<int64_t>(1, 32768 / per), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      float* gp = out.data + p * HW;
      std::fill(gp, gp + HW, 0.0f);
      const float* g = gy.data + p * OHW;
      const int32_t* ip = indices.data + p * OHW;
      for (int64_t i = 0; i < OHW; ++i)
        if (ip[i] >= 0) gp[ip[i]] += g[i];
    }
  });
}

namespace {

// Checks the windows against a plane of H x W; returns (OH, OW).
std::array<int64_t, 2> check_windows(const char* op, const PoolWindows& win, int64_t H, int64_t W) {
  const int64_t OH = static_cast<int64_t>(win.h0.size), OW = static_cast<int64_t>(win.w0.size);
  if (win.h1.size != win.h0.size || win.w1.size != win.w0.size)
    fail(ErrorCode::Arg, op, ": h0/h1 (", win.h0.size, "/", win.h1.size, ") and w0/w1 (", win.w0.size, "/",
         win.w1.size, ") must have equal lengths");
  if (static_cast<int64_t>(win.div.size) != OH * OW)
    fail(ErrorCode::Arg, op, ": div has ", win.div.size, " entries, expected OH*OW = ", OH * OW);
  auto axis = [&](const char* name, const int32_t* lo, const int32_t* hi, int64_t n, int64_t I) {
    for (int64_t i = 0; i < n; ++i)
      if (lo[i] < 0 || lo[i] > hi[i] || hi[i] > I)
        fail(ErrorCode::Arg, op, ": window ", name, "[", i, "] = [", lo[i], ", ", hi[i], ") is not inside [0, ", I, "]");
  };
  axis("h", win.h0.data, win.h1.data, OH, H);
  axis("w", win.w0.data, win.w1.data, OW, W);
  for (int64_t i = 0; i < OH * OW; ++i)
    if (win.div.data[i] < 1) fail(ErrorCode::Arg, op, ": div[", i, "] = ", win.div.data[i], " must be >= 1");
  return {OH, OW};
}

// The kernels read the windows while writing `out`: they must not overlap.
void check_windows_apart(const char* op, const char* name, const float* out, size_t n, const PoolWindows& win) {
  check_no_alias(op, name, out, n, "h0", win.h0.data, win.h0.size);
  check_no_alias(op, name, out, n, "h1", win.h1.data, win.h1.size);
  check_no_alias(op, name, out, n, "w0", win.w0.data, win.w0.size);
  check_no_alias(op, name, out, n, "w1", win.w1.data, win.w1.size);
  check_no_alias(op, name, out, n, "div", win.div.data, win.div.size);
}

void check_rank(const char* op, const char* name, const Shape& s) {
  if (s.size() != 3 && s.size() != 4)
    fail(ErrorCode::Shape, op, ": ", name, " must be 3-D [C, H, W] or 4-D [N, C, H, W], got shape ", shape_str(s));
}

}  // namespace

void avgpool2d(CFView x, FSpan out, const PoolWindows& win) {
  const char* op = "avgpool2d";
  check_rank(op, "x", x.shape);
  const size_t r = x.shape.size();
  const int64_t H = x.shape[r - 2], W = x.shape[r - 1];
  const auto [OH, OW] = check_windows(op, win, H, W);
  Shape ys = x.shape;
  ys[r - 2] = OH, ys[r - 1] = OW;
  FView y = out_view(op, "out", out, ys);
  check_no_alias(op, "out", y.data, out.size, "x", x.data, static_cast<size_t>(x.numel()));
  check_windows_apart(op, "out", y.data, out.size, win);
  const int64_t HW = H * W, OHW = OH * OW, planes = HW > 0 ? x.numel() / HW : 0;
  if (OHW == 0 || planes == 0) return;
  const int64_t per = std::max<int64_t>(1, HW + OHW);
  parallel_for(planes, std::max<int64_t>(1, 32768 / per), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* xp = x.data + p * HW;
      float* yp = y.data + p * OHW;
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double s = 0;
          for (int64_t h = win.h0.data[oh]; h < win.h1.data[oh]; ++h)
            for (int64_t w = win.w0.data[ow]; w < win.w1.data[ow]; ++w) s += xp[h * W + w];
          yp[oh * OW + ow] = static_cast<float>(s / win.div.data[oh * OW + ow]);
        }
    }
  });
}

void avgpool2d_backward(CFView gy, const Shape& x_shape, FSpan gx, const PoolWindows& win) {
  const char* op = "avgpool2d_backward";
  check_rank(op, "x_shape", x_shape);
  const size_t r = x_shape.size();
  const int64_t H = x_shape[r - 2], W = x_shape[r - 1];
  const auto [OH, OW] = check_windows(op, win, H, W);
  Shape ys = x_shape;
  ys[r - 2] = OH, ys[r - 1] = OW;
  if (gy.shape != ys) fail(ErrorCode::Shape, op, ": gy ", shape_str(gy.shape), " must have shape ", shape_str(ys));
  FView out = out_view(op, "gx", gx, x_shape);
  check_no_alias(op, "gx", out.data, gx.size, "gy", gy.data, static_cast<size_t>(gy.numel()));
  check_windows_apart(op, "gx", out.data, gx.size, win);
  const int64_t HW = H * W, OHW = OH * OW, planes = HW > 0 ? out.numel() / HW : 0;
  std::fill(out.data, out.data + out.numel(), 0.0f);
  if (OHW == 0 || planes == 0) return;
  const int64_t per = std::max<int64_t>(1, HW + OHW);
  parallel_for(planes, std::max<int64_t>(1, 32768 / per), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      float* gp = out.data + p * HW;
      const float* g = gy.data + p * OHW;
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const double v = static_cast<double>(g[oh * OW + ow]) / win.div.data[oh * OW + ow];
          for (int64_t h = win.h0.data[oh]; h < win.h1.data[oh]; ++h)
            for (int64_t w = win.w0.data[ow]; w < win.w1.data[ow]; ++w) {
              float& e = gp[h * W + w];
              e = static_cast<float>(static_cast<double>(e) + v);
            }
        }
    }
  });
}

}  // namespace ravdl

// im2col / col2im over a range of output positions of one sample: row (c, kh, kw) of col holds,
// for every output position, the input value its kernel tap reads (zero where the tap falls in
// zero padding; for the other padding modes, the element pad() would have put there).
#include <algorithm>
#include <cstring>

#include "ravdl/conv.h"

namespace ravdl::detail {
namespace {

// Output columns [ow0, ow1) whose tap iw = ow*sw + off lies inside [0, W).
void valid_cols(int64_t off, int64_t sw, int64_t W, int64_t OW, int64_t& ow0, int64_t& ow1) {
  ow0 = off >= 0 ? 0 : (-off + sw - 1) / sw;
  ow1 = W - 1 - off < 0 ? 0 : std::min(OW, (W - 1 - off) / sw + 1);
  ow0 = std::min(ow0, OW);
  ow1 = std::max(ow1, ow0);
}

PadMode pad_mode_of(ConvPaddingMode m) {
  switch (m) {
    case ConvPaddingMode::Reflect: return PadMode::Reflect;
    case ConvPaddingMode::Replicate: return PadMode::Replicate;
    case ConvPaddingMode::Circular: return PadMode::Circular;
    case ConvPaddingMode::Zeros: break;
  }
  return PadMode::Constant;
}

// Whether taps read through a non-zero padding mode (gathered element by element).
bool gathers(const Conv2dGeom& g) {
  return g.mode != ConvPaddingMode::Zeros && (g.pt || g.pb || g.pl || g.pr);
}

// Calls row_fn(oh, a, b, first) for each output row oh meeting [p0, p1): columns [a, b) of it,
// `first` being the offset of (oh, a) in the block.
template <class F>
void for_rows(const Conv2dGeom& g, int64_t p0, int64_t p1, F row_fn) {
  for (int64_t oh = p0 / g.OW; oh * g.OW < p1; ++oh) {
    const int64_t a = std::max<int64_t>(p0 - oh * g.OW, 0), b = std::min<int64_t>(p1 - oh * g.OW, g.OW);
    row_fn(oh, a, b, oh * g.OW + a - p0);
  }
}

}  // namespace

void im2col(const float* x, const Conv2dGeom& g, int64_t p0, int64_t p1, float* col) {
  const int64_t H = g.H, W = g.W, n = p1 - p0;
  const bool gather = gathers(g);
  const PadMode pm = pad_mode_of(g.mode);
  for (int64_t c = 0; c < g.C; ++c) {
    const float* xc = x + c * H * W;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        float* row = col + ((c * g.KH + kh) * g.KW + kw) * n;
        const int64_t off = kw * g.dw - g.pl;
        int64_t ow0, ow1;
        valid_cols(off, g.sw, W, g.OW, ow0, ow1);
        for_rows(g, p0, p1, [&](int64_t oh, int64_t a, int64_t b, int64_t first) {
          float* r = row + first;  // r[ow - a] for ow in [a, b)
          const int64_t ihp = oh * g.sh + kh * g.dh;  // row in the padded input
          const int64_t va = std::clamp(ow0, a, b), vb = std::clamp(ow1, va, b);
          int64_t ih = ihp - g.pt;
          if (gather) {  // the padding columns through pad()'s rule, the rest copied below
            ih = pad_source(ihp, g.pt, g.pb, H, pm);
            const float* xr = xc + ih * W;
            for (int64_t ow = a; ow < va; ++ow) r[ow - a] = xr[pad_source(ow * g.sw + kw * g.dw, g.pl, g.pr, W, pm)];
            for (int64_t ow = vb; ow < b; ++ow) r[ow - a] = xr[pad_source(ow * g.sw + kw * g.dw, g.pl, g.pr, W, pm)];
          } else if (ih < 0 || ih >= H) {
            std::fill(r, r + (b - a), 0.0f);
            return;
          } else {
            std::fill(r, r + (va - a), 0.0f);
            std::fill(r + (vb - a), r + (b - a), 0.0f);
          }
          const int64_t base = ih * W + off;  // input index of column 0 (may be < 0)
          if (g.sw == 1) {
            if (vb > va) std::memcpy(r + (va - a), xc + (base + va), static_cast<size_t>(vb - va) * sizeof(float));
          } else {
            for (int64_t ow = va; ow < vb; ++ow) r[ow - a] = xc[base + ow * g.sw];
          }
        });
      }
    }
  }
}

void col2im(const float* col, const Conv2dGeom& g, int64_t p0, int64_t p1, float* gx) {
  const int64_t H = g.H, W = g.W, n = p1 - p0;
  const bool gather = gathers(g);
  const PadMode pm = pad_mode_of(g.mode);
  for (int64_t c = 0; c < g.C; ++c) {
    float* gc = gx + c * H * W;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const float* row = col + ((c * g.KH + kh) * g.KW + kw) * n;
        const int64_t off = kw * g.dw - g.pl;
        int64_t ow0, ow1;
        valid_cols(off, g.sw, W, g.OW, ow0, ow1);
        for_rows(g, p0, p1, [&](int64_t oh, int64_t a, int64_t b, int64_t first) {
          const float* r = row + first;  // r[ow - a]
          const int64_t ihp = oh * g.sh + kh * g.dh;
          const int64_t va = std::clamp(ow0, a, b), vb = std::clamp(ow1, va, b);
          int64_t ih = ihp - g.pt;
          if (gather) {
            ih = pad_source(ihp, g.pt, g.pb, H, pm);
            float* gr = gc + ih * W;
            for (int64_t ow = a; ow < va; ++ow) gr[pad_source(ow * g.sw + kw * g.dw, g.pl, g.pr, W, pm)] += r[ow - a];
            for (int64_t ow = vb; ow < b; ++ow) gr[pad_source(ow * g.sw + kw * g.dw, g.pl, g.pr, W, pm)] += r[ow - a];
          } else if (ih < 0 || ih >= H) {
            return;
          }
          const int64_t base = ih * W + off;
          if (g.sw == 1) {
            for (int64_t ow = va; ow < vb; ++ow) gc[base + ow] += r[ow - a];
          } else {
            for (int64_t ow = va; ow < vb; ++ow) gc[base + ow * g.sw] += r[ow - a];
          }
        });
      }
    }
  }
}

void pad_rows(const float* x, int64_t cnt, const Conv2dGeom& g, int64_t r0, int64_t r1, float* out) {
  const int64_t H = g.H, W = g.W, Wp = g.Wp(), rows = r1 - r0;
  const PadMode pm = pad_mode_of(g.mode);
  for (int64_t sc = 0; sc < cnt * g.C; ++sc) {  // (sample, channel) planes
    const float* xc = x + sc * H * W;
    for (int64_t r = r0; r < r1; ++r) {
      float* o = out + (sc * rows + (r - r0)) * Wp;
      const int64_t ih = pad_source(r, g.pt, g.pb, H, pm);
      if (ih < 0) {  // zeros padding
        std::fill(o, o + Wp, 0.0f);
        continue;
      }
      const float* xr = xc + ih * W;
      for (int64_t j = 0; j < g.pl; ++j) {
        const int64_t iw = pad_source(j, g.pl, g.pr, W, pm);
        o[j] = iw < 0 ? 0.0f : xr[iw];
      }
      std::copy(xr, xr + W, o + g.pl);
      for (int64_t j = g.pl + W; j < Wp; ++j) {
        const int64_t iw = pad_source(j, g.pl, g.pr, W, pm);
        o[j] = iw < 0 ? 0.0f : xr[iw];
      }
    }
  }
}

}  // namespace ravdl::detail

// im2col / col2im for one sample: row (c, kh, kw) of col holds, for every output position,
// the input value its kernel tap reads (zero where the tap falls in the padding).
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

}  // namespace

void im2col(const float* x, int64_t C, int64_t H, int64_t W, const Conv2dGeom& g, int64_t pt,
            int64_t pl, float* col) {
  const int64_t OH = g.OH, OW = g.OW, P = OH * OW;
  for (int64_t c = 0; c < C; ++c) {
    const float* xc = x + c * H * W;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        float* row = col + ((c * g.KH + kh) * g.KW + kw) * P;
        const int64_t off = kw * g.dw - pl;
        int64_t ow0, ow1;
        valid_cols(off, g.sw, W, OW, ow0, ow1);
        for (int64_t oh = 0; oh < OH; ++oh) {
          float* r = row + oh * OW;
          const int64_t ih = oh * g.sh - pt + kh * g.dh;
          if (ih < 0 || ih >= H) {
            std::fill(r, r + OW, 0.0f);
            continue;
          }
          std::fill(r, r + ow0, 0.0f);
          std::fill(r + ow1, r + OW, 0.0f);
          const int64_t base = ih * W + off;  // input index of column 0 (may be < 0)
          if (g.sw == 1) {
            if (ow1 > ow0)
              std::memcpy(r + ow0, xc + (base + ow0), static_cast<size_t>(ow1 - ow0) * sizeof(float));
          } else {
            for (int64_t ow = ow0; ow < ow1; ++ow) r[ow] = xc[base + ow * g.sw];
          }
        }
      }
    }
  }
}

void col2im(const float* col, int64_t C, int64_t H, int64_t W, const Conv2dGeom& g, int64_t pt,
            int64_t pl, float* gx) {
  const int64_t OH = g.OH, OW = g.OW, P = OH * OW;
  for (int64_t c = 0; c < C; ++c) {
    float* gc = gx + c * H * W;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const float* row = col + ((c * g.KH + kh) * g.KW + kw) * P;
        const int64_t off = kw * g.dw - pl;
        int64_t ow0, ow1;
        valid_cols(off, g.sw, W, OW, ow0, ow1);
        for (int64_t oh = 0; oh < OH; ++oh) {
          const int64_t ih = oh * g.sh - pt + kh * g.dh;
          if (ih < 0 || ih >= H) continue;
          const float* r = row + oh * OW;
          const int64_t base = ih * W + off;
          if (g.sw == 1) {
            float* gr = gc + (base + ow0);
            for (int64_t ow = ow0; ow < ow1; ++ow) gr[ow - ow0] += r[ow];
          } else {
            for (int64_t ow = ow0; ow < ow1; ++ow) gc[base + ow * g.sw] += r[ow];
          }
        }
      }
    }
  }
}

}  // namespace ravdl::detail

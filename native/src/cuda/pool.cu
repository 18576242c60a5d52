// Pooling over (N, C, H, W) or (C, H, W): max pooling with int32 indices (flat per H*W plane)
// and its backward, avg_pool2d and adaptive_avg_pool2d and their backward ops. Same rules and
// summation orders as the CPU kernels (native/src/cpu/pool.cpp), so results match bit for bit:
// the backward ops gather (each input element sums, in output order, what the CPU scatters
// there) instead of scattering with atomics.
#include <algorithm>
#include <cmath>

#include "common.cuh"

namespace ravdl_cuda {
namespace {

struct PoolGeom {
  int64_t planes, H, W, OH, OW;
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
};

// torch's pooling_output_shape (floor toward -inf, then the ceil_mode fix), as the CPU.
int64_t out_size(int64_t in, int64_t k, int64_t pad, int64_t s, int64_t d, bool ceil) {
  const int64_t num = in + 2 * pad - d * (k - 1) - 1 + (ceil ? s - 1 : 0);
  int64_t q = num / s;
  if (num % s != 0 && num < 0) --q;
  int64_t o = q + 1;
  if (ceil && (o - 1) * s >= in + pad) --o;
  return o;
}

void check_rank(const Call& c, const std::vector<int64_t>& s, const char* name) {
  if (s.size() != 3 && s.size() != 4) fail(kShape, c.op + ": " + name + " must be 3-D [C, H, W] or 4-D [N, C, H, W], got " + shape_str(s));
}

// Geometry from the attributes kernel_size, stride (absent: kernel_size), padding, dilation
// (max pooling only) and ceil_mode.
PoolGeom geometry(const Call& c, const std::vector<int64_t>& x, bool dilation) {
  check_rank(c, x, "x");
  PoolGeom g{};
  const size_t r = x.size();
  g.H = x[r - 2], g.W = x[r - 1];
  g.planes = 1;
  for (size_t d = 0; d + 2 < r; d++) g.planes *= x[d];
  if (g.H == 0 || g.W == 0 || x[r - 3] == 0) fail(kShape, c.op + ": x " + shape_str(x) + " must have non-empty C, H and W");
  if (g.H * g.W > 2147483647LL) fail(kShape, c.op + ": a plane of x " + shape_str(x) + " has more than 2^31-1 elements");
  if (!c.has("kernel_size")) fail(kAttr, c.op + ": attribute 'kernel_size' is required");
  int64_t k[2], s[2], p[2], d[2] = {1, 1};
  c.pair("kernel_size", 1, k);
  if (c.has("stride")) c.pair("stride", 1, s);
  else s[0] = k[0], s[1] = k[1];
  c.pair("padding", 0, p);
  if (dilation) c.pair("dilation", 1, d);
  for (int i = 0; i < 2; i++) {
    if (k[i] < 1 || s[i] < 1 || d[i] < 1) fail(kAttr, c.op + ": kernel_size, stride and dilation must be >= 1");
    if (p[i] < 0 || p[i] > k[i] / 2)
      fail(kAttr, c.op + ": padding[" + std::to_string(i) + "] must be in [0, kernel_size/2 = " + std::to_string(k[i] / 2) + "], got " +
                      std::to_string(p[i]));
  }
  g.kh = k[0], g.kw = k[1], g.sh = s[0], g.sw = s[1], g.ph = p[0], g.pw = p[1], g.dh = d[0], g.dw = d[1];
  const bool ceil = c.flag("ceil_mode", false);
  g.OH = out_size(g.H, g.kh, g.ph, g.sh, g.dh, ceil);
  g.OW = out_size(g.W, g.kw, g.pw, g.sw, g.dw, ceil);
  if (g.OH < 1 || g.OW < 1) fail(kShape, c.op + ": the output would be empty for input " + shape_str(x));
  return g;
}

std::vector<int64_t> pooled(std::vector<int64_t> x, int64_t OH, int64_t OW) {
  x[x.size() - 2] = OH;
  x[x.size() - 1] = OW;
  return x;
}

// One thread per output: the first strict maximum wins, any NaN replaces the running max.
__global__ void maxpool_kernel(PoolGeom g, const float* __restrict__ x, float* __restrict__ y, int32_t* __restrict__ idx) {
  const int64_t OHW = g.OH * g.OW;
  RAVDL_GRID_STRIDE(i, g.planes * OHW) {
    const int64_t p = i / OHW, oh = (i % OHW) / g.OW, ow = i % g.OW;
    const float* xp = x + p * g.H * g.W;
    int64_t h0 = oh * g.sh - g.ph;
    const int64_t h1 = min(h0 + (g.kh - 1) * g.dh + 1, g.H);
    while (h0 < 0) h0 += g.dh;
    int64_t w0 = ow * g.sw - g.pw;
    const int64_t w1 = min(w0 + (g.kw - 1) * g.dw + 1, g.W);
    while (w0 < 0) w0 += g.dw;
    float best = -INFINITY;
    int64_t at = -1;
    for (int64_t ih = h0; ih < h1; ih += g.dh)
      for (int64_t iw = w0; iw < w1; iw += g.dw) {
        const float v = xp[ih * g.W + iw];
        if (at < 0 || v > best || v != v) {
          best = v;
          at = ih * g.W + iw;
        }
      }
    y[i] = best;
    idx[i] = static_cast<int32_t>(at);
  }
}

// Candidate outputs along one axis whose (dilated) window may hold input position h.
__device__ __forceinline__ void window_range(int64_t h, int64_t k, int64_t s, int64_t pad, int64_t d, int64_t O, int64_t& lo, int64_t& hi) {
  // h = o*s - pad + j*d for some j in [0, k): o in [(h + pad - (k-1)d) / s, (h + pad) / s].
  const int64_t top = h + pad, bottom = h + pad - (k - 1) * d;
  lo = bottom <= 0 ? 0 : (bottom + s - 1) / s;
  hi = min(top / s, O - 1);
}

// gx[p][h][w] = sum of gy[p][o] over outputs o (in order) whose index is h*W + w.
__global__ void maxpool_backward_kernel(PoolGeom g, const float* __restrict__ gy, const int32_t* __restrict__ idx, float* __restrict__ gx) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  RAVDL_GRID_STRIDE(i, g.planes * HW) {
    const int64_t p = i / HW, pos = i % HW, h = pos / g.W, w = pos % g.W;
    int64_t oh0, oh1, ow0, ow1;
    window_range(h, g.kh, g.sh, g.ph, g.dh, g.OH, oh0, oh1);
    window_range(w, g.kw, g.sw, g.pw, g.dw, g.OW, ow0, ow1);
    float acc = 0.0f;
    const float* gp = gy + p * OHW;
    const int32_t* ip = idx + p * OHW;
    for (int64_t oh = oh0; oh <= oh1; oh++)
      for (int64_t ow = ow0; ow <= ow1; ow++)
        if (ip[oh * g.OW + ow] == pos) acc += gp[oh * g.OW + ow];
    gx[i] = acc;
  }
}

// max_pool2d_backward when the pooling attributes are not given: a plain scatter of each
// plane's outputs in order, one thread per plane (the CPU's loop).
__global__ void maxpool_backward_scatter(int64_t planes, int64_t HW, int64_t OHW, const float* __restrict__ gy, const int32_t* __restrict__ idx,
                                         float* __restrict__ gx) {
  RAVDL_GRID_STRIDE(p, planes) {
    float* gp = gx + p * HW;
    for (int64_t j = 0; j < HW; j++) gp[j] = 0.0f;
    for (int64_t o = 0; o < OHW; o++) {
      const int32_t k = idx[p * OHW + o];
      if (k >= 0) gp[k] += gy[p * OHW + o];
    }
  }
}

// ---- average pooling: the windows of avg_pool2d (lib/ops/pool.ts avgWindows) and
// adaptive_avg_pool2d (adaptiveWindows), computed where they are used.
struct AvgGeom {
  bool adaptive;
  int64_t planes, H, W, OH, OW;
  int64_t kh, kw, sh, sw, ph, pw;
  bool count_include_pad;
  int64_t divisor_override;  // 0: none
};

struct Win {
  int64_t lo, hi, padded;
};
__device__ __forceinline__ Win avg_window(const AvgGeom& g, bool rows, int64_t o) {
  const int64_t I = rows ? g.H : g.W, O = rows ? g.OH : g.OW;
  if (g.adaptive) {
    const int64_t lo = (o * I) / O, hi = ((o + 1) * I + O - 1) / O;
    return {lo, hi, hi - lo};
  }
  const int64_t k = rows ? g.kh : g.kw, s = rows ? g.sh : g.sw, pad = rows ? g.ph : g.pw;
  const int64_t start = o * s - pad, stop = min(start + k, I + pad);
  return {max(start, int64_t{0}), min(stop, I), stop - start};
}
__device__ __forceinline__ int64_t avg_div(const AvgGeom& g, const Win& wh, const Win& ww) {
  if (g.divisor_override > 0) return g.divisor_override;
  if (!g.adaptive && g.count_include_pad) return wh.padded * ww.padded;
  return (wh.hi - wh.lo) * (ww.hi - ww.lo);
}

__global__ void avgpool_kernel(AvgGeom g, const float* __restrict__ x, float* __restrict__ y) {
  const int64_t OHW = g.OH * g.OW;
  RAVDL_GRID_STRIDE(i, g.planes * OHW) {
    const int64_t p = i / OHW, oh = (i % OHW) / g.OW, ow = i % g.OW;
    const Win wh = avg_window(g, true, oh), ww = avg_window(g, false, ow);
    const float* xp = x + p * g.H * g.W;
    double s = 0;
    for (int64_t h = wh.lo; h < wh.hi; h++)
      for (int64_t w = ww.lo; w < ww.hi; w++) s += xp[h * g.W + w];
    y[i] = static_cast<float>(s / static_cast<double>(avg_div(g, wh, ww)));
  }
}

// Outputs along one axis whose window holds h (a contiguous range: windows move forward).
__device__ __forceinline__ void avg_range(const AvgGeom& g, bool rows, int64_t h, int64_t& lo, int64_t& hi) {
  const int64_t I = rows ? g.H : g.W, O = rows ? g.OH : g.OW;
  if (g.adaptive) {
    lo = max((h * O) / I - 1, int64_t{0});
    hi = min(((h + 1) * O) / I + 1, O - 1);
  } else {
    const int64_t k = rows ? g.kh : g.kw, s = rows ? g.sh : g.sw, pad = rows ? g.ph : g.pw;
    const int64_t bottom = h + pad - k + 1;
    lo = bottom <= 0 ? 0 : (bottom + s - 1) / s;
    hi = min((h + pad) / s, O - 1);
  }
}

// gx[h][w] = sum over the windows holding (h, w), in output order, of gy / div, each addition
// in double rounded to float (the CPU's order and rounding).
__global__ void avgpool_backward_kernel(AvgGeom g, const float* __restrict__ gy, float* __restrict__ gx) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  RAVDL_GRID_STRIDE(i, g.planes * HW) {
    const int64_t p = i / HW, h = (i % HW) / g.W, w = i % g.W;
    int64_t oh0, oh1, ow0, ow1;
    avg_range(g, true, h, oh0, oh1);
    avg_range(g, false, w, ow0, ow1);
    float e = 0.0f;
    for (int64_t oh = oh0; oh <= oh1; oh++) {
      const Win wh = avg_window(g, true, oh);
      if (h < wh.lo || h >= wh.hi) continue;
      for (int64_t ow = ow0; ow <= ow1; ow++) {
        const Win ww = avg_window(g, false, ow);
        if (w < ww.lo || w >= ww.hi) continue;
        const double v = static_cast<double>(gy[p * OHW + oh * g.OW + ow]) / static_cast<double>(avg_div(g, wh, ww));
        e = static_cast<float>(static_cast<double>(e) + v);
      }
    }
    gx[i] = e;
  }
}

// The avg geometry of x (shape x_shape) pooled to y_shape; for avg_pool2d the attributes must
// give exactly y_shape.
AvgGeom avg_geometry(const Call& c, const std::vector<int64_t>& x, const std::vector<int64_t>& y) {
  check_rank(c, x, "x");
  AvgGeom g{};
  g.adaptive = c.op.rfind("adaptive", 0) == 0;
  const size_t r = x.size();
  g.H = x[r - 2], g.W = x[r - 1];
  g.planes = 1;
  for (size_t d = 0; d + 2 < r; d++) g.planes *= x[d];
  if (g.adaptive) {
    if (g.H == 0 || g.W == 0) fail(kShape, c.op + ": x " + shape_str(x) + " must have non-empty H and W");
    if (y.size() != r) fail(kShape, c.op + ": the output must have x's rank");
    g.OH = y[r - 2], g.OW = y[r - 1];
    if (g.OH < 1 || g.OW < 1) fail(kShape, c.op + ": output_size must be >= 1");
    expect_shape(c, Desc{nullptr, kF32, y}, pooled(x, g.OH, g.OW), "output");
    return g;
  }
  const PoolGeom pg = geometry(c, x, false);
  g.kh = pg.kh, g.kw = pg.kw, g.sh = pg.sh, g.sw = pg.sw, g.ph = pg.ph, g.pw = pg.pw, g.OH = pg.OH, g.OW = pg.OW;
  g.count_include_pad = c.flag("count_include_pad", true);
  g.divisor_override = c.integer("divisor_override", 0);
  if (c.has("divisor_override") && g.divisor_override < 1) fail(kAttr, c.op + ": divisor_override must be >= 1");
  expect_shape(c, Desc{nullptr, kF32, y}, pooled(x, g.OH, g.OW), "output");
  return g;
}

}  // namespace

// max_pool2d: x -> [y, indices (int32)]
void launch_max_pool2d(const Call& c) {
  expect_io(c, 1, 1, 2);
  const Desc &x = c.in[0], &y = c.out[0], &idx = c.out[1];
  expect_dtype(c, x, kF32, "x");
  expect_dtype(c, y, kF32, "output");
  expect_dtype(c, idx, kI32, "indices");
  const PoolGeom g = geometry(c, x.shape, true);
  const auto want = pooled(x.shape, g.OH, g.OW);
  expect_shape(c, y, want, "output");
  expect_shape(c, idx, want, "indices");
  const int64_t n = y.numel();
  if (n == 0) return;
  maxpool_kernel<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(g, x.f(), y.fw(), idx.iw());
}

// max_pool2d_backward: (gy, indices) -> gx, attr x_shape. With the forward's pooling
// attributes (kernel_size, ...) it gathers (parallel over input elements); without them it
// scatters plane by plane. Indices outside [-1, H*W) are ERR_INDEX (checked first: a sync).
void launch_max_pool2d_backward(const Call& c) {
  expect_io(c, 2, 2, 1);
  const Desc &gy = c.in[0], &idx = c.in[1], &gx = c.out[0];
  expect_dtype(c, gy, kF32, "gy");
  expect_dtype(c, idx, kI32, "indices");
  expect_dtype(c, gx, kF32, "output");
  const auto x_shape = c.has("x_shape") ? c.ints("x_shape") : gx.shape;
  check_rank(c, x_shape, "x_shape");
  expect_shape(c, gx, x_shape, "output");
  const size_t r = x_shape.size();
  if (gy.shape.size() != r || !std::equal(x_shape.begin(), x_shape.end() - 2, gy.shape.begin()))
    fail(kShape, c.op + ": gy " + shape_str(gy.shape) + " does not match the leading dims of x " + shape_str(x_shape));
  expect_shape(c, idx, gy.shape, "indices");
  const int64_t HW = x_shape[r - 2] * x_shape[r - 1], OHW = gy.shape[r - 2] * gy.shape[r - 1];
  cudaStream_t s = stream_of(c.dev);
  const int64_t bad = first_bad_index(c.dev, idx.i(), idx.numel(), -1, HW, -1);
  if (bad >= 0)
    fail(kIndex, c.op + ": indices[" + std::to_string(bad) + "] is outside the plane of " + std::to_string(HW) + " elements (x " +
                     shape_str(x_shape) + ")");
  if (gx.numel() == 0) return;
  const int64_t planes = HW > 0 ? gx.numel() / HW : 0;
  if (OHW == 0 || planes == 0) {
    check_cuda(cudaMemsetAsync(gx.data, 0, static_cast<size_t>(gx.numel()) * sizeof(float), s), "cudaMemsetAsync");
    return;
  }
  if (c.has("kernel_size")) {
    PoolGeom g = geometry(c, x_shape, true);
    if (g.OH != gy.shape[r - 2] || g.OW != gy.shape[r - 1])
      fail(kShape, c.op + ": gy " + shape_str(gy.shape) + " is not the pooled shape of x " + shape_str(x_shape));
    maxpool_backward_kernel<<<grid_for(gx.numel()), kThreads, 0, s>>>(g, gy.f(), idx.i(), gx.fw());
  } else {
    maxpool_backward_scatter<<<grid_for(planes, 64), 64, 0, s>>>(planes, HW, OHW, gy.f(), idx.i(), gx.fw());
  }
}

// avg_pool2d / adaptive_avg_pool2d: x -> y
void launch_avg_pool2d(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &x = c.in[0], &y = c.out[0];
  expect_dtype(c, x, kF32, "x");
  expect_dtype(c, y, kF32, "output");
  const AvgGeom g = avg_geometry(c, x.shape, y.shape);
  if (y.numel() == 0) return;
  avgpool_kernel<<<grid_for(y.numel()), kThreads, 0, stream_of(c.dev)>>>(g, x.f(), y.fw());
}

// avg_pool2d_backward / adaptive_avg_pool2d_backward: gy -> gx, attr x_shape.
void launch_avg_pool2d_backward(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &gy = c.in[0], &gx = c.out[0];
  expect_dtype(c, gy, kF32, "gy");
  expect_dtype(c, gx, kF32, "output");
  const auto x_shape = c.has("x_shape") ? c.ints("x_shape") : gx.shape;
  expect_shape(c, gx, x_shape, "output");
  const AvgGeom g = avg_geometry(c, x_shape, gy.shape);
  if (gx.numel() == 0) return;
  avgpool_backward_kernel<<<grid_for(gx.numel()), kThreads, 0, stream_of(c.dev)>>>(g, gy.f(), gx.fw());
}

}  // namespace ravdl_cuda

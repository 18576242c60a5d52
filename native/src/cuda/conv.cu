// conv2d over NCHW by im2col + GEMM, and its three gradients (input by GEMM + a gathering
// col2im, weight by per-sample GEMMs summed in a fixed order, bias by a per-channel sum): all
// deterministic (no atomics). Attributes as the catalog's conv2d (see cuda_ops.h for the
// encoding): stride, padding (one number, [ph, pw], or [top, bottom, left, right], which is
// how the caller passes 'same'; 'valid' is 0), dilation, groups, padding_mode (0 'zeros',
// 1 'reflect', 2 'replicate', 3 'circular': the input is padded by the pad kernel first, then
// convolved unpadded, and the input gradient folded back by pad_backward: what the CPU's
// padding modes read). Samples are processed in chunks whose im2col buffer stays under
// kWorkspaceBytes.
#include <algorithm>
#include <memory>

#include "common.cuh"

namespace ravdl_cuda {
namespace {

constexpr int64_t kWorkspaceBytes = int64_t{256} << 20;

struct Geom {
  int64_t N, C, H, W, Cout, KH, KW, G, sh, sw, dh, dw, pt, pb, pl, pr, OH, OW;
  int64_t Cg() const { return C / G; }
  int64_t Coutg() const { return Cout / G; }
  int64_t Kg() const { return Cg() * KH * KW; }
  int64_t P() const { return OH * OW; }
  // A 1x1, stride-1, unpadded conv reads x itself as its im2col matrix.
  bool direct() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pb == 0 && pl == 0 && pr == 0; }
};

Geom geometry(const Call& c, const std::vector<int64_t>& x, const std::vector<int64_t>& w) {
  if (x.size() != 4) fail(kShape, c.op + ": x must be 4-D (N, C, H, W), got " + shape_str(x));
  if (w.size() != 4) fail(kShape, c.op + ": w must be 4-D (Cout, C/groups, KH, KW), got " + shape_str(w));
  int64_t st[2], dl[2];
  c.pair("stride", 1, st);
  c.pair("dilation", 1, dl);
  const int64_t groups = c.integer("groups", 1);
  if (st[0] < 1 || st[1] < 1) fail(kAttr, c.op + ": stride must be >= 1");
  if (dl[0] < 1 || dl[1] < 1) fail(kAttr, c.op + ": dilation must be >= 1");
  if (groups < 1) fail(kAttr, c.op + ": groups must be >= 1, got " + std::to_string(groups));
  const int64_t mode = c.integer("padding_mode", 0);
  if (mode < 0 || mode > 3) fail(kAttr, c.op + ": padding_mode must be 0 (zeros), 1 (reflect), 2 (replicate) or 3 (circular)");
  Geom g{};
  g.N = x[0], g.C = x[1], g.H = x[2], g.W = x[3];
  g.Cout = w[0], g.KH = w[2], g.KW = w[3], g.G = groups;
  g.sh = st[0], g.sw = st[1], g.dh = dl[0], g.dw = dl[1];
  const auto pad = c.ints("padding");
  if (pad.empty()) {
    g.pt = g.pb = g.pl = g.pr = 0;
  } else if (pad.size() == 1) {
    g.pt = g.pb = g.pl = g.pr = pad[0];
  } else if (pad.size() == 2) {
    g.pt = g.pb = pad[0];
    g.pl = g.pr = pad[1];
  } else if (pad.size() == 4) {
    g.pt = pad[0], g.pb = pad[1], g.pl = pad[2], g.pr = pad[3];
  } else {
    fail(kAttr, c.op + ": padding must have 1, 2 or 4 values, got " + std::to_string(pad.size()));
  }
  for (auto p : pad)
    if (p < 0) fail(kAttr, c.op + ": padding must be >= 0");
  if (g.C % g.G != 0) fail(kAttr, c.op + ": groups=" + std::to_string(g.G) + " does not divide the input channels " + std::to_string(g.C));
  if (g.Cout % g.G != 0)
    fail(kAttr, c.op + ": groups=" + std::to_string(g.G) + " does not divide the output channels " + std::to_string(g.Cout));
  if (w[1] != g.C / g.G) fail(kShape, c.op + ": w " + shape_str(w) + " needs " + std::to_string(g.C / g.G) + " input channels per group");
  if (g.KH < 1 || g.KW < 1) fail(kShape, c.op + ": kernel size must be >= 1, got w " + shape_str(w));
  const int64_t ekh = g.dh * (g.KH - 1) + 1, ekw = g.dw * (g.KW - 1) + 1;
  if (ekh > g.H + g.pt + g.pb || ekw > g.W + g.pl + g.pr)
    fail(kShape, c.op + ": the (dilated) kernel is larger than the padded input " + shape_str(x));
  g.OH = (g.H + g.pt + g.pb - ekh) / g.sh + 1;
  g.OW = (g.W + g.pl + g.pr - ekw) / g.sw + 1;
  return g;
}

// col[n][c*KH*KW + kh*KW + kw][p] for samples n0 .. n0+nb of x (zeros outside the input).
__global__ void im2col_kernel(Geom g, int64_t n0, int64_t nb, const float* __restrict__ x, float* __restrict__ col) {
  const int64_t P = g.OH * g.OW, total = nb * g.C * g.KH * g.KW * P;
  RAVDL_GRID_STRIDE(i, total) {
    const int64_t p = i % P;
    int64_t r = i / P;
    const int64_t kw = r % g.KW;
    r /= g.KW;
    const int64_t kh = r % g.KH;
    r /= g.KH;
    const int64_t ch = r % g.C, n = r / g.C;
    const int64_t oh = p / g.OW, ow = p % g.OW;
    const int64_t ih = oh * g.sh - g.pt + kh * g.dh, iw = ow * g.sw - g.pl + kw * g.dw;
    float v = 0.0f;
    if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) v = x[(((n0 + n) * g.C + ch) * g.H + ih) * g.W + iw];
    col[i] = v;
  }
}

// gx[n0 + n][c][ih][iw] = the sum of the gcol entries that im2col read from there, in (kh, kw)
// order: a gather, so each element is written by one thread.
__global__ void col2im_kernel(Geom g, int64_t n0, int64_t nb, const float* __restrict__ gcol, float* __restrict__ gx) {
  const int64_t P = g.OH * g.OW, total = nb * g.C * g.H * g.W;
  RAVDL_GRID_STRIDE(i, total) {
    const int64_t iw = i % g.W;
    int64_t r = i / g.W;
    const int64_t ih = r % g.H;
    r /= g.H;
    const int64_t ch = r % g.C, n = r / g.C;
    float acc = 0.0f;
    for (int64_t kh = 0; kh < g.KH; kh++) {
      const int64_t th = ih + g.pt - kh * g.dh;
      if (th < 0 || th % g.sh != 0) continue;
      const int64_t oh = th / g.sh;
      if (oh >= g.OH) continue;
      for (int64_t kw = 0; kw < g.KW; kw++) {
        const int64_t tw = iw + g.pl - kw * g.dw;
        if (tw < 0 || tw % g.sw != 0) continue;
        const int64_t ow = tw / g.sw;
        if (ow >= g.OW) continue;
        acc += gcol[((n * g.C + ch) * g.KH * g.KW + kh * g.KW + kw) * P + oh * g.OW + ow];
      }
    }
    gx[(n0 + n) * g.C * g.H * g.W + ((ch * g.H) + ih) * g.W + iw] = acc;
  }
}

// y[n][co][p] += bias[co]
__global__ void add_bias(int64_t N, int64_t Cout, int64_t P, const float* __restrict__ b, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(i, N * Cout * P) y[i] += b[(i / P) % Cout];
}

// gw (+)= sum over nb of partials[n][...] (wsize each), in sample order.
__global__ void sum_partials(int64_t nb, int64_t wsize, bool accumulate, const float* __restrict__ partials, float* __restrict__ gw) {
  RAVDL_GRID_STRIDE(i, wsize) {
    float acc = accumulate ? gw[i] : 0.0f;
    for (int64_t n = 0; n < nb; n++) acc += partials[n * wsize + i];
    gw[i] = acc;
  }
}

// gb[c] = sum of gy[:, c, :, :] in double, one block per channel.
constexpr int kBiasThreads = 256;
__global__ void __launch_bounds__(kBiasThreads) bias_grad(int64_t N, int64_t C, int64_t P, const float* __restrict__ gy, float* __restrict__ gb) {
  __shared__ double buf[kBiasThreads];
  for (int64_t ch = blockIdx.x; ch < C; ch += gridDim.x) {
    double acc = 0.0;
    for (int64_t i = threadIdx.x; i < N * P; i += blockDim.x) acc += gy[((i / P) * C + ch) * P + i % P];
    buf[threadIdx.x] = acc;
    __syncthreads();
    for (int half = kBiasThreads / 2; half > 0; half >>= 1) {
      if (threadIdx.x < half) buf[threadIdx.x] += buf[threadIdx.x + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) gb[ch] = static_cast<float>(buf[0]);
    __syncthreads();
  }
}

// Samples per chunk so that `per_sample` bytes of scratch each stay under the workspace.
int64_t chunk_of(int64_t N, int64_t per_sample) {
  return std::max<int64_t>(1, std::min<int64_t>(N, kWorkspaceBytes / std::max<int64_t>(per_sample, 1)));
}

// A non-zero padding mode: x is padded explicitly and convolved with no padding left, so the
// zero-padding kernels do the rest.
// The pad / pad_backward call of the padding of `c` on a tensor of shape xs.
Call pad_call(const Call& c, const Desc& in, const Desc& out) {
  Call p;
  p.dev = c.dev;
  p.op = c.op;  // errors name the conv
  p.in = {in};
  p.out = {out};
  const auto pad = c.ints("padding");
  int64_t t = 0, b = 0, l = 0, r = 0;
  if (pad.size() == 1) t = b = l = r = pad[0];
  else if (pad.size() == 2) t = b = pad[0], l = r = pad[1];
  else if (pad.size() == 4) t = pad[0], b = pad[1], l = pad[2], r = pad[3];
  p.attrs = {{"pads", {double(t), double(b), double(l), double(r)}}, {"mode", {double(c.integer("padding_mode", 0))}}};
  return p;
}
std::vector<int64_t> padded_shape(const Geom& g) { return {g.N, g.C, g.H + g.pt + g.pb, g.W + g.pl + g.pr}; }
// Whether the convolution pads in another mode than zeros: it then runs unpadded on a padded copy.
bool pads_explicitly(const Call& c, const Geom& g) { return c.integer("padding_mode", 0) != 0 && g.pt + g.pb + g.pl + g.pr > 0; }
// Scratch memory for the input as the convolution pads it (or its gradient), and its descriptor.
struct PaddedInput {
  Scratch buf;
  Desc desc;
  PaddedInput(const Call& c, const Geom& g)
      : buf(c.dev, static_cast<size_t>(std::max<int64_t>(1, g.N * g.C * (g.H + g.pt + g.pb) * (g.W + g.pl + g.pr))) * sizeof(float)),
        desc{buf.ptr, kF32, padded_shape(g)} {}
};
// The conv attributes without padding (the input is padded already).
Call unpadded(const Call& c) {
  Call u = c;
  u.attrs.clear();
  for (auto& a : c.attrs)
    if (a.name != "padding" && a.name != "padding_mode" && a.name != "x_shape") u.attrs.push_back(a);
  return u;
}

}  // namespace

// conv2d: (x, w, bias?) -> y
void launch_conv2d(const Call& c) {
  expect_io(c, 2, 3, 1);
  const Desc &x = c.in[0], &w = c.in[1], &y = c.out[0];
  expect_dtype(c, x, kF32, "x");
  expect_dtype(c, w, kF32, "w");
  expect_dtype(c, y, kF32, "output");
  const Geom g = geometry(c, x.shape, w.shape);
  if (pads_explicitly(c, g)) {
    const PaddedInput xp(c, g);
    launch_pad(pad_call(c, x, xp.desc));
    Call u = unpadded(c);
    u.in[0] = xp.desc;
    launch_conv2d(u);
    return;
  }
  const bool has_bias = c.present(2);
  if (has_bias) {
    expect_dtype(c, c.in[2], kF32, "bias");
    expect_shape(c, c.in[2], {g.Cout}, "bias");
  }
  expect_shape(c, y, {g.N, g.Cout, g.OH, g.OW}, "output");
  const int64_t P = g.P(), Kg = g.Kg(), Coutg = g.Coutg();
  if (y.numel() == 0) return;
  cudaStream_t s = stream_of(c.dev);
  const int64_t col_sample = g.C * g.KH * g.KW * P;  // floats of one sample's im2col
  const int64_t nb_max = g.direct() ? g.N : chunk_of(g.N, col_sample * 4);
  Scratch col(c.dev, g.direct() ? 1 : static_cast<size_t>(nb_max * col_sample) * sizeof(float));
  for (int64_t n0 = 0; n0 < g.N; n0 += nb_max) {
    const int64_t nb = std::min(nb_max, g.N - n0);
    const float* B = x.f() + n0 * g.C * g.H * g.W;
    if (!g.direct()) {
      im2col_kernel<<<grid_for(nb * col_sample), kThreads, 0, s>>>(g, n0, nb, x.f(), col.as<float>());
      B = col.as<float>();
    }
    for (int64_t gi = 0; gi < g.G; gi++)
      gemm(c.dev, false, false, Coutg, P, Kg, 1.0f, w.f() + gi * Coutg * Kg, Kg, 0, B + gi * Kg * P, P, col_sample, 0.0f,
           y.fw() + (n0 * g.Cout + gi * Coutg) * P, P, g.Cout * P, nb);
  }
  if (has_bias) add_bias<<<grid_for(y.numel()), kThreads, 0, s>>>(g.N, g.Cout, P, c.in[2].f(), y.fw());
}

// conv2d_backward_input: (gy, w) -> gx, attr x_shape (and conv2d's).
void launch_conv2d_backward_input(const Call& c) {
  expect_io(c, 2, 2, 1);
  const Desc &gy = c.in[0], &w = c.in[1], &gx = c.out[0];
  for (auto* d : {&gy, &w, &gx}) expect_dtype(c, *d, kF32, d == &gy ? "gy" : d == &w ? "w" : "output");
  const auto x_shape = c.has("x_shape") ? c.ints("x_shape") : gx.shape;
  expect_shape(c, gx, x_shape, "output");
  const Geom g = geometry(c, x_shape, w.shape);
  expect_shape(c, gy, {g.N, g.Cout, g.OH, g.OW}, "gy");
  if (pads_explicitly(c, g)) {
    // The gradient w.r.t. the padded input, folded back onto x by pad_backward.
    const PaddedInput gxp(c, g);
    Call u = unpadded(c);
    u.out[0] = gxp.desc;
    launch_conv2d_backward_input(u);
    Call fold = pad_call(c, gxp.desc, gx);
    fold.attrs.push_back({"shape", std::vector<double>(x_shape.begin(), x_shape.end())});
    launch_pad_backward(fold);
    return;
  }
  if (gx.numel() == 0) return;
  cudaStream_t s = stream_of(c.dev);
  const int64_t P = g.P(), Kg = g.Kg(), Coutg = g.Coutg();
  if (P == 0 || g.Cout == 0) {
    check_cuda(cudaMemsetAsync(gx.data, 0, static_cast<size_t>(gx.numel()) * sizeof(float), s), "cudaMemsetAsync");
    return;
  }
  const int64_t col_sample = g.C * g.KH * g.KW * P;
  if (g.direct()) {  // gx[n] = W^T gy[n], group by group
    for (int64_t gi = 0; gi < g.G; gi++)
      gemm(c.dev, true, false, Kg, P, Coutg, 1.0f, w.f() + gi * Coutg * Kg, Kg, 0, gy.f() + gi * Coutg * P, P, g.Cout * P, 0.0f,
           gx.fw() + gi * Kg * P, P, g.C * P, g.N);
    return;
  }
  const int64_t nb_max = chunk_of(g.N, col_sample * 4);
  Scratch gcol(c.dev, static_cast<size_t>(nb_max * col_sample) * sizeof(float));
  for (int64_t n0 = 0; n0 < g.N; n0 += nb_max) {
    const int64_t nb = std::min(nb_max, g.N - n0);
    for (int64_t gi = 0; gi < g.G; gi++)
      gemm(c.dev, true, false, Kg, P, Coutg, 1.0f, w.f() + gi * Coutg * Kg, Kg, 0, gy.f() + (n0 * g.Cout + gi * Coutg) * P, P,
           g.Cout * P, 0.0f, gcol.as<float>() + gi * Kg * P, P, col_sample, nb);
    col2im_kernel<<<grid_for(nb * g.C * g.H * g.W), kThreads, 0, s>>>(g, n0, nb, gcol.as<float>(), gx.fw());
  }
}

// conv2d_backward_weight: (gy, x) -> gw, attr w_shape (and conv2d's).
void launch_conv2d_backward_weight(const Call& c) {
  expect_io(c, 2, 2, 1);
  const Desc &gy = c.in[0], &x = c.in[1], &gw = c.out[0];
  for (auto* d : {&gy, &x, &gw}) expect_dtype(c, *d, kF32, d == &gy ? "gy" : d == &x ? "x" : "output");
  const auto w_shape = c.has("w_shape") ? c.ints("w_shape") : gw.shape;
  expect_shape(c, gw, w_shape, "output");
  const Geom g = geometry(c, x.shape, w_shape);
  expect_shape(c, gy, {g.N, g.Cout, g.OH, g.OW}, "gy");
  if (pads_explicitly(c, g)) {
    const PaddedInput xp(c, g);
    launch_pad(pad_call(c, x, xp.desc));
    Call u = unpadded(c);
    u.in[1] = xp.desc;
    launch_conv2d_backward_weight(u);
    return;
  }
  const int64_t wsize = gw.numel();
  if (wsize == 0) return;
  cudaStream_t s = stream_of(c.dev);
  const int64_t P = g.P(), Kg = g.Kg(), Coutg = g.Coutg();
  if (g.N == 0 || P == 0) {
    check_cuda(cudaMemsetAsync(gw.data, 0, static_cast<size_t>(wsize) * sizeof(float), s), "cudaMemsetAsync");
    return;
  }
  const int64_t col_sample = g.C * g.KH * g.KW * P;
  const int64_t per_sample = ((g.direct() ? 0 : col_sample) + wsize) * 4;
  const int64_t nb_max = chunk_of(g.N, per_sample);
  Scratch col(c.dev, g.direct() ? 1 : static_cast<size_t>(nb_max * col_sample) * sizeof(float));
  Scratch partial(c.dev, static_cast<size_t>(nb_max * wsize) * sizeof(float));
  for (int64_t n0 = 0; n0 < g.N; n0 += nb_max) {
    const int64_t nb = std::min(nb_max, g.N - n0);
    const float* B = x.f() + n0 * g.C * g.H * g.W;
    if (!g.direct()) {
      im2col_kernel<<<grid_for(nb * col_sample), kThreads, 0, s>>>(g, n0, nb, x.f(), col.as<float>());
      B = col.as<float>();
    }
    // partial[n][g] (Coutg x Kg) = gy[n][g] (Coutg x P) col[n][g]^T (P x Kg)
    for (int64_t gi = 0; gi < g.G; gi++)
      gemm(c.dev, false, true, Coutg, Kg, P, 1.0f, gy.f() + (n0 * g.Cout + gi * Coutg) * P, P, g.Cout * P, B + gi * Kg * P, P,
           col_sample, 0.0f, partial.as<float>() + gi * Coutg * Kg, Kg, wsize, nb);
    sum_partials<<<grid_for(wsize), kThreads, 0, s>>>(nb, wsize, n0 > 0, partial.as<float>(), gw.fw());
  }
}

// conv2d_backward_bias: gy (N, C, H, W) -> gb (C)
void launch_conv2d_backward_bias(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &gy = c.in[0], &gb = c.out[0];
  expect_dtype(c, gy, kF32, "gy");
  expect_dtype(c, gb, kF32, "output");
  if (gy.rank() != 4) fail(kShape, "conv2d_backward_bias: gy must be 4-D (N, C, H, W), got " + shape_str(gy.shape));
  expect_shape(c, gb, {gy.shape[1]}, "output");
  const int64_t C = gy.shape[1];
  if (C == 0) return;
  bias_grad<<<static_cast<unsigned>(std::min<int64_t>(C, 65536)), kBiasThreads, 0, stream_of(c.dev)>>>(
      gy.shape[0], C, gy.shape[2] * gy.shape[3], gy.f(), gb.fw());
}

}  // namespace ravdl_cuda

// conv2d gradients: input (GEMM + col2im, then pad_backward for non-zero padding modes),
// weight (per-task partial sums reduced in a fixed order, so results are deterministic)
// and bias.
#include <algorithm>
#include <vector>

#include "ravdl/conv.h"
#include "ravdl/gemm.h"
#include "ravdl/parallel.h"

namespace ravdl {
namespace {

void check_gy(const char* op, const CFView& gy, const Conv2dGeom& g) {
  Shape want = g.out_shape();
  if (gy.shape != want)
    fail(ErrorCode::Shape, op, ": gy has shape ", shape_str(gy.shape), " but the convolution output is ",
         shape_str(want));
}

// Sum with 8 independent accumulators (vectorizable, not bound by the add latency).
double row_sum(const float* r, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += r[i + k];
  double s = 0;
  for (; i < n; ++i) s += r[i];
  for (float a : acc) s += a;
  return s;
}

}  // namespace

void conv2d_backward_input(CFView gy, CFView w, const Shape& x_shape, FSpan gx,
                           const Conv2dAttrs& a) {
  const char* op = "conv2d_backward_input";
  Conv2dGeom g = conv2d_geometry(op, x_shape, w.shape, a);
  check_gy(op, gy, g);
  FView out = out_view(op, "gx", gx, x_shape);
  check_no_alias(op, "gx", out.data, gx.size, "gy", gy.data, static_cast<size_t>(gy.numel()));
  check_no_alias(op, "gx", out.data, gx.size, "w", w.data, static_cast<size_t>(w.numel()));

  const detail::ConvLayout l = detail::conv_layout(g);
  const int64_t CHW = g.C * g.H * g.W, Coutg = g.Coutg();
  const int64_t tasks = detail::conv_sample_tasks(g.N, 2.0 * g.Cout * l.Kg * l.P);
  const bool gemm = l.Kg > 0 && l.P > 0 && Coutg > 0;
  // GEMM + col2im for every shape: the Winograd form of this gradient (a 3x3 conv of gy with the
  // rotated kernel) measured 1.1-1.7x slower than col2im here, unlike the forward pass.
  const int64_t target_size = g.C * l.Hs * l.Ws;  // what im2col read, per sample
  auto run = [&](int64_t t0, int64_t t1) {
    std::vector<float> padbuf(l.prepad ? static_cast<size_t>(target_size) : 0);
    std::vector<float> gcol(l.direct ? 0 : static_cast<size_t>(g.G * l.Kg * l.P));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t s1 = (t + 1) * g.N / tasks;
      for (int64_t s = t * g.N / tasks; s < s1; ++s) {
        float* gxs = out.data + s * CHW;
        float* target = l.prepad ? padbuf.data() : gxs;  // gradient wrt what im2col read
        const float* gys = gy.data + s * g.Cout * l.P;
        float* gc = l.direct ? target : gcol.data();  // direct: gcol is the target itself
        if (gemm) {
          for (int64_t grp = 0; grp < g.G; ++grp)
            sgemm(true, false, l.Kg, l.P, Coutg, 1.0f, w.data + grp * Coutg * l.Kg, l.Kg,
                  gys + grp * Coutg * l.P, l.P, 0.0f, gc + grp * l.Kg * l.P, l.P);
        } else {
          std::fill(gc, gc + g.G * l.Kg * l.P, 0.0f);
        }
        if (!l.direct) {
          std::fill(target, target + target_size, 0.0f);
          detail::col2im(gcol.data(), g.C, l.Hs, l.Ws, g, l.pt, l.pl, target);
        }
        if (l.prepad)
          detail::pad_backward_raw(padbuf.data(), {g.C, g.H, g.W}, l.pads, l.pad_mode, gxs, false);
      }
    }
  };
  if (tasks > 1) parallel_for(tasks, 1, run);
  else run(0, 1);
}

void conv2d_backward_weight(CFView gy, CFView x, const Shape& w_shape, FSpan gw,
                            const Conv2dAttrs& a) {
  const char* op = "conv2d_backward_weight";
  Conv2dGeom g = conv2d_geometry(op, x.shape, w_shape, a);
  check_gy(op, gy, g);
  FView out = out_view(op, "gw", gw, w_shape);
  check_no_alias(op, "gw", out.data, gw.size, "gy", gy.data, static_cast<size_t>(gy.numel()));
  check_no_alias(op, "gw", out.data, gw.size, "x", x.data, static_cast<size_t>(x.numel()));

  const detail::ConvLayout l = detail::conv_layout(g);
  const int64_t CHW = g.C * g.H * g.W, Coutg = g.Coutg();
  const int64_t tasks = detail::conv_sample_tasks(g.N, 2.0 * g.Cout * l.Kg * l.P);
  const bool wino = !l.direct && detail::winograd_applies(g.KH, g.KW, g.sh, g.sw, g.dh, g.dw, g.G, g.C, g.Cout);
  // What the tasks sum: gw itself, or its Winograd-domain form [16][Cout][C].
  const int64_t wsize = wino ? 16 * g.Cout * g.C : g.Cout * l.Kg;
  const int64_t nb = wino ? detail::winograd_batch(g.OH, g.OW, 64) : 1;  // samples per step
  std::vector<float> UW(wino ? static_cast<size_t>(wsize) : 0);
  float* sum = wino ? UW.data() : out.data;
  std::fill(sum, sum + wsize, 0.0f);
  // Task 0 sums into `sum`; the others into their own partial, added in task order below.
  std::vector<std::vector<float>> parts(static_cast<size_t>(tasks - 1));
  auto run = [&](int64_t t0, int64_t t1) {
    std::vector<float> padbuf(l.prepad ? static_cast<size_t>(nb * g.C * l.Hs * l.Ws) : 0);
    std::vector<float> col(l.direct || wino ? 0 : static_cast<size_t>(g.G * l.Kg * l.P));
    std::vector<float> V, Z;
    for (int64_t t = t0; t < t1; ++t) {
      float* acc = sum;
      if (t > 0) {
        parts[t - 1].assign(static_cast<size_t>(wsize), 0.0f);
        acc = parts[t - 1].data();
      }
      if (l.Kg == 0 || l.P == 0 || Coutg == 0) continue;
      const int64_t s1 = (t + 1) * g.N / tasks;
      for (int64_t s = t * g.N / tasks; s < s1; s += nb) {
        const int64_t cnt = std::min(nb, s1 - s);
        const float* src = x.data + s * CHW;
        if (l.prepad) {
          for (int64_t i = 0; i < cnt; ++i)
            detail::pad_raw(src + i * CHW, {g.C, g.H, g.W}, l.pads, l.pad_mode, 0.0f,
                            padbuf.data() + i * g.C * l.Hs * l.Ws, false);
          src = padbuf.data();
        }
        const float* gys = gy.data + s * g.Cout * l.P;
        if (wino) {
          detail::winograd_weight_grad(src, gys, cnt, g.C, l.Hs, l.Ws, l.pt, l.pl, g.Cout, g.OH, g.OW,
                                       acc, V, Z);
          continue;
        }
        const float* cm = src;
        if (!l.direct) {
          detail::im2col(src, g.C, l.Hs, l.Ws, g, l.pt, l.pl, col.data());
          cm = col.data();
        }
        for (int64_t grp = 0; grp < g.G; ++grp)
          sgemm(false, true, Coutg, l.Kg, l.P, 1.0f, gys + grp * Coutg * l.P, l.P,
                cm + grp * l.Kg * l.P, l.P, 1.0f, acc + grp * Coutg * l.Kg, l.Kg);
      }
    }
  };
  if (tasks > 1) parallel_for(tasks, 1, run);
  else run(0, 1);
  for (const auto& p : parts)
    for (int64_t i = 0; i < wsize; ++i) sum[i] += p[i];
  if (wino) detail::winograd_weights_back(UW.data(), g.Cout, g.C, out.data);
}

void conv2d_backward_bias(CFView gy, FSpan gb) {
  const char* op = "conv2d_backward_bias";
  if (gy.shape.size() != 4) fail(ErrorCode::Shape, op, ": gy must be 4-D NCHW, got shape ", shape_str(gy.shape));
  const int64_t N = gy.shape[0], C = gy.shape[1], P = gy.shape[2] * gy.shape[3];
  FView out = out_view(op, "gb", gb, {C});
  check_no_alias(op, "gb", out.data, gb.size, "gy", gy.data, static_cast<size_t>(gy.numel()));
  const int64_t per = std::max<int64_t>(1, N * P);
  parallel_for(C, std::max<int64_t>(1, 65536 / per), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double total = 0;
      for (int64_t n = 0; n < N; ++n) {
        const float* r = gy.data + (n * C + c) * P;
        total += row_sum(r, P);
      }
      out.data[c] = static_cast<float>(total);
    }
  });
}

}  // namespace ravdl

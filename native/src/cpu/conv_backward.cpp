// conv2d gradients: input (GEMM + col2im, which also folds non-zero padding modes back),
// weight (per-chunk partial sums added in chunk order; the chunks depend on the shape only, so
// the result does not depend on the thread count) and bias. Scratch stays under
// detail::kConvWorkspaceBytes (see conv_plan).
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
  const int64_t CHW = g.C * g.H * g.W, Coutg = g.Coutg(), P = g.OH * g.OW;
  if (out.numel() == 0) return;
  if (gy.numel() == 0) {  // no output position reads x: its gradient is 0, no scratch needed
    std::fill(out.data, out.data + out.numel(), 0.0f);
    return;
  }
  const detail::ConvPlan pl = detail::conv_plan(g, 0);
  const int64_t tasks = detail::conv_sample_tasks(g.N, 2.0 * g.Cout * g.Cg() * g.KH * g.KW * P, pl);
  const int64_t Kg = pl.Kg;
  // GEMM + col2im for every shape: the Winograd form of this gradient (a 3x3 conv of gy with the
  // rotated kernel) measured 1.1-1.7x slower than col2im here, unlike the forward pass.
  auto run = [&](int64_t t0, int64_t t1) {
    std::vector<float> gcol;  // scratch, sized on first use
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t s1 = (t + 1) * g.N / tasks;
      for (int64_t s = t * g.N / tasks; s < s1; ++s) {
        float* gxs = out.data + s * CHW;
        const float* gys = gy.data + s * g.Cout * P;
        if (pl.direct) {  // the im2col matrix is the sample itself: the GEMM writes gx
          for (int64_t grp = 0; grp < g.G; ++grp)
            sgemm(true, false, Kg, P, Coutg, 1.0f, w.data + grp * Coutg * Kg, Kg, gys + grp * Coutg * P, P,
                  0.0f, gxs + grp * Kg * P, P);
          continue;
        }
        std::fill(gxs, gxs + CHW, 0.0f);
        gcol.resize(static_cast<size_t>(g.G * Kg * pl.pb));
        for (int64_t p0 = 0; p0 < P; p0 += pl.pb) {
          const int64_t p1 = std::min(P, p0 + pl.pb), n = p1 - p0;
          for (int64_t grp = 0; grp < g.G; ++grp)
            sgemm(true, false, Kg, n, Coutg, 1.0f, w.data + grp * Coutg * Kg, Kg, gys + grp * Coutg * P + p0, P,
                  0.0f, gcol.data() + grp * Kg * n, n);
          detail::col2im(gcol.data(), g, p0, p1, gxs);
        }
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
  const int64_t CHW = g.C * g.H * g.W, Coutg = g.Coutg(), P = g.OH * g.OW;
  std::fill(out.data, out.data + out.numel(), 0.0f);
  if (out.numel() == 0 || gy.numel() == 0) return;  // no output position: gw = 0, no scratch

  const detail::ConvPlan pl = detail::conv_plan(g, 64);
  const int64_t Kg = pl.Kg, TH = (g.OH + 1) / 2;
  // What the chunks sum: gw itself, or its Winograd-domain form [16][Cout][C].
  const int64_t wsize = pl.wino ? 16 * g.Cout * g.C : g.Cout * Kg;
  const int64_t chunks = detail::conv_weight_chunks(g.N, 2.0 * g.Cout * g.Cg() * g.KH * g.KW * P, wsize);
  std::vector<float> UW(pl.wino ? static_cast<size_t>(wsize) : 0);
  float* sum = pl.wino ? UW.data() : out.data;
  // Chunk 0 sums into `sum`; the others into their own partial, added in chunk order below.
  std::vector<std::vector<float>> parts(static_cast<size_t>(chunks - 1));
  struct Scratch {
    std::vector<float> col, V, Z, rows;  // sized on first use
  };
  // Sums the samples of chunk k (in sample order) into acc.
  auto run_chunk = [&](int64_t k, float* acc, Scratch& sc) {
    const int64_t s1 = (k + 1) * g.N / chunks;
    for (int64_t s = k * g.N / chunks; s < s1; s += pl.wino ? pl.nb : 1) {
      const float* src = x.data + s * CHW;
      const float* gys = gy.data + s * g.Cout * P;
      if (pl.wino) {
        const int64_t cnt = std::min(pl.nb, s1 - s);
        for (int64_t th0 = 0; th0 < TH; th0 += pl.band) {
          const int64_t th1 = std::min(TH, th0 + pl.band);
          if (!pl.prepad) {
            detail::winograd_weight_grad(src, gys, cnt, g.C, g.H, g.W, g.pt, g.pl, g.Cout, g.OH, g.OW, th0, th1,
                                         acc, sc.V, sc.Z);
            continue;
          }
          const int64_t r0 = 2 * th0, r1 = std::min(g.Hp(), 2 * th1 + 2);  // as in conv2d
          sc.rows.resize(static_cast<size_t>(cnt * g.C * (r1 - r0) * g.Wp()));
          detail::pad_rows(src, cnt, g, r0, r1, sc.rows.data());
          detail::winograd_weight_grad(sc.rows.data(), gys, cnt, g.C, r1 - r0, g.Wp(), r0, 0, g.Cout, g.OH, g.OW,
                                       th0, th1, acc, sc.V, sc.Z);
        }
        continue;
      }
      if (pl.direct) {
        for (int64_t grp = 0; grp < g.G; ++grp)
          sgemm(false, true, Coutg, Kg, P, 1.0f, gys + grp * Coutg * P, P, src + grp * Kg * P, P, 1.0f,
                acc + grp * Coutg * Kg, Kg);
        continue;
      }
      sc.col.resize(static_cast<size_t>(g.G * Kg * pl.pb));
      for (int64_t p0 = 0; p0 < P; p0 += pl.pb) {
        const int64_t p1 = std::min(P, p0 + pl.pb), n = p1 - p0;
        detail::im2col(src, g, p0, p1, sc.col.data());
        for (int64_t grp = 0; grp < g.G; ++grp)
          sgemm(false, true, Coutg, Kg, n, 1.0f, gys + grp * Coutg * P + p0, P, sc.col.data() + grp * Kg * n, n,
                1.0f, acc + grp * Coutg * Kg, Kg);
      }
    }
  };
  auto acc_of = [&](int64_t k) {
    if (k == 0) return sum;
    parts[k - 1].assign(static_cast<size_t>(wsize), 0.0f);
    return parts[k - 1].data();
  };
  // Lanes run the chunks at once, round robin, when that keeps at least half the threads busy;
  // otherwise the chunks run one after another and their GEMMs use the pool. Same sums either way.
  const int64_t threads = get_num_threads();
  const int64_t fit = detail::conv_workspace_cap() / static_cast<int64_t>(sizeof(float)) / std::max<int64_t>(1, pl.scratch);
  const int64_t lanes = std::min({chunks, threads, std::max<int64_t>(1, fit)});
  if (lanes > 1 && 2 * lanes >= threads) {
    parallel_for(lanes, 1, [&](int64_t l0, int64_t l1) {
      for (int64_t l = l0; l < l1; ++l) {
        Scratch sc;
        for (int64_t k = l; k < chunks; k += lanes) run_chunk(k, acc_of(k), sc);
      }
    });
  } else {
    Scratch sc;
    for (int64_t k = 0; k < chunks; ++k) run_chunk(k, acc_of(k), sc);
  }
  for (const auto& p : parts)
    for (int64_t i = 0; i < wsize; ++i) sum[i] += p[i];
  if (pl.wino) detail::winograd_weights_back(UW.data(), g.Cout, g.C, out.data);
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

// conv2d: attribute parsing, geometry/validation, shape function and the forward kernel.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <vector>

#include "ravdl/conv.h"
#include "ravdl/gemm.h"
#include "ravdl/parallel.h"

namespace ravdl {
namespace {

constexpr int64_t kMaxDim = std::numeric_limits<int32_t>::max();

const char* mode_name(ConvPaddingMode m) {
  switch (m) {
    case ConvPaddingMode::Zeros: return "zeros";
    case ConvPaddingMode::Reflect: return "reflect";
    case ConvPaddingMode::Replicate: return "replicate";
    case ConvPaddingMode::Circular: return "circular";
  }
  return "?";
}

void check_rank4(const char* op, const char* name, const Shape& s) {
  if (s.size() != 4)
    fail(ErrorCode::Shape, op, ": ", name, " must be 4-D, got shape ", shape_str(s));
  for (int64_t d : s)
    if (d < 0 || d > kMaxDim)
      fail(ErrorCode::Shape, op, ": ", name, " shape ", shape_str(s), " has a dim outside [0, 2^31)");
}

void check_range(const char* op, const char* name, int64_t v, int64_t lo) {
  if (v < lo || v > kMaxDim)
    fail(ErrorCode::Attr, op, ": ", name, " must be in [", lo, ", 2^31), got ", v);
}

}  // namespace

ConvPadding conv_padding_from(const char* op, const std::string& s) {
  if (s == "same") return ConvPadding::Same;
  if (s == "valid") return ConvPadding::Valid;
  fail(ErrorCode::Attr, op, ": padding must be an integer, [h, w], 'same' or 'valid', got '", s, "'");
}

ConvPaddingMode conv_padding_mode_from(const char* op, const std::string& s) {
  if (s == "zeros") return ConvPaddingMode::Zeros;
  if (s == "reflect") return ConvPaddingMode::Reflect;
  if (s == "replicate") return ConvPaddingMode::Replicate;
  if (s == "circular") return ConvPaddingMode::Circular;
  fail(ErrorCode::Attr, op, ": padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got '",
       s, "'");
}

Conv2dGeom conv2d_geometry(const char* op, const Shape& x, const Shape& w, const Conv2dAttrs& a) {
  check_rank4(op, "x", x);
  check_rank4(op, "w", w);
  check_range(op, "stride[0]", a.stride[0], 1);
  check_range(op, "stride[1]", a.stride[1], 1);
  check_range(op, "dilation[0]", a.dilation[0], 1);
  check_range(op, "dilation[1]", a.dilation[1], 1);
  check_range(op, "groups", a.groups, 1);
  Conv2dGeom g{};
  g.N = x[0], g.C = x[1], g.H = x[2], g.W = x[3];
  g.Cout = w[0], g.KH = w[2], g.KW = w[3];
  g.G = a.groups;
  g.sh = a.stride[0], g.sw = a.stride[1], g.dh = a.dilation[0], g.dw = a.dilation[1];
  g.mode = a.padding_mode;
  if (g.C % g.G != 0)
    fail(ErrorCode::Attr, op, ": groups=", g.G, " does not divide the input channels ", g.C);
  if (g.Cout % g.G != 0)
    fail(ErrorCode::Attr, op, ": groups=", g.G, " does not divide the output channels ", g.Cout);
  if (w[1] != g.C / g.G)
    fail(ErrorCode::Shape, op, ": w ", shape_str(w), " needs ", g.C / g.G,
         " input channels per group (x has ", g.C, " channels, groups=", g.G, "), got ", w[1]);
  if (g.KH < 1 || g.KW < 1) fail(ErrorCode::Shape, op, ": kernel size must be >= 1, got w ", shape_str(w));
  const int64_t ekh = g.dh * (g.KH - 1) + 1, ekw = g.dw * (g.KW - 1) + 1;
  switch (a.padding_kind) {
    case ConvPadding::Explicit:
      check_range(op, "padding[0]", a.padding[0], 0);
      check_range(op, "padding[1]", a.padding[1], 0);
      g.pt = g.pb = a.padding[0];
      g.pl = g.pr = a.padding[1];
      break;
    case ConvPadding::Valid: g.pt = g.pb = g.pl = g.pr = 0; break;
    case ConvPadding::Same:
      if (g.sh != 1 || g.sw != 1)
        fail(ErrorCode::Attr, op, ": padding='same' is not supported for strided convolutions, got stride [",
             g.sh, ", ", g.sw, "]");
      // torch puts the odd element of the total padding at the bottom/right.
      g.pt = (ekh - 1) / 2, g.pb = ekh - 1 - g.pt;
      g.pl = (ekw - 1) / 2, g.pr = ekw - 1 - g.pl;
      break;
  }
  if (g.mode != ConvPaddingMode::Zeros) {
    // Same rules as pad() with the corresponding mode; the message names the conv.
    static const PadMode as_pad[] = {PadMode::Constant, PadMode::Reflect, PadMode::Replicate,
                                     PadMode::Circular};
    PadMode pm = as_pad[static_cast<int>(g.mode)];
    std::string who = std::string(op) + " (padding_mode '" + mode_name(g.mode) + "')";
    pad_shape(who.c_str(), {g.C, g.H, g.W}, {g.pt, g.pb, g.pl, g.pr}, pm);
  }
  if (ekh > g.Hp() || ekw > g.Wp())
    fail(ErrorCode::Shape, op, ": kernel ", g.KH, "x", g.KW, " with dilation [", g.dh, ", ", g.dw,
         "] (effective ", ekh, "x", ekw, ") is larger than the padded input ", g.Hp(), "x", g.Wp());
  g.OH = (g.Hp() - ekh) / g.sh + 1;
  g.OW = (g.Wp() - ekw) / g.sw + 1;
  numel(g.out_shape());  // rejects overflow
  return g;
}

Shape conv2d_shape(const Shape& x, const Shape& w, const Conv2dAttrs& a) {
  return conv2d_geometry("conv2d_shape", x, w, a).out_shape();
}

namespace detail {
namespace {
std::atomic<int64_t> g_workspace_cap{kConvWorkspaceBytes};
}  // namespace

int64_t conv_workspace_cap() { return g_workspace_cap.load(std::memory_order_relaxed); }
void set_conv_workspace_cap(int64_t bytes) {
  g_workspace_cap.store(bytes > 0 ? bytes : kConvWorkspaceBytes, std::memory_order_relaxed);
}

ConvPlan conv_plan(const Conv2dGeom& g, int64_t wino_tiles) {
  ConvPlan p;
  const bool padded = g.pt || g.pb || g.pl || g.pr;
  p.Kg = g.Cg() * g.KH * g.KW;
  p.P = g.OH * g.OW;
  p.direct = g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && !padded;
  // Floats of scratch one task may hold.
  const int64_t budget = std::max<int64_t>(1, conv_workspace_cap() / kConvShares) / static_cast<int64_t>(sizeof(float));
  const int64_t per_pos = g.C * g.KH * g.KW;  // im2col floats per output position
  p.pb = std::clamp<int64_t>(budget / std::max<int64_t>(1, per_pos), 1, std::max<int64_t>(1, p.P));
  p.wino = wino_tiles > 0 && !p.direct && winograd_applies(g.KH, g.KW, g.sh, g.sw, g.dh, g.dw, g.G, g.C, g.Cout);
  p.prepad = p.wino && padded && g.mode != ConvPaddingMode::Zeros;
  int64_t tiles_per_call = 0;
  const int64_t per_tile = 16 * (g.C + g.Cout) + (p.prepad ? 16 * g.C : 0);
  if (p.wino) {
    const int64_t TH = (g.OH + 1) / 2, TW = (g.OW + 1) / 2;
    // Per 2x2 tile: 16 transformed values per channel in and out, and for prepad the padded
    // rows (a band of b tile rows reads (2b + 2) x (2 TW + 2) values: at most 16 per tile).
    const int64_t tiles = budget / per_tile;  // tiles per call within the budget
    if (TH * TW <= tiles) {
      p.nb = std::clamp<int64_t>(winograd_batch(g.OH, g.OW, wino_tiles), 1, tiles / std::max<int64_t>(1, TH * TW));
      p.band = TH;
      tiles_per_call = p.nb * TH * TW;
    } else {
      p.band = tiles / std::max<int64_t>(1, TW);
      p.wino = p.band > 0;  // not even one row of tiles fits: im2col blocks can be smaller
      tiles_per_call = p.band * TW;
    }
  }
  p.scratch = p.direct ? 0 : p.wino ? per_tile * tiles_per_call : per_pos * p.pb;
  return p;
}

namespace {
// Tasks whose scratch fits the cap together (at least 1: a single position may exceed it).
int64_t fitting_tasks(const ConvPlan& p) {
  const int64_t cap = conv_workspace_cap() / static_cast<int64_t>(sizeof(float));
  return std::max<int64_t>(1, cap / std::max<int64_t>(1, p.scratch));
}

// Tasks worth a thread: ~0.5 MFLOP (tens of µs) each at least.
int64_t by_work(int64_t N, double flops_per_sample) {
  return std::max<int64_t>(1, static_cast<int64_t>(flops_per_sample * static_cast<double>(N) / 5e5));
}
}  // namespace

int64_t conv_sample_tasks(int64_t N, double flops_per_sample, const ConvPlan& p) {
  const int64_t t = std::min<int64_t>({get_num_threads(), N, by_work(N, flops_per_sample), fitting_tasks(p)});
  return std::max<int64_t>(1, t);
}

int64_t conv_weight_chunks(int64_t N, double flops_per_sample, int64_t wsize) {
  const int64_t partials = conv_workspace_cap() / 8 / static_cast<int64_t>(sizeof(float)) / std::max<int64_t>(1, wsize);
  const int64_t c = std::min<int64_t>({N, by_work(N, flops_per_sample), kConvShares, 1 + partials});
  return std::max<int64_t>(1, c);
}

}  // namespace detail

void conv2d(CFView x, CFView w, std::optional<Span<const float>> bias, FSpan out,
            const Conv2dAttrs& a) {
  const char* op = "conv2d";
  Conv2dGeom g = conv2d_geometry(op, x.shape, w.shape, a);
  FView y = out_view(op, "out", out, g.out_shape());
  if (bias) {
    if (static_cast<int64_t>(bias->size) != g.Cout)
      fail(ErrorCode::Shape, op, ": bias has ", bias->size, " elements but w ", shape_str(w.shape),
           " has ", g.Cout, " output channels");
    if (g.Cout > 0 && !bias->data) fail(ErrorCode::Arg, op, ": bias has no data");
    check_no_alias(op, "out", y.data, out.size, "bias", bias->data, bias->size);
  }
  check_no_alias(op, "out", y.data, out.size, "x", x.data, static_cast<size_t>(x.numel()));
  check_no_alias(op, "out", y.data, out.size, "w", w.data, static_cast<size_t>(w.numel()));
  if (y.numel() == 0) return;  // no output, no work: allocate nothing

  const int64_t CHW = g.C * g.H * g.W, Coutg = g.Coutg(), P = g.OH * g.OW;
  const detail::ConvPlan pl = detail::conv_plan(g, 256);
  const int64_t tasks = detail::conv_sample_tasks(g.N, 2.0 * g.Cout * g.Cg() * g.KH * g.KW * P, pl);
  const int64_t Kg = pl.Kg, TH = (g.OH + 1) / 2;
  const float* b = bias ? bias->data : nullptr;
  std::vector<float> U(pl.wino ? static_cast<size_t>(16 * g.Cout * g.C) : 0);
  if (pl.wino) detail::winograd_weights(w.data, g.Cout, g.C, U.data());
  auto run = [&](int64_t t0, int64_t t1) {
    std::vector<float> col, V, M, rows;  // scratch, sized on first use
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t s1 = (t + 1) * g.N / tasks;
      for (int64_t s = t * g.N / tasks; s < s1; s += pl.wino ? pl.nb : 1) {
        const float* src = x.data + s * CHW;
        float* ys = y.data + s * g.Cout * P;
        if (pl.wino) {
          const int64_t cnt = std::min(pl.nb, s1 - s);
          for (int64_t th0 = 0; th0 < TH; th0 += pl.band) {
            const int64_t th1 = std::min(TH, th0 + pl.band);
            if (!pl.prepad) {
              detail::winograd_conv(src, cnt, g.C, g.H, g.W, g.pt, g.pl, U.data(), g.Cout, g.OH, g.OW, th0, th1,
                                    b, ys, V, M);
              continue;
            }
            // The band's padded rows 2*th0 .. 2*th1 + 1, read as an unpadded image.
            const int64_t r0 = 2 * th0, r1 = std::min(g.Hp(), 2 * th1 + 2);
            rows.resize(static_cast<size_t>(cnt * g.C * (r1 - r0) * g.Wp()));
            detail::pad_rows(src, cnt, g, r0, r1, rows.data());
            detail::winograd_conv(rows.data(), cnt, g.C, r1 - r0, g.Wp(), r0, 0, U.data(), g.Cout, g.OH, g.OW,
                                  th0, th1, b, ys, V, M);
          }
          continue;
        }
        for (int64_t c = 0; c < g.Cout; ++c) std::fill(ys + c * P, ys + (c + 1) * P, b ? b[c] : 0.0f);
        if (Kg == 0) continue;
        if (pl.direct) {
          for (int64_t grp = 0; grp < g.G; ++grp)
            sgemm(false, false, Coutg, P, Kg, 1.0f, w.data + grp * Coutg * Kg, Kg, src + grp * Kg * P, P,
                  1.0f, ys + grp * Coutg * P, P);
          continue;
        }
        col.resize(static_cast<size_t>(g.G * Kg * pl.pb));
        for (int64_t p0 = 0; p0 < P; p0 += pl.pb) {
          const int64_t p1 = std::min(P, p0 + pl.pb), n = p1 - p0;
          detail::im2col(src, g, p0, p1, col.data());
          for (int64_t grp = 0; grp < g.G; ++grp)
            sgemm(false, false, Coutg, n, Kg, 1.0f, w.data + grp * Coutg * Kg, Kg, col.data() + grp * Kg * n, n,
                  1.0f, ys + grp * Coutg * P + p0, P);
        }
      }
    }
  };
  if (tasks > 1) parallel_for(tasks, 1, run);
  else run(0, 1);
}

}  // namespace ravdl

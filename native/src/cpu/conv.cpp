// conv2d: attribute parsing, geometry/validation, shape function and the forward kernel.
#include <algorithm>
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

ConvLayout conv_layout(const Conv2dGeom& g) {
  ConvLayout l;
  bool padded = g.pt || g.pb || g.pl || g.pr;
  l.prepad = padded && g.mode != ConvPaddingMode::Zeros;
  static const PadMode as_pad[] = {PadMode::Constant, PadMode::Reflect, PadMode::Replicate,
                                   PadMode::Circular};
  l.pad_mode = as_pad[static_cast<int>(g.mode)];
  l.pads = {g.pt, g.pb, g.pl, g.pr};
  l.Hs = l.prepad ? g.Hp() : g.H;
  l.Ws = l.prepad ? g.Wp() : g.W;
  l.pt = l.prepad ? 0 : g.pt;
  l.pl = l.prepad ? 0 : g.pl;
  l.direct = g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && (l.prepad || !padded);
  l.Kg = g.Cg() * g.KH * g.KW;
  l.P = g.OH * g.OW;
  return l;
}

int64_t conv_sample_tasks(int64_t N, double flops_per_sample) {
  int64_t t = std::min<int64_t>(get_num_threads(), N);
  // ~0.5 MFLOP (tens of µs) per task at least, so small convs stay on the calling thread.
  int64_t by_work = static_cast<int64_t>(flops_per_sample * static_cast<double>(N) / 5e5);
  t = std::min(t, by_work);
  return std::max<int64_t>(1, t);
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

  const detail::ConvLayout l = detail::conv_layout(g);
  const int64_t CHW = g.C * g.H * g.W, Coutg = g.Coutg();
  const int64_t tasks = detail::conv_sample_tasks(g.N, 2.0 * g.Cout * l.Kg * l.P);
  const float* b = bias ? bias->data : nullptr;
  const bool wino = !l.direct && detail::winograd_applies(g.KH, g.KW, g.sh, g.sw, g.dh, g.dw, g.G, g.C, g.Cout);
  std::vector<float> U(wino ? static_cast<size_t>(16 * g.Cout * g.C) : 0);
  if (wino) detail::winograd_weights(w.data, g.Cout, g.C, U.data());
  const int64_t nb = wino ? detail::winograd_batch(g.OH, g.OW, 256) : 1;  // samples per step
  auto run = [&](int64_t t0, int64_t t1) {
    std::vector<float> padbuf(l.prepad ? static_cast<size_t>(nb * g.C * l.Hs * l.Ws) : 0);
    std::vector<float> col(l.direct || wino ? 0 : static_cast<size_t>(g.G * l.Kg * l.P));
    std::vector<float> V, M;
    for (int64_t t = t0; t < t1; ++t) {
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
        float* ys = y.data + s * g.Cout * l.P;
        if (wino) {
          detail::winograd_conv(src, cnt, g.C, l.Hs, l.Ws, l.pt, l.pl, U.data(), g.Cout, g.OH, g.OW,
                                b, ys, V, M);
          continue;
        }
        const float* cm = src;
        if (!l.direct) {
          detail::im2col(src, g.C, l.Hs, l.Ws, g, l.pt, l.pl, col.data());
          cm = col.data();
        }
        for (int64_t c = 0; c < g.Cout; ++c) std::fill(ys + c * l.P, ys + (c + 1) * l.P, b ? b[c] : 0.0f);
        if (l.Kg == 0 || l.P == 0 || Coutg == 0) continue;
        for (int64_t grp = 0; grp < g.G; ++grp)
          sgemm(false, false, Coutg, l.P, l.Kg, 1.0f, w.data + grp * Coutg * l.Kg, l.Kg,
                cm + grp * l.Kg * l.P, l.P, 1.0f, ys + grp * Coutg * l.P, l.P);
      }
    }
  };
  if (tasks > 1) parallel_for(tasks, 1, run);
  else run(0, 1);
}

}  // namespace ravdl

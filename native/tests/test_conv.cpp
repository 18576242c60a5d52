// conv2d forward and gradients vs a direct 7-loop reference, over the option grid.
#include <cmath>
#include <cstdint>
#include <vector>

#include "check.h"
#include "ravdl/conv.h"
#include "ravdl/gemm.h"
#include "ravdl/parallel.h"

using namespace ravdl;

namespace {

std::vector<float> rnd(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}

// Source index of padded coordinate i (already shifted by the pad) for each mode, or -1.
int64_t ref_src(int64_t i, int64_t n, ConvPaddingMode m) {
  if (i >= 0 && i < n) return i;
  switch (m) {
    case ConvPaddingMode::Zeros: return -1;
    case ConvPaddingMode::Reflect: return i < 0 ? -i : 2 * n - 2 - i;
    case ConvPaddingMode::Replicate: return i < 0 ? 0 : n - 1;
    case ConvPaddingMode::Circular: return ((i % n) + n) % n;
  }
  return -1;
}

struct Cfg {
  int64_t N, C, H, W, Cout, KH, KW;
  Conv2dAttrs a;
  bool bias;
};

struct RefOut {
  std::vector<double> y, gx, gw, gb;
};

// Direct definition: y[n,o,oh,ow] = b[o] + sum_{c,kh,kw} w[o,c,kh,kw] * xpad[n, g*Cg+c, oh*s+kh*d, ow*s+kw*d]
RefOut reference(const Cfg& c, const Conv2dGeom& g, const std::vector<float>& x,
                 const std::vector<float>& w, const std::vector<float>& b,
                 const std::vector<float>& gy) {
  RefOut r;
  r.y.assign(static_cast<size_t>(g.N * g.Cout * g.OH * g.OW), 0.0);
  r.gx.assign(x.size(), 0.0);
  r.gw.assign(w.size(), 0.0);
  r.gb.assign(static_cast<size_t>(g.Cout), 0.0);
  const int64_t Cg = g.C / g.G, Og = g.Cout / g.G;
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t o = 0; o < g.Cout; ++o)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          size_t yi = static_cast<size_t>(((n * g.Cout + o) * g.OH + oh) * g.OW + ow);
          double acc = c.bias ? b[o] : 0.0;
          double gyv = gy[yi];
          r.gb[o] += gyv;
          for (int64_t ci = 0; ci < Cg; ++ci)
            for (int64_t kh = 0; kh < g.KH; ++kh)
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                int64_t ih = ref_src(oh * g.sh + kh * g.dh - g.pt, g.H, g.mode);
                int64_t iw = ref_src(ow * g.sw + kw * g.dw - g.pl, g.W, g.mode);
                if (ih < 0 || iw < 0) continue;
                int64_t cin = (o / Og) * Cg + ci;
                size_t xi = static_cast<size_t>(((n * g.C + cin) * g.H + ih) * g.W + iw);
                size_t wi = static_cast<size_t>(((o * Cg + ci) * g.KH + kh) * g.KW + kw);
                acc += static_cast<double>(w[wi]) * x[xi];
                r.gx[xi] += gyv * w[wi];
                r.gw[wi] += gyv * x[xi];
              }
          r.y[yi] = acc;
        }
  return r;
}

double max_err(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::fmax(m, std::fabs(a[i] - b[i]));
  return a.size() == b.size() ? m : 1e9;
}

void run_case(const Cfg& c) {
  Shape xs{c.N, c.C, c.H, c.W}, ws{c.Cout, c.C / c.a.groups, c.KH, c.KW};
  Conv2dGeom g = conv2d_geometry("test", xs, ws, c.a);
  auto x = rnd(static_cast<size_t>(numel(xs)), 1);
  auto w = rnd(static_cast<size_t>(numel(ws)), 2);
  auto b = rnd(static_cast<size_t>(c.Cout), 3);
  auto gy = rnd(static_cast<size_t>(numel(g.out_shape())), 4);
  RefOut r = reference(c, g, x, w, b, gy);
  std::vector<float> y(gy.size()), gx(x.size()), gw(w.size()), gb(b.size());
  std::optional<Span<const float>> bias;
  if (c.bias) bias = Span<const float>{b.data(), b.size()};
  conv2d(CFView{x.data(), xs}, CFView{w.data(), ws}, bias, FSpan{y.data(), y.size()}, c.a);
  conv2d_backward_input(CFView{gy.data(), g.out_shape()}, CFView{w.data(), ws}, xs,
                        FSpan{gx.data(), gx.size()}, c.a);
  conv2d_backward_weight(CFView{gy.data(), g.out_shape()}, CFView{x.data(), xs}, ws,
                         FSpan{gw.data(), gw.size()}, c.a);
  conv2d_backward_bias(CFView{gy.data(), g.out_shape()}, FSpan{gb.data(), gb.size()});
  CHECK(max_err(y, r.y) < 1e-4);
  CHECK(max_err(gx, r.gx) < 1e-4);
  CHECK(max_err(gw, r.gw) < 2e-4);
  CHECK(max_err(gb, r.gb) < 1e-4);
}

Conv2dAttrs attrs(int64_t s, int64_t p, int64_t d, int64_t groups, ConvPaddingMode m) {
  Conv2dAttrs a;
  a.stride = {s, s};
  a.padding = {p, p};
  a.dilation = {d, d};
  a.groups = groups;
  a.padding_mode = m;
  return a;
}

}  // namespace

TEST_CASE("conv2d and its gradients match the direct reference over the option grid") {
  const ConvPaddingMode modes[] = {ConvPaddingMode::Zeros, ConvPaddingMode::Reflect,
                                   ConvPaddingMode::Replicate, ConvPaddingMode::Circular};
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (auto m : modes)
      for (int64_t s : {1, 2})
        for (int64_t d : {1, 2})
          for (int64_t groups : {1, 2})
            for (int64_t p : {0, 1, 2}) {
              run_case({2, 4, 7, 6, 6, 3, 2, attrs(s, p, d, groups, m), groups == 1});
              run_case({3, 2, 5, 8, 4, 1, 3, attrs(s, p, d, groups, m), groups == 2});
            }
  }
  set_num_threads(0);
}

TEST_CASE("conv2d covers 'same'/'valid', depthwise, 1x1, asymmetric attributes and big batches") {
  Conv2dAttrs same;
  same.padding_kind = ConvPadding::Same;
  same.dilation = {2, 1};
  run_case({2, 3, 7, 8, 4, 4, 3, same, true});  // even kernel: extra padding bottom/right
  same.padding_mode = ConvPaddingMode::Reflect;
  run_case({2, 3, 7, 8, 4, 2, 4, same, false});
  Conv2dAttrs valid;
  valid.padding_kind = ConvPadding::Valid;
  valid.stride = {2, 3};
  run_case({1, 2, 9, 9, 3, 3, 2, valid, true});
  run_case({2, 4, 6, 5, 8, 3, 3, attrs(1, 1, 1, 4, ConvPaddingMode::Zeros), true});  // depthwise x2
  run_case({2, 4, 6, 5, 4, 3, 3, attrs(2, 1, 1, 4, ConvPaddingMode::Circular), false});
  run_case({3, 6, 5, 4, 4, 1, 1, attrs(1, 0, 1, 2, ConvPaddingMode::Zeros), true});  // 1x1 direct
  run_case({2, 3, 4, 4, 2, 1, 1, attrs(1, 1, 1, 1, ConvPaddingMode::Replicate), true});  // 1x1 through padding
  Conv2dAttrs asym;
  asym.stride = {1, 2};
  asym.padding = {2, 0};
  asym.dilation = {1, 3};
  run_case({2, 2, 5, 9, 3, 2, 3, asym, true});
  set_num_threads(2);
  run_case({16, 8, 12, 12, 16, 3, 3, attrs(1, 1, 1, 1, ConvPaddingMode::Zeros), true});  // parallel over samples
  run_case({16, 8, 12, 12, 16, 3, 3, attrs(2, 1, 1, 2, ConvPaddingMode::Reflect), true});
  set_num_threads(0);
}

TEST_CASE("conv2d 3x3 stride-1 convs with >= 8 channels (Winograd path) match the reference") {
  const ConvPaddingMode modes[] = {ConvPaddingMode::Zeros, ConvPaddingMode::Reflect,
                                   ConvPaddingMode::Replicate, ConvPaddingMode::Circular};
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (auto m : modes)
      for (int64_t p : {0, 1, 2})
        run_case({3, 8, 7, 6, 9, 3, 3, attrs(1, p, 1, 1, m), p != 1});  // odd output sizes
    run_case({2, 8, 5, 9, 8, 3, 3, attrs(1, 3, 1, 1, ConvPaddingMode::Zeros), true});  // pad > 2
    Conv2dAttrs asym;
    asym.padding = {0, 2};
    run_case({2, 9, 6, 4, 10, 3, 3, asym, true});
    Conv2dAttrs same;
    same.padding_kind = ConvPadding::Same;
    same.padding_mode = ConvPaddingMode::Reflect;
    run_case({40, 16, 10, 10, 8, 3, 3, same, true});  // many samples: batched tiles, parallel tasks
    run_case({2, 8, 3, 3, 8, 3, 3, attrs(1, 0, 1, 1, ConvPaddingMode::Zeros), true});  // 1x1 output
  }
  set_num_threads(0);
}

TEST_CASE("conv2d matches the reference on random valid configurations") {
  uint32_t st = 12345;
  auto pick = [&](int64_t lo, int64_t hi) {
    st = st * 1664525u + 1013904223u;
    return lo + static_cast<int64_t>((st >> 8) % static_cast<uint32_t>(hi - lo + 1));
  };
  const ConvPaddingMode modes[] = {ConvPaddingMode::Zeros, ConvPaddingMode::Reflect,
                                   ConvPaddingMode::Replicate, ConvPaddingMode::Circular};
  int ran = 0;
  for (int it = 0; it < 400; ++it) {
    set_num_threads(static_cast<int>(pick(1, 2)));
    int64_t groups = pick(1, 3);
    Cfg c{pick(0, 3), groups * pick(0, 9), pick(1, 9), pick(1, 9), groups * pick(1, 9), pick(1, 4), pick(1, 4), {}, pick(0, 1) == 1};
    if (pick(0, 2) == 0) c.KH = c.KW = 3;  // often on the Winograd path
    c.a.groups = groups;
    c.a.stride = {pick(1, 3), pick(1, 3)};
    c.a.dilation = {pick(1, 2), pick(1, 2)};
    c.a.padding = {pick(0, 3), pick(0, 3)};
    c.a.padding_mode = modes[pick(0, 3)];
    int64_t kind = pick(0, 5);
    if (kind == 0) c.a.padding_kind = ConvPadding::Valid;
    if (kind == 1) c.a.padding_kind = ConvPadding::Same, c.a.stride = {1, 1};
    try {
      conv2d_geometry("t", {c.N, c.C, c.H, c.W}, {c.Cout, c.C / groups, c.KH, c.KW}, c.a);
    } catch (const Error&) {
      continue;  // invalid combination: the error paths are tested elsewhere
    }
    run_case(c);
    ++ran;
  }
  CHECK(ran > 100);
  set_num_threads(0);
}

TEST_CASE("conv2d results do not depend on the GEMM backend") {
  GemmBackend before = gemm_backend();
  set_gemm_backend(GemmBackend::Builtin);
  run_case({2, 4, 6, 6, 4, 3, 3, attrs(1, 1, 1, 2, ConvPaddingMode::Reflect), true});
  if (blas_available()) set_gemm_backend(GemmBackend::Blas);
  run_case({2, 4, 6, 6, 4, 3, 3, attrs(1, 1, 1, 2, ConvPaddingMode::Reflect), true});
  set_gemm_backend(before);
}

TEST_CASE("conv2d_shape follows torch's output size rule") {
  Conv2dAttrs a = attrs(2, 1, 1, 1, ConvPaddingMode::Zeros);
  CHECK((conv2d_shape({1, 3, 32, 32}, {8, 3, 3, 3}, a) == Shape{1, 8, 16, 16}));
  a.dilation = {2, 3};
  CHECK((conv2d_shape({1, 3, 9, 10}, {8, 3, 3, 3}, a) == Shape{1, 8, 4, 3}));
  Conv2dAttrs same;
  same.padding_kind = ConvPadding::Same;
  CHECK((conv2d_shape({2, 1, 5, 6}, {1, 1, 4, 2}, same) == Shape{2, 1, 5, 6}));
}

TEST_CASE("conv2d rejects bad attributes and shapes with typed errors") {
  Shape xs{1, 4, 5, 5}, ws{2, 4, 3, 3};
  auto bad = [&](Conv2dAttrs a, ErrorCode code) { CHECK_THROWS_CODE(conv2d_shape(xs, ws, a), code); };
  Conv2dAttrs a;
  a.stride = {0, 1};
  bad(a, ErrorCode::Attr);
  a = {};
  a.dilation = {1, -1};
  bad(a, ErrorCode::Attr);
  a = {};
  a.padding = {-1, 0};
  bad(a, ErrorCode::Attr);
  a = {};
  a.groups = 3;
  bad(a, ErrorCode::Attr);
  a = {};
  a.groups = 0;
  bad(a, ErrorCode::Attr);
  a = {};
  a.padding_kind = ConvPadding::Same;
  a.stride = {2, 2};
  bad(a, ErrorCode::Attr);
  a = {};
  a.padding = {5, 5};
  a.padding_mode = ConvPaddingMode::Reflect;  // reflect needs pad < 5
  bad(a, ErrorCode::Attr);
  a.padding_mode = ConvPaddingMode::Circular;  // circular allows pad <= 5
  CHECK((conv2d_shape(xs, ws, a) == Shape{1, 2, 13, 13}));
  a = {};
  a.dilation = {3, 1};  // effective kernel 7 > 5
  bad(a, ErrorCode::Shape);
  CHECK_THROWS_CODE(conv2d_shape({1, 4, 5}, ws, Conv2dAttrs{}), ErrorCode::Shape);
  CHECK_THROWS_CODE(conv2d_shape(xs, {2, 3, 3, 3}, Conv2dAttrs{}), ErrorCode::Shape);
  CHECK_THROWS_CODE(conv_padding_mode_from("conv2d", "mirror"), ErrorCode::Attr);
  CHECK_THROWS_CODE(conv_padding_from("conv2d", "full"), ErrorCode::Attr);

  std::vector<float> x(100), w(72), b(3), y(18), small(17);
  CFView xv{x.data(), xs}, wv{w.data(), ws};
  CHECK_THROWS_CODE(conv2d(xv, wv, std::nullopt, FSpan{small.data(), small.size()}, {}), ErrorCode::Shape);
  CHECK_THROWS_CODE(conv2d(xv, wv, Span<const float>{b.data(), 3}, FSpan{y.data(), y.size()}, {}),
                    ErrorCode::Shape);
  CHECK_THROWS_CODE(conv2d(xv, wv, std::nullopt, FSpan{x.data(), 18}, {}), ErrorCode::Arg);  // aliases x
  std::vector<float> gy(19), gx(100), gw(72);
  // The conv output is [1, 2, 3, 3]; a gy of another shape is rejected.
  CHECK_THROWS_CODE(conv2d_backward_input(CFView{gy.data(), {1, 2, 3, 2}}, wv, xs, FSpan{gx.data(), 100}, {}),
                    ErrorCode::Shape);
  CHECK_THROWS_CODE(conv2d_backward_input(CFView{gy.data(), {1, 2, 3, 3}}, wv, xs, FSpan{gx.data(), 99}, {}),
                    ErrorCode::Shape);
  CHECK_THROWS_CODE(conv2d_backward_weight(CFView{gy.data(), {1, 2, 3, 4}}, xv, ws, FSpan{gw.data(), 72}, {}),
                    ErrorCode::Shape);
  CHECK_THROWS_CODE(conv2d_backward_bias(CFView{gy.data(), {2, 9}}, FSpan{b.data(), 2}), ErrorCode::Shape);
}

namespace {

struct Results {
  std::vector<float> y, gx, gw;
};

Results run_all(const Cfg& c) {
  Shape xs{c.N, c.C, c.H, c.W}, ws{c.Cout, c.C / c.a.groups, c.KH, c.KW};
  Conv2dGeom g = conv2d_geometry("test", xs, ws, c.a);
  auto x = rnd(static_cast<size_t>(numel(xs)), 1);
  auto w = rnd(static_cast<size_t>(numel(ws)), 2);
  auto b = rnd(static_cast<size_t>(c.Cout), 3);
  auto gy = rnd(static_cast<size_t>(numel(g.out_shape())), 4);
  Results r{std::vector<float>(gy.size()), std::vector<float>(x.size()), std::vector<float>(w.size())};
  conv2d(CFView{x.data(), xs}, CFView{w.data(), ws}, Span<const float>{b.data(), b.size()},
         FSpan{r.y.data(), r.y.size()}, c.a);
  conv2d_backward_input(CFView{gy.data(), g.out_shape()}, CFView{w.data(), ws}, xs, FSpan{r.gx.data(), r.gx.size()}, c.a);
  conv2d_backward_weight(CFView{gy.data(), g.out_shape()}, CFView{x.data(), xs}, ws, FSpan{r.gw.data(), r.gw.size()}, c.a);
  return r;
}

double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::fmax(m, std::fabs(a[i] - b[i]) / (1.0 + std::fabs(b[i])));
  return a.size() == b.size() ? m : 1e9;
}

}  // namespace

TEST_CASE("conv2d keeps its scratch under the workspace cap, in blocks, with the same results") {
  // Each case is run with the default cap (one block) and with a cap small enough to force
  // blocks of output positions (im2col) or of tile rows (Winograd), on 1 and 2 threads.
  const std::vector<Cfg> cases = {
      {2, 4, 9, 11, 6, 3, 2, attrs(1, 1, 1, 1, ConvPaddingMode::Zeros), true},       // im2col
      {2, 4, 9, 11, 6, 3, 3, attrs(2, 2, 2, 2, ConvPaddingMode::Zeros), true},       // strided, dilated, grouped
      {2, 3, 8, 7, 4, 3, 3, attrs(1, 2, 1, 1, ConvPaddingMode::Reflect), true},      // padding modes (gathered)
      {2, 4, 8, 7, 4, 2, 3, attrs(2, 1, 1, 2, ConvPaddingMode::Circular), true},
      {2, 3, 6, 6, 4, 1, 1, attrs(1, 1, 1, 1, ConvPaddingMode::Replicate), true},    // 1x1 through padding
      {2, 6, 5, 7, 4, 1, 1, attrs(1, 0, 1, 2, ConvPaddingMode::Zeros), true},        // 1x1 direct (no scratch)
      {3, 8, 10, 13, 9, 3, 3, attrs(1, 1, 1, 1, ConvPaddingMode::Zeros), true},      // Winograd: bands of tile rows
      {12, 8, 3, 4, 8, 3, 3, attrs(1, 1, 1, 1, ConvPaddingMode::Zeros), true},       // Winograd: batched samples
      {3, 8, 10, 13, 9, 3, 3, attrs(1, 1, 1, 1, ConvPaddingMode::Reflect), true},    // Winograd, padded rows per band
      {12, 8, 3, 4, 8, 3, 3, attrs(1, 2, 1, 1, ConvPaddingMode::Circular), true},    // ... and per batch
  };
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (const Cfg& c : cases) {
      detail::set_conv_workspace_cap(0);
      Results whole = run_all(c);
      Conv2dGeom g = conv2d_geometry("t", {c.N, c.C, c.H, c.W}, {c.Cout, c.C / c.a.groups, c.KH, c.KW}, c.a);
      const detail::ConvPlan one = detail::conv_plan(g, 256);
      CHECK(one.pb == one.P);
      // Winograd: one row of tiles per call; im2col: 7 output positions per block (each task
      // plans within 1/kConvShares of the cap).
      const int64_t f = static_cast<int64_t>(sizeof(float));
      const int64_t per_tile = 16 * (c.C + c.Cout) + (one.prepad ? 16 * c.C : 0);
      const int64_t share = one.wino && one.nb == 1 ? per_tile * ((g.OW + 1) / 2) * f
                            : one.wino            ? per_tile * ((g.OH + 1) / 2) * ((g.OW + 1) / 2) * f
                                                  : 7 * c.C * c.KH * c.KW * f;
      detail::set_conv_workspace_cap(share * detail::kConvShares);
      const detail::ConvPlan small = detail::conv_plan(g, 256);
      if (one.wino) CHECK((small.wino && (small.band < (g.OH + 1) / 2 || small.nb < one.nb)));
      else if (!one.direct) CHECK(small.pb < one.P);
      Results tiled = run_all(c);
      run_case(c);  // the blocked paths also match the direct reference
      // Blocks change only the order in which the same products are summed (float rounding).
      CHECK(max_rel(tiled.y, whole.y) < 1e-6);
      CHECK(max_rel(tiled.gx, whole.gx) < 1e-6);
      CHECK(max_rel(tiled.gw, whole.gw) < 1e-5);
      detail::set_conv_workspace_cap(1);  // smaller than one position: blocks of one position
      CHECK((detail::conv_plan(g, 256).pb == 1));
      Results single = run_all(c);
      CHECK(max_rel(single.y, whole.y) < 1e-5);  // Winograd cases fall back to im2col here
      CHECK(max_rel(single.gx, whole.gx) < 1e-5);
      CHECK(max_rel(single.gw, whole.gw) < 1e-5);
    }
  }
  detail::set_conv_workspace_cap(0);
  set_num_threads(0);
}

TEST_CASE("conv2d with no output, or an output no position reads, allocates no scratch") {
  // [0, 1, 16000, 16000] with a 3x3 kernel: im2col of one sample would be 9 GB.
  Shape xs{0, 1, 16000, 16000}, ws{1, 1, 3, 3};
  std::vector<float> w(9, 1.0f), none(1);
  conv2d(CFView{none.data(), xs}, CFView{w.data(), ws}, std::nullopt, FSpan{none.data(), 0}, {});
  conv2d_backward_input(CFView{none.data(), {0, 1, 15998, 15998}}, CFView{w.data(), ws}, xs, FSpan{none.data(), 0}, {});
  std::vector<float> gw(9, 5.0f);
  conv2d_backward_weight(CFView{none.data(), {0, 1, 15998, 15998}}, CFView{none.data(), xs}, ws,
                         FSpan{gw.data(), gw.size()}, {});
  CHECK((gw == std::vector<float>(9, 0.0f)));
  // Cout = 0: no output, the input gradient is zeros.
  std::vector<float> x(2 * 4 * 4, 1.0f), gx(x.size(), 7.0f);
  conv2d_backward_input(CFView{none.data(), {2, 0, 2, 2}}, CFView{none.data(), {0, 1, 3, 3}}, {2, 1, 4, 4},
                        FSpan{gx.data(), gx.size()}, {});
  CHECK((gx == std::vector<float>(gx.size(), 0.0f)));
}

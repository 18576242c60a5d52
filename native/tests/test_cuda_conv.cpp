// CUDA conv2d (forward, input / weight / bias gradients) and pooling (max with indices, avg,
// adaptive avg, and their backward ops) against the CPU kernels on the same random inputs,
// over the options the CPU tests cover (native/tests/test_conv.cpp, test_pool.cpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ravdl/conv.h"
#include "ravdl/pool.h"
#include "test_cuda_util.h"

namespace ravdl::cudatest {

namespace {

struct ConvCase {
  Shape x, w;
  int64_t sh, sw, ph, pw, dh, dw, groups;
  bool same, bias;
  ConvPaddingMode mode = ConvPaddingMode::Zeros;
};

std::vector<double> d2(int64_t a, int64_t b) { return {static_cast<double>(a), static_cast<double>(b)}; }

}  // namespace

void test_conv() {
  const ConvCase cases[] = {
      {{2, 3, 9, 11}, {4, 3, 3, 3}, 1, 1, 1, 1, 1, 1, 1, false, true},    // 3x3 'same'-sized by padding
      {{2, 3, 9, 11}, {4, 3, 3, 3}, 2, 2, 0, 0, 1, 1, 1, false, false},   // stride
      {{2, 4, 10, 10}, {6, 2, 3, 3}, 1, 2, 1, 0, 2, 1, 2, false, true},   // groups, dilation, asymmetric stride
      {{3, 8, 7, 7}, {8, 1, 3, 3}, 1, 1, 1, 1, 1, 1, 8, false, true},     // depthwise
      {{2, 16, 8, 8}, {32, 16, 1, 1}, 1, 1, 0, 0, 1, 1, 1, false, true},  // 1x1 (direct path)
      {{2, 3, 8, 9}, {5, 3, 4, 2}, 1, 1, 0, 0, 1, 1, 1, true, false},     // 'same' with even kernels (asymmetric padding)
      {{1, 2, 5, 5}, {3, 2, 5, 5}, 1, 1, 0, 0, 1, 1, 1, false, true},     // kernel = input
      {{4, 1, 28, 28}, {8, 1, 5, 5}, 1, 1, 2, 2, 1, 1, 1, false, true},   // a LeNet layer
      {{8, 16, 16, 16}, {32, 16, 3, 3}, 1, 1, 1, 1, 1, 1, 1, false, true},
      {{2, 3, 9, 8}, {4, 3, 3, 3}, 1, 1, 2, 1, 1, 1, 1, false, true, ConvPaddingMode::Reflect},    // padding modes
      {{2, 4, 7, 9}, {4, 2, 3, 2}, 2, 1, 1, 2, 1, 2, 2, false, false, ConvPaddingMode::Replicate},
      {{2, 3, 6, 6}, {5, 3, 3, 3}, 1, 1, 1, 1, 1, 1, 1, false, true, ConvPaddingMode::Circular},
      {{1, 2, 8, 9}, {3, 2, 4, 2}, 1, 1, 0, 0, 1, 1, 1, true, true, ConvPaddingMode::Reflect},     // 'same', asymmetric
  };
  for (auto& c : cases) {
    Conv2dAttrs a;
    a.stride = {c.sh, c.sw};
    a.dilation = {c.dh, c.dw};
    a.groups = c.groups;
    a.padding_mode = c.mode;
    if (c.same) a.padding_kind = ConvPadding::Same;
    else a.padding = {c.ph, c.pw};
    const Conv2dGeom g = conv2d_geometry("test", c.x, c.w, a);
    const Shape ys = g.out_shape();
    Attrs at;
    at.set("stride", d2(c.sh, c.sw)).set("dilation", d2(c.dh, c.dw)).set("groups", static_cast<double>(c.groups));
    at.set("padding_mode", static_cast<double>(int(c.mode)));  // the catalog's order: zeros, reflect, replicate, circular
    // 'same' reaches the CUDA kernel as explicit [top, bottom, left, right] padding.
    if (c.same) at.set("padding", std::vector<double>{double(g.pt), double(g.pb), double(g.pl), double(g.pr)});
    else at.set("padding", d2(c.ph, c.pw));
    const std::string label = "conv2d x " + str(c.x) + " w " + str(c.w) + " stride " + std::to_string(c.sh) + "," + std::to_string(c.sw) +
                              " groups " + std::to_string(c.groups) + (c.same ? " same" : "") +
                              (c.mode != ConvPaddingMode::Zeros ? " padding_mode " + std::to_string(int(c.mode)) : "");
    HostT x = HostT::F(random_vec(numel(c.x)), c.x), w = HostT::F(random_vec(numel(c.w)), c.w);
    HostT b = c.bias ? HostT::F(random_vec(c.w[0]), {c.w[0]}) : HostT::None();
    HostT gy = HostT::F(random_vec(numel(ys)), ys);
    const double K = static_cast<double>(g.Cg() * g.KH * g.KW);
    const double tol = 2e-6 * K + 1e-5;
    std::vector<float> y(static_cast<size_t>(numel(ys))), gx(x.f.size()), gw(w.f.size()), gb(static_cast<size_t>(c.w[0]));
    conv2d(CFView{x.f.data(), c.x}, CFView{w.f.data(), c.w}, c.bias ? std::optional<Span<const float>>(Span<const float>{b.f.data(), b.f.size()}) : std::nullopt,
           {y.data(), y.size()}, a);
    conv2d_backward_input(CFView{gy.f.data(), ys}, CFView{w.f.data(), c.w}, c.x, {gx.data(), gx.size()}, a);
    conv2d_backward_weight(CFView{gy.f.data(), ys}, CFView{x.f.data(), c.x}, c.w, {gw.data(), gw.size()}, a);
    conv2d_backward_bias(CFView{gy.f.data(), ys}, {gb.data(), gb.size()});
    try {
      expect_close(label, y, run_cuda("conv2d", {x, w, b}, {HostT::Out(ys)}, at)[0].f, tol, 1e-4);
      Attrs ax = at;
      ax.set("x_shape", std::vector<double>(c.x.begin(), c.x.end()));
      const double tol_x = 2e-6 * static_cast<double>(g.Coutg() * g.KH * g.KW) + 1e-5;
      expect_close(label + " backward_input", gx, run_cuda("conv2d_backward_input", {gy, w}, {HostT::Out(c.x)}, ax)[0].f, tol_x, 1e-4);
      Attrs aw = at;
      aw.set("w_shape", std::vector<double>(c.w.begin(), c.w.end()));
      const double tol_w = 2e-6 * static_cast<double>(g.N * g.OH * g.OW) + 1e-5;
      expect_close(label + " backward_weight", gw, run_cuda("conv2d_backward_weight", {gy, x}, {HostT::Out(c.w)}, aw)[0].f, tol_w, 1e-4);
      expect_close(label + " backward_bias", gb, run_cuda("conv2d_backward_bias", {gy}, {HostT::Out({c.w[0]})}, {})[0].f, 1e-5, 1e-5);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }
  // Bad padding for a mode is a typed error on cuda too (reflect needs pad < the dim).
  expect_error("conv2d reflect padding as large as the input", ErrorCode::Attr, [] {
    Attrs at;
    at.set("padding", d2(4, 1)).set("padding_mode", 1);
    run_cuda("conv2d", {HostT::F(random_vec(2 * 4 * 8), {1, 2, 4, 8}), HostT::F(random_vec(2 * 2 * 9), {2, 2, 3, 3})}, {HostT::Out({1, 2, 10, 8})}, at);
  });
}

namespace {

// avg_pool2d's windows as lib/ops/pool.ts lays them out (avgWindows), for the CPU reference.
struct Windows {
  std::vector<int32_t> h0, h1, w0, w1, div;
  PoolWindows view() const {
    return {{h0.data(), h0.size()}, {h1.data(), h1.size()}, {w0.data(), w0.size()}, {w1.data(), w1.size()}, {div.data(), div.size()}};
  }
};
Windows avg_windows(int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                    bool count_include_pad, int64_t divisor_override) {
  Windows r;
  std::vector<int32_t> hp, wp;
  auto axis = [](int64_t O, int64_t I, int64_t k, int64_t st, int64_t pad, std::vector<int32_t>& lo, std::vector<int32_t>& hi,
                 std::vector<int32_t>& padded) {
    for (int64_t o = 0; o < O; o++) {
      const int64_t start = o * st - pad, stop = std::min(start + k, I + pad);
      padded.push_back(static_cast<int32_t>(stop - start));
      lo.push_back(static_cast<int32_t>(std::max<int64_t>(start, 0)));
      hi.push_back(static_cast<int32_t>(std::min(stop, I)));
    }
  };
  axis(OH, H, kh, sh, ph, r.h0, r.h1, hp);
  axis(OW, W, kw, sw, pw, r.w0, r.w1, wp);
  for (int64_t oh = 0; oh < OH; oh++)
    for (int64_t ow = 0; ow < OW; ow++)
      r.div.push_back(static_cast<int32_t>(divisor_override > 0 ? divisor_override
                                           : count_include_pad ? hp[oh] * wp[ow]
                                                               : (r.h1[oh] - r.h0[oh]) * (r.w1[ow] - r.w0[ow])));
  return r;
}
// adaptive_avg_pool2d's windows (adaptiveWindows).
Windows adaptive_windows(int64_t H, int64_t W, int64_t OH, int64_t OW) {
  Windows r;
  for (int64_t o = 0; o < OH; o++) r.h0.push_back(int32_t(o * H / OH)), r.h1.push_back(int32_t(((o + 1) * H + OH - 1) / OH));
  for (int64_t o = 0; o < OW; o++) r.w0.push_back(int32_t(o * W / OW)), r.w1.push_back(int32_t(((o + 1) * W + OW - 1) / OW));
  for (int64_t oh = 0; oh < OH; oh++)
    for (int64_t ow = 0; ow < OW; ow++) r.div.push_back((r.h1[oh] - r.h0[oh]) * (r.w1[ow] - r.w0[ow]));
  return r;
}

}  // namespace

void test_pool() {
  struct MaxCase {
    Shape x;
    int64_t k0, k1, s0, s1, p0, p1, d0, d1;
    bool ceil, has_stride;
  };
  const MaxCase maxes[] = {
      {{2, 3, 8, 8}, 2, 2, 2, 2, 0, 0, 1, 1, false, true},    // the common 2x2 / 2
      {{2, 3, 9, 7}, 3, 3, 2, 2, 1, 1, 1, 1, false, true},    // overlapping windows with padding
      {{1, 2, 10, 9}, 3, 2, 2, 1, 1, 1, 2, 2, true, true},    // dilation, ceil_mode
      {{3, 11, 13}, 2, 3, 0, 0, 0, 1, 1, 1, true, false},     // unbatched, stride = kernel, ceil
      {{4, 16, 32, 32}, 3, 3, 1, 1, 1, 1, 1, 1, false, true}, // stride 1: many windows per element
  };
  for (auto& m : maxes) {
    MaxPool2dAttrs a;
    a.kernel_size = {m.k0, m.k1};
    if (m.has_stride) a.stride = std::array<int64_t, 2>{m.s0, m.s1};
    a.padding = {m.p0, m.p1};
    a.dilation = {m.d0, m.d1};
    a.ceil_mode = m.ceil;
    const Shape ys = maxpool2d_shape(m.x, a);
    Attrs at;
    at.set("kernel_size", d2(m.k0, m.k1)).set("padding", d2(m.p0, m.p1)).set("dilation", d2(m.d0, m.d1)).set("ceil_mode", m.ceil ? 1 : 0);
    if (m.has_stride) at.set("stride", d2(m.s0, m.s1));
    const std::string label = "max_pool2d " + str(m.x) + " k " + std::to_string(m.k0) + "x" + std::to_string(m.k1);
    HostT x = HostT::F(random_vec(numel(m.x)), m.x);
    for (size_t i = 0; i < x.f.size(); i += 5) x.f[i] = std::round(x.f[i] * 2) / 2;  // ties
    if (x.f.size() > 40) x.f[33] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> y(static_cast<size_t>(numel(ys)));
    std::vector<int32_t> idx(y.size());
    maxpool2d(CFView{x.f.data(), m.x}, {y.data(), y.size()}, {idx.data(), idx.size()}, a);
    HostT gy = HostT::F(random_vec(numel(ys)), ys);
    std::vector<float> gx(x.f.size());
    maxpool2d_backward(CFView{gy.f.data(), ys}, CIView{idx.data(), ys}, m.x, {gx.data(), gx.size()});
    try {
      auto r = run_cuda("max_pool2d", {x}, {HostT::Out(ys), HostT::Out(ys, DType::I32)}, at);
      expect_close(label, y, r[0].f, 0, 0);
      expect_equal(label + " indices", idx, r[1].i);
      // The backward op with the forward's attributes (gather) and with x_shape alone (scatter).
      Attrs ab = at;
      ab.set("x_shape", std::vector<double>(m.x.begin(), m.x.end()));
      HostT ih = HostT::I(idx, ys);
      expect_close(label + " backward", gx, run_cuda("max_pool2d_backward", {gy, ih}, {HostT::Out(m.x)}, ab)[0].f, 0, 0);
      Attrs ab2;
      ab2.set("x_shape", std::vector<double>(m.x.begin(), m.x.end()));
      expect_close(label + " backward (x_shape only)", gx, run_cuda("max_pool2d_backward", {gy, ih}, {HostT::Out(m.x)}, ab2)[0].f, 0, 0);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }
  expect_error("max_pool2d_backward with an index outside the plane", ErrorCode::Index, [] {
    Attrs at;
    at.set("x_shape", std::vector<double>{1, 1, 2, 2});
    run_cuda("max_pool2d_backward", {HostT::F({1}, {1, 1, 1, 1}), HostT::I({4}, {1, 1, 1, 1})}, {HostT::Out({1, 1, 2, 2})}, at);
  });

  struct AvgCase {
    Shape x;
    int64_t k0, k1, s0, s1, p0, p1;
    bool ceil, include_pad;
    int64_t divisor;
  };
  const AvgCase avgs[] = {
      {{2, 3, 8, 8}, 2, 2, 2, 2, 0, 0, false, true, 0},
      {{2, 3, 9, 7}, 3, 3, 2, 2, 1, 1, false, true, 0},
      {{2, 3, 9, 7}, 3, 3, 2, 2, 1, 1, true, false, 0},
      {{1, 2, 10, 9}, 3, 2, 1, 2, 1, 1, true, true, 5},
      {{3, 12, 12}, 4, 4, 3, 3, 2, 1, false, false, 0},
  };
  for (auto& v : avgs) {
    MaxPool2dAttrs shape_attrs;  // the output-size rule shared with max pooling (dilation 1)
    shape_attrs.kernel_size = {v.k0, v.k1};
    shape_attrs.stride = std::array<int64_t, 2>{v.s0, v.s1};
    shape_attrs.padding = {v.p0, v.p1};
    shape_attrs.ceil_mode = v.ceil;
    const Shape ys = maxpool2d_shape(v.x, shape_attrs);
    const size_t r = v.x.size();
    const Windows win = avg_windows(v.x[r - 2], v.x[r - 1], ys[r - 2], ys[r - 1], v.k0, v.k1, v.s0, v.s1, v.p0, v.p1, v.include_pad, v.divisor);
    Attrs at;
    at.set("kernel_size", d2(v.k0, v.k1)).set("stride", d2(v.s0, v.s1)).set("padding", d2(v.p0, v.p1));
    at.set("ceil_mode", v.ceil ? 1 : 0).set("count_include_pad", v.include_pad ? 1 : 0);
    if (v.divisor) at.set("divisor_override", static_cast<double>(v.divisor));
    const std::string label = "avg_pool2d " + str(v.x) + " k " + std::to_string(v.k0) + "x" + std::to_string(v.k1) +
                              (v.include_pad ? "" : " exclude pad") + (v.ceil ? " ceil" : "");
    HostT x = HostT::F(random_vec(numel(v.x)), v.x), gy = HostT::F(random_vec(numel(ys)), ys);
    std::vector<float> y(static_cast<size_t>(numel(ys))), gx(x.f.size());
    avgpool2d(CFView{x.f.data(), v.x}, {y.data(), y.size()}, win.view());
    avgpool2d_backward(CFView{gy.f.data(), ys}, v.x, {gx.data(), gx.size()}, win.view());
    try {
      expect_close(label, y, run_cuda("avg_pool2d", {x}, {HostT::Out(ys)}, at)[0].f, 0, 0);
      Attrs ab = at;
      ab.set("x_shape", std::vector<double>(v.x.begin(), v.x.end()));
      expect_close(label + " backward", gx, run_cuda("avg_pool2d_backward", {gy}, {HostT::Out(v.x)}, ab)[0].f, 0, 0);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }

  const std::pair<Shape, std::pair<int64_t, int64_t>> adaptive[] = {
      {{2, 3, 7, 9}, {3, 4}}, {{2, 3, 8, 8}, {1, 1}}, {{1, 2, 5, 5}, {7, 6}}, {{4, 7, 6}, {4, 6}}};
  for (auto& [xs, o] : adaptive) {
    const size_t r = xs.size();
    Shape ys = xs;
    ys[r - 2] = o.first, ys[r - 1] = o.second;
    const Windows win = adaptive_windows(xs[r - 2], xs[r - 1], o.first, o.second);
    Attrs at;
    at.set("output_size", d2(o.first, o.second));
    const std::string label = "adaptive_avg_pool2d " + str(xs) + " -> " + str(ys);
    HostT x = HostT::F(random_vec(numel(xs)), xs), gy = HostT::F(random_vec(numel(ys)), ys);
    std::vector<float> y(static_cast<size_t>(numel(ys))), gx(x.f.size());
    avgpool2d(CFView{x.f.data(), xs}, {y.data(), y.size()}, win.view());
    avgpool2d_backward(CFView{gy.f.data(), ys}, xs, {gx.data(), gx.size()}, win.view());
    try {
      expect_close(label, y, run_cuda("adaptive_avg_pool2d", {x}, {HostT::Out(ys)}, at)[0].f, 0, 0);
      Attrs ab = at;
      ab.set("x_shape", std::vector<double>(xs.begin(), xs.end()));
      expect_close(label + " backward", gx, run_cuda("adaptive_avg_pool2d_backward", {gy}, {HostT::Out(xs)}, ab)[0].f, 0, 0);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }
}

}  // namespace ravdl::cudatest

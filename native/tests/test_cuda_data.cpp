// CUDA data-movement and indexing ops (concat, split, slice, pad with every mode, gather,
// one_hot_encoding, arange, astype), conv1d and the pointwise losses against the CPU kernels,
// or, where the catalog's kernel is JavaScript (gather, one_hot, arange, astype, the pointwise
// losses), against the same loops written here.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ravdl/conv.h"
#include "ravdl/pad.h"
#include "ravdl/shape_ops.h"
#include "test_cuda_util.h"

namespace ravdl::cudatest {

namespace {
std::vector<double> dv(const std::vector<int64_t>& v) { return std::vector<double>(v.begin(), v.end()); }
}  // namespace

void test_data() {
  // concat / split along each axis
  for (int64_t axis : {0, 1, -1}) {
    const std::vector<Shape> shapes = axis == 0 ? std::vector<Shape>{{2, 3, 4}, {5, 3, 4}, {1, 3, 4}}
                                      : axis == 1 ? std::vector<Shape>{{2, 1, 4}, {2, 6, 4}, {2, 0, 4}}
                                                  : std::vector<Shape>{{2, 3, 7}, {2, 3, 1}};
    std::vector<HostT> ins;
    std::vector<View<const float>> views;
    for (auto& s : shapes) ins.push_back(HostT::F(random_vec(numel(s)), s));
    for (auto& t : ins) views.push_back({t.f.data(), t.shape});
    std::vector<Shape> sh(shapes.begin(), shapes.end());
    const Shape out = concat_shape(sh, axis);
    std::vector<float> cpu(static_cast<size_t>(numel(out)));
    concat<float>(views, axis, {cpu.data(), cpu.size()});
    Attrs at;
    at.set("axis", static_cast<double>(axis));
    const std::string label = "concat axis " + std::to_string(axis);
    try {
      expect_close(label, cpu, run_cuda("concat", ins, {HostT::Out(out)}, at)[0].f, 0, 0);
      // split is concat's inverse: the pieces come back exactly.
      std::vector<double> sizes;
      std::vector<HostT> outs;
      const size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
      for (auto& s : shapes) sizes.push_back(static_cast<double>(s[a])), outs.push_back(HostT::Out(s));
      Attrs as = at;
      as.set("sizes", sizes);
      auto r = run_cuda("split", {HostT::F(cpu, out)}, outs, as);
      for (size_t k = 0; k < ins.size(); k++) expect_close(label + " split piece " + std::to_string(k), ins[k].f, r[k].f, 0, 0);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }

  // slice and slice_backward (Python rules: negative bounds, clamping, steps)
  struct Sl {
    Shape x;
    std::vector<int64_t> starts, ends, steps;
  };
  const int64_t whole = 9007199254740991LL;  // Number.MAX_SAFE_INTEGER: the whole dim
  const Sl slices[] = {{{5, 6, 7}, {1, 0, -3}, {4, whole, whole}, {1, 2, 1}}, {{10}, {-20}, {20}, {3}}, {{4, 5}, {3, 2}, {1, 5}, {1, 1}},
                       {{3, 8, 2}, {0, -7, 1}, {3, -1, 2}, {2, 3, 1}}};
  for (auto& sl : slices) {
    const std::string label = "slice " + str(sl.x);
    const Shape ys = slice_shape(sl.x, sl.starts, sl.ends, sl.steps);
    HostT x = HostT::F(random_vec(numel(sl.x)), sl.x);
    std::vector<float> y(static_cast<size_t>(numel(ys))), gy = random_vec(numel(ys)), gx(x.f.size());
    slice<float>(CFView{x.f.data(), sl.x}, sl.starts, sl.ends, sl.steps, {y.data(), y.size()});
    slice_backward(CFView{gy.data(), ys}, sl.x, sl.starts, sl.ends, sl.steps, {gx.data(), gx.size()});
    Attrs at;
    at.set("starts", dv(sl.starts)).set("ends", dv(sl.ends)).set("steps", dv(sl.steps));
    try {
      expect_close(label, y, run_cuda("slice", {x}, {HostT::Out(ys)}, at)[0].f, 0, 0);
      Attrs ab = at;
      ab.set("shape", dv(sl.x));
      expect_close(label + " backward", gx, run_cuda("slice_backward", {HostT::F(gy, ys)}, {HostT::Out(sl.x)}, ab)[0].f, 0, 0);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }

  // pad and pad_backward in every mode, with crops
  struct Pd {
    Shape x;
    std::vector<int64_t> pads;
    PadMode mode;
  };
  const Pd pads[] = {{{2, 3, 5, 6}, {1, 2, 3, 0}, PadMode::Constant}, {{2, 3, 5, 6}, {2, 1, 3, 2}, PadMode::Reflect},
                     {{2, 3, 5, 6}, {2, 3, 1, 4}, PadMode::Replicate}, {{2, 3, 5, 6}, {2, 3, 1, 4}, PadMode::Circular},
                     {{3, 9}, {-2, 3}, PadMode::Circular}, {{3, 9}, {4, -1}, PadMode::Reflect}, {{3, 9}, {-1, -2}, PadMode::Constant},
                     {{4, 1, 7}, {0, 0, 5, 5}, PadMode::Replicate}, {{2, 4, 4, 4}, {1, 1, 1, 1, 1, 1}, PadMode::Reflect}};
  const char* mode_names[] = {"constant", "reflect", "replicate", "circular"};
  for (auto& pd : pads) {
    const std::string label = std::string("pad ") + mode_names[int(pd.mode)] + " " + str(pd.x);
    const Shape ys = pad_shape("test", pd.x, pd.pads, pd.mode);
    HostT x = HostT::F(random_vec(numel(pd.x)), pd.x);
    std::vector<float> y(static_cast<size_t>(numel(ys))), gy = random_vec(numel(ys)), gx(x.f.size());
    pad(CFView{x.f.data(), pd.x}, pd.pads, pd.mode, 0.75f, {y.data(), y.size()});
    pad_backward(CFView{gy.data(), ys}, pd.pads, pd.mode, {gx.data(), gx.size()});
    Attrs at;
    at.set("pads", dv(pd.pads)).set("mode", static_cast<double>(int(pd.mode))).set("value", 0.75);
    try {
      expect_close(label, y, run_cuda("pad", {x}, {HostT::Out(ys)}, at)[0].f, 0, 0);
      Attrs ab = at;
      ab.set("shape", dv(pd.x));
      // Sums of up to a few dozen terms in another order: float rounding apart.
      expect_close(label + " backward", gx, run_cuda("pad_backward", {HostT::F(gy, ys)}, {HostT::Out(pd.x)}, ab)[0].f, 1e-6, 1e-5);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }

  // gather / gather_backward (numpy.take along an axis; repeated indices accumulate in order)
  struct Ga {
    Shape x, idx;
    int64_t axis;
  };
  const Ga gathers[] = {{{7, 5}, {4}, 0}, {{3, 7, 4}, {2, 5}, 1}, {{3, 4, 9}, {12}, -1}, {{1000, 64}, {256}, 0}};
  for (auto& g : gathers) {
    const std::string label = "gather x " + str(g.x) + " indices " + str(g.idx) + " axis " + std::to_string(g.axis);
    const size_t a = static_cast<size_t>(g.axis < 0 ? g.axis + static_cast<int64_t>(g.x.size()) : g.axis);
    int64_t P = 1, Q = 1;
    for (size_t d = 0; d < a; d++) P *= g.x[d];
    for (size_t d = a + 1; d < g.x.size(); d++) Q *= g.x[d];
    const int64_t A = g.x[a], I = numel(g.idx);
    Shape ys(g.x.begin(), g.x.begin() + static_cast<int64_t>(a));
    ys.insert(ys.end(), g.idx.begin(), g.idx.end());
    ys.insert(ys.end(), g.x.begin() + static_cast<int64_t>(a) + 1, g.x.end());
    HostT x = HostT::F(random_vec(numel(g.x)), g.x);
    std::vector<int32_t> idx = random_ints(I, 0, static_cast<int32_t>(std::min<int64_t>(A, 6)));  // repeats
    std::vector<float> y(static_cast<size_t>(numel(ys))), gy = random_vec(numel(ys)), gx(x.f.size(), 0.0f);
    for (int64_t p = 0; p < P; p++)
      for (int64_t i = 0; i < I; i++)
        for (int64_t q = 0; q < Q; q++) {
          y[static_cast<size_t>((p * I + i) * Q + q)] = x.f[static_cast<size_t>((p * A + idx[i]) * Q + q)];
          gx[static_cast<size_t>((p * A + idx[i]) * Q + q)] += gy[static_cast<size_t>((p * I + i) * Q + q)];
        }
    Attrs at;
    at.set("axis", static_cast<double>(g.axis));
    try {
      expect_close(label, y, run_cuda("gather", {x, HostT::I(idx, g.idx)}, {HostT::Out(ys)}, at)[0].f, 0, 0);
      Attrs ab = at;
      ab.set("shape", dv(g.x));
      expect_close(label + " backward", gx, run_cuda("gather_backward", {HostT::F(gy, ys), HostT::I(idx, g.idx)}, {HostT::Out(g.x)}, ab)[0].f, 0, 0);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }
  expect_error("gather with an index out of range", ErrorCode::Index, [] {
    Attrs at;
    at.set("axis", 0);
    run_cuda("gather", {HostT::F(random_vec(6), {3, 2}), HostT::I({0, 3}, {2})}, {HostT::Out({2, 2})}, at);
  });

  // one_hot_encoding, arange, astype
  try {
    std::vector<int32_t> idx = random_ints(37, 0, 10);
    std::vector<float> oh(370, 0.0f);
    for (size_t i = 0; i < idx.size(); i++) oh[i * 10 + static_cast<size_t>(idx[i])] = 1.0f;
    Attrs at;
    at.set("depth", 10);
    expect_close("one_hot_encoding depth 10", oh, run_cuda("one_hot_encoding", {HostT::I(idx, {37})}, {HostT::Out({37, 10})}, at)[0].f, 0, 0);
    expect_error("one_hot_encoding with an index out of range", ErrorCode::Index,
                 [&] { run_cuda("one_hot_encoding", {HostT::I({1, 10}, {2})}, {HostT::Out({2, 10})}, at); });

    Attrs ar;
    ar.set("start", 0.5).set("stop", 7.3).set("step", 0.7);
    const int64_t n = static_cast<int64_t>(std::ceil((7.3 - 0.5) / 0.7));
    std::vector<float> want(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i++) want[static_cast<size_t>(i)] = static_cast<float>(0.5 + static_cast<double>(i) * 0.7);
    expect_close("arange 0.5..7.3 step 0.7", want, run_cuda("arange", {}, {HostT::Out({n})}, ar)[0].f, 0, 0);
    Attrs ai;
    ai.set("start", 10).set("stop", -5).set("step", -3);
    expect_equal("arange int32 10..-5 step -3", {10, 7, 4, 1, -2}, run_cuda("arange", {}, {HostT::Out({5}, DType::I32)}, ai)[0].i);

    std::vector<float> f = {1.9f, -1.9f, 0.0f, -0.5f, 2147483520.0f, -2147483648.0f, 3.0f};
    std::vector<int32_t> fi = {1, -1, 0, 0, 2147483520, -2147483647 - 1, 3};
    expect_equal("astype float32 -> int32 (truncating)", fi, run_cuda("astype", {HostT::F(f, {7})}, {HostT::Out({7}, DType::I32)}, {})[0].i);
    expect_close("astype int32 -> float32", {1, -1, 0, 0, 2147483520.0f, -2147483648.0f, 3},
                 run_cuda("astype", {HostT::I(fi, {7})}, {HostT::Out({7})}, {})[0].f, 0, 0);
    for (float badv : {std::numeric_limits<float>::quiet_NaN(), 2147483648.0f, -std::numeric_limits<float>::infinity()})
      expect_error("astype of " + std::to_string(badv) + " to int32", ErrorCode::Dtype,
                   [&] { run_cuda("astype", {HostT::F({1.0f, badv}, {2})}, {HostT::Out({2}, DType::I32)}, {}); });
  } catch (const Error& e) {
    report_exception("one_hot / arange / astype", e);
  }

  // conv1d through the conv2d kernel (unit height)
  for (int same = 0; same < 2; same++) {
    const Shape xs{3, 4, 50}, ws{6, 2, 5};
    Conv2dAttrs a;
    a.stride = {1, same ? 1 : 2};
    a.dilation = {1, 2};
    a.groups = 2;
    if (same) a.padding_kind = ConvPadding::Same;
    else a.padding = {0, 3};
    const Conv2dGeom g = conv2d_geometry("test", {3, 4, 1, 50}, {6, 2, 1, 5}, a);
    const Shape ys{3, 6, g.OW};
    HostT x = HostT::F(random_vec(numel(xs)), xs), w = HostT::F(random_vec(numel(ws)), ws), b = HostT::F(random_vec(6), {6});
    std::vector<float> y(static_cast<size_t>(numel(ys)));
    conv2d(CFView{x.f.data(), {3, 4, 1, 50}}, CFView{w.f.data(), {6, 2, 1, 5}}, Span<const float>{b.f.data(), b.f.size()}, {y.data(), y.size()}, a);
    Attrs at;
    at.set("stride", same ? 1 : 2).set("dilation", 2).set("groups", 2);
    if (same) at.set("padding", std::vector<double>{double(g.pl), double(g.pr)});
    else at.set("padding", 3);
    const std::string label = std::string("conv1d ") + (same ? "same" : "stride 2 padding 3");
    try {
      expect_close(label, y, run_cuda("conv1d", {x, w, b}, {HostT::Out(ys)}, at)[0].f, 1e-4, 1e-4);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }
}

// The pointwise losses, in double per element like the catalog's JavaScript kernels.
void test_pointwise_loss() {
  const int red_code[] = {0, 1, 2};
  const char* names[] = {"l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"};
  for (int kind = 0; kind < 4; kind++)
    for (int red : red_code) {
      const Shape ps{6, 7};
      const int64_t n = numel(ps);
      std::vector<float> p = kind == 2 ? random_vec(n, 0.01f, 0.99f) : random_vec(n, -3, 3), t = random_vec(n, 0, 1), w = random_vec(7, 0.5f, 1.5f),
                         q = random_vec(6 * 1, 0.5f, 3.0f);
      const bool has_w = kind >= 2, has_q = kind == 3;
      const double delta = 0.8;
      std::vector<float> loss_none(static_cast<size_t>(n)), gp(static_cast<size_t>(n)), gt(static_cast<size_t>(n));
      std::vector<float> gl = random_vec(red == 2 ? n : 1, 0.5f, 1.5f);
      double sum = 0;
      for (int64_t i = 0; i < n; i++) {
        const double pi = p[i], ti = t[i], wi = has_w ? w[i % 7] : 1.0, qi = has_q ? q[i / 7] : 1.0;
        double v, dp, dt;
        auto sgn = [](double d) { return d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0; };
        auto softplus_neg = [](double x) { return std::fmax(-x, 0.0) + std::log1p(std::exp(-std::fabs(x))); };
        auto sigmoid = [](double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); };
        if (kind == 0) {
          v = std::fabs(pi - ti), dp = sgn(pi - ti), dt = -dp;
        } else if (kind == 1) {
          const double d = std::fabs(pi - ti);
          v = d < delta ? 0.5 * d * d : delta * (d - 0.5 * delta);
          dp = std::fmin(std::fmax(pi - ti, -delta), delta), dt = -dp;
        } else if (kind == 2) {
          v = wi * ((ti - 1) * std::fmax(std::log(1 - pi), -100.0) - ti * std::fmax(std::log(pi), -100.0));
          dp = (wi * (pi - ti)) / std::fmax((1 - pi) * pi, 1e-12), dt = wi * (std::log(1 - pi) - std::log(pi));
        } else {
          v = wi * ((1 - ti) * pi + (1 + (qi - 1) * ti) * softplus_neg(pi));
          dp = wi * ((1 + (qi - 1) * ti) * sigmoid(pi) - qi * ti), dt = wi * (-pi + (qi - 1) * softplus_neg(pi));
        }
        loss_none[static_cast<size_t>(i)] = static_cast<float>(v);
        sum += v;
        const double s = red == 2 ? gl[static_cast<size_t>(i)] : red == 0 ? static_cast<double>(gl[0]) / static_cast<double>(n) : gl[0];
        gp[static_cast<size_t>(i)] = static_cast<float>(s * dp);
        gt[static_cast<size_t>(i)] = static_cast<float>(s * dt);
      }
      const std::vector<float> loss = red == 2 ? loss_none : std::vector<float>{static_cast<float>(red == 0 ? sum / static_cast<double>(n) : sum)};
      const Shape ls = red == 2 ? ps : Shape{};
      std::vector<HostT> ins = {HostT::F(p, ps), HostT::F(t, ps)};
      if (has_w) ins.push_back(HostT::F(w, {7}));        // broadcast along rows
      if (has_q) ins.push_back(HostT::F(q, {6, 1}));     // broadcast along columns
      Attrs at;
      at.set("reduction", red);
      if (kind == 1) at.set("delta", delta);
      const std::string label = std::string(names[kind]) + " reduction " + std::to_string(red);
      try {
        expect_close(label, loss, run_cuda(names[kind], ins, {HostT::Out(ls)}, at)[0].f, 1e-6, 1e-6);
        ins.push_back(HostT::F(gl, ls));
        auto r = run_cuda(std::string(names[kind]) + "_backward", ins, {HostT::Out(ps), HostT::Out(ps)}, at);
        expect_close(label + " backward gpred", gp, r[0].f, 1e-7, 1e-6);
        expect_close(label + " backward gtarget", gt, r[1].f, 1e-7, 1e-6);
      } catch (const Error& e) {
        report_exception(label, e);
      }
    }
  expect_error("binary_cross_entropy with pred outside [0, 1]", ErrorCode::Arg, [] {
    run_cuda("binary_cross_entropy", {HostT::F({0.5f, 1.5f}, {2}), HostT::F({0, 1}, {2})}, {HostT::Out({})}, {});
  });
}

}  // namespace ravdl::cudatest

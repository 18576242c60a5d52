// pad / pad_backward vs explicit per-mode formulas, the adjoint identity and error cases.
#include <algorithm>
#include <cmath>
#include <vector>

#include "check.h"
#include "ravdl/pad.h"
#include "ravdl/parallel.h"

using namespace ravdl;

namespace {

using ravdl::test::rnd;

// Reference source index along one dim (i = output index minus the before-pad).
int64_t ref(int64_t i, int64_t n, PadMode m) {
  if (i >= 0 && i < n) return i;
  if (m == PadMode::Constant) return -1;
  if (m == PadMode::Replicate) return i < 0 ? 0 : n - 1;
  if (m == PadMode::Circular) return ((i % n) + n) % n;
  return i < 0 ? -i : 2 * (n - 1) - i;  // reflect (without repeating the edge)
}

}  // namespace

TEST_CASE("pad of the last two dims matches the per-mode formulas") {
  const PadMode modes[] = {PadMode::Constant, PadMode::Reflect, PadMode::Replicate, PadMode::Circular};
  const int64_t A = 3, H = 4, W = 5;
  auto x = rnd(static_cast<size_t>(A * H * W), 7);
  const std::vector<int64_t> pads = {1, 3, 4, 2};  // top, bottom, left, right
  for (int threads : {1, 2})
    for (auto m : modes) {
      set_num_threads(threads);
      std::vector<int64_t> p = pads;
      if (m == PadMode::Reflect) p = {1, 3, 4, 2};  // all < dim sizes 4 and 5
      Shape ys = pad_shape("t", {A, H, W}, p, m);
      CHECK((ys == Shape{A, H + p[0] + p[1], W + p[2] + p[3]}));
      std::vector<float> y(static_cast<size_t>(numel(ys)));
      pad(CFView{x.data(), {A, H, W}}, p, m, 2.5f, FSpan{y.data(), y.size()});
      bool ok = true;
      for (int64_t a = 0; a < A; ++a)
        for (int64_t i = 0; i < ys[1]; ++i)
          for (int64_t j = 0; j < ys[2]; ++j) {
            int64_t si = ref(i - p[0], H, m), sj = ref(j - p[2], W, m);
            float want = (si < 0 || sj < 0) ? 2.5f : x[static_cast<size_t>((a * H + si) * W + sj)];
            ok = ok && y[static_cast<size_t>((a * ys[1] + i) * ys[2] + j)] == want;
          }
      CHECK(ok);
    }
  set_num_threads(0);
}

TEST_CASE("pad_backward is the adjoint of pad (<pad(x), g> == <x, pad_backward(g)>)") {
  const PadMode modes[] = {PadMode::Constant, PadMode::Reflect, PadMode::Replicate, PadMode::Circular};
  const Shape xs{2, 3, 4, 5};
  for (auto m : modes)
    for (const std::vector<int64_t>& p :
         {std::vector<int64_t>{2, 1}, std::vector<int64_t>{0, 2, 3, 1}, std::vector<int64_t>{1, 1, 2, 0, 4, 4}}) {
      std::vector<int64_t> pp = p;
      if (m == PadMode::Reflect)
        for (auto& v : pp) v = std::min<int64_t>(v, 1);
      Shape ys = pad_shape("t", xs, pp, m);
      auto x = rnd(static_cast<size_t>(numel(xs)), 3);
      auto g = rnd(static_cast<size_t>(numel(ys)), 4);
      std::vector<float> y(g.size()), gx(x.size(), 99.0f);
      pad(CFView{x.data(), xs}, pp, m, 0.0f, FSpan{y.data(), y.size()});
      pad_backward(CFView{g.data(), ys}, pp, m, FSpan{gx.data(), gx.size()});
      double lhs = 0, rhs = 0;
      for (size_t i = 0; i < y.size(); ++i) lhs += static_cast<double>(y[i]) * g[i];
      for (size_t i = 0; i < x.size(); ++i) rhs += static_cast<double>(x[i]) * gx[i];
      CHECK_NEAR(lhs, rhs, 1e-3);
      CHECK((pad_backward_shape("t", ys, pp, m) == xs));
    }
}

TEST_CASE("pad follows torch's validity rules") {
  const Shape xs{1, 3, 4};
  CHECK_THROWS_CODE(pad_shape("pad", xs, {0, 4}, PadMode::Reflect), ErrorCode::Attr);  // pad 4 !< 4
  CHECK((pad_shape("pad", xs, {3, 3}, PadMode::Reflect) == Shape{1, 3, 10}));
  CHECK_THROWS_CODE(pad_shape("pad", xs, {3, 0, 0, 0}, PadMode::Reflect), ErrorCode::Attr);  // dim 1 has 3
  CHECK((pad_shape("pad", xs, {4, 4}, PadMode::Circular) == Shape{1, 3, 12}));
  CHECK_THROWS_CODE(pad_shape("pad", xs, {5, 0}, PadMode::Circular), ErrorCode::Attr);
  CHECK((pad_shape("pad", xs, {0, 0, -1, 0}, PadMode::Constant) == Shape{1, 3, 3}));  // crops
  CHECK_THROWS_CODE(pad_shape("pad", xs, {0, 0, -3, -2}, PadMode::Constant), ErrorCode::Attr);  // 5 > 4
  CHECK_THROWS_CODE(pad_shape("pad", xs, {0, 0, 3, -2}, PadMode::Circular), ErrorCode::Attr);  // 3 > 2 kept
  CHECK_THROWS_CODE(pad_shape("pad", xs, {1, 1, 1}, PadMode::Constant), ErrorCode::Attr);
  CHECK_THROWS_CODE(pad_shape("pad", xs, {1, 1, 1, 1, 1, 1, 1, 1}, PadMode::Constant), ErrorCode::Attr);
  CHECK_THROWS_CODE(pad_shape("pad", {2, 0}, {0, 1}, PadMode::Replicate), ErrorCode::Attr);
  CHECK((pad_shape("pad", {2, 0}, {0, 1}, PadMode::Constant) == Shape{2, 1}));
  CHECK_THROWS_CODE(pad_mode_from("pad", "edge"), ErrorCode::Attr);
  std::vector<float> x(12), y(20);
  CHECK_THROWS_CODE(pad(CFView{x.data(), xs}, {1, 1}, PadMode::Constant, 0, FSpan{y.data(), 19}), ErrorCode::Shape);
  CHECK_THROWS_CODE(pad(CFView{x.data(), xs}, {1, 1}, PadMode::Constant, 0, FSpan{x.data(), 12}), ErrorCode::Shape);
  CHECK_THROWS_CODE(pad(CFView{x.data(), xs}, {0, 0}, PadMode::Constant, 0, FSpan{x.data(), 12}), ErrorCode::Arg);
  CHECK_THROWS_CODE(pad_backward(CFView{y.data(), {1, 2, 4}}, {2, 1}, PadMode::Constant, FSpan{x.data(), 0}),
                    ErrorCode::Shape);  // gy smaller than the pads
}

namespace {
// torch's F.pad with negative pads, along one dim of size n: constant/reflect/replicate map
// output o to o - before on the uncropped dim; circular crops, then wraps around the rest.
int64_t ref_crop(int64_t o, int64_t before, int64_t after, int64_t n, PadMode m) {
  if (m != PadMode::Circular) return ref(o - before, n, m);
  int64_t start = std::max<int64_t>(-before, 0), kept = n - start - std::max<int64_t>(-after, 0);
  int64_t k = o - std::max<int64_t>(before, 0);
  return start + ((k % kept) + kept) % kept;
}
}  // namespace

TEST_CASE("negative pads crop in every mode (forward against torch's rule, backward as adjoint)") {
  const PadMode modes[] = {PadMode::Constant, PadMode::Reflect, PadMode::Replicate, PadMode::Circular};
  const Shape xs{2, 4, 5};
  const std::vector<std::vector<int64_t>> padsets = {
      {-1, 2, 2, -3}, {1, -1, -2, -1}, {-3, 1, 0, -4}, {2, -2, -1, 3}, {-1, -1, -2, -2}};
  auto x = rnd(static_cast<size_t>(numel(xs)), 11);
  for (int threads : {1, 2})
    for (auto m : modes)
      for (const auto& p : padsets) {
        set_num_threads(threads);
        Shape ys = pad_shape("t", xs, p, m);
        CHECK((ys == Shape{2, 4 + p[0] + p[1], 5 + p[2] + p[3]}));
        std::vector<float> y(static_cast<size_t>(numel(ys)));
        pad(CFView{x.data(), xs}, p, m, -7.0f, FSpan{y.data(), y.size()});
        bool ok = true;
        for (int64_t a = 0; a < 2; ++a)
          for (int64_t i = 0; i < ys[1]; ++i)
            for (int64_t j = 0; j < ys[2]; ++j) {
              int64_t si = ref_crop(i, p[0], p[1], 4, m), sj = ref_crop(j, p[2], p[3], 5, m);
              float want = (si < 0 || sj < 0) ? -7.0f : x[static_cast<size_t>((a * 4 + si) * 5 + sj)];
              ok = ok && y[static_cast<size_t>((a * ys[1] + i) * ys[2] + j)] == want;
            }
        CHECK(ok);
        // Adjoint: <pad(x), g> == <x, pad_backward(g)> (constant padding with value 0).
        auto g = rnd(y.size(), 5);
        std::vector<float> y0(y.size()), gx(x.size(), 99.0f);
        pad(CFView{x.data(), xs}, p, m, 0.0f, FSpan{y0.data(), y0.size()});
        pad_backward(CFView{g.data(), ys}, p, m, FSpan{gx.data(), gx.size()});
        double lhs = 0, rhs = 0;
        for (size_t i = 0; i < y0.size(); ++i) lhs += static_cast<double>(y0[i]) * g[i];
        for (size_t i = 0; i < x.size(); ++i) rhs += static_cast<double>(x[i]) * gx[i];
        CHECK_NEAR(lhs, rhs, 1e-3);
        CHECK((pad_backward_shape("t", ys, p, m) == xs));
      }
  set_num_threads(0);
}

TEST_CASE("pad with no output work returns without building index tables") {
  // [0, 1] padded by 2^28 on both sides: the output is empty; the index table of the last dim
  // would be 4 GB. Also the gradient of a fully cropped pad is zeros.
  const int64_t big = int64_t{1} << 28;
  std::vector<float> none(1);
  Shape ys = pad_shape("t", {0, 1}, {big, big}, PadMode::Constant);
  CHECK((ys == Shape{0, 2 * big + 1}));
  pad(CFView{none.data(), {0, 1}}, {big, big}, PadMode::Constant, 0.0f, FSpan{none.data(), 0});
  pad_backward(CFView{none.data(), ys}, {big, big}, PadMode::Constant, FSpan{none.data(), 0});
  std::vector<float> gx(6, 5.0f);
  pad_backward(CFView{none.data(), {2, 0}}, {-3, 0}, PadMode::Constant, FSpan{gx.data(), gx.size()});
  CHECK((gx == std::vector<float>(6, 0.0f)));
}

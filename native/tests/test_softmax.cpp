// Softmax family against double-precision reference loops on every axis, including inner
// axes wider than one column block and rows longer than the SIMD lanes.
#include <cmath>
#include <random>
#include <vector>

#include "check.h"
#include "ravdl/parallel.h"
#include "ravdl/softmax.h"

using namespace ravdl;

namespace {

std::vector<float> rnd(size_t n, unsigned seed, float scale) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// Applies fn(offsets of one slice) to every slice along `axis`.
template <class F>
void each_slice(const Shape& s, int64_t axis, F fn) {
  int64_t outer = 1, inner = 1, k = s[axis];
  for (int64_t i = 0; i < axis; ++i) outer *= s[i];
  for (size_t i = axis + 1; i < s.size(); ++i) inner *= s[i];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      std::vector<size_t> idx(k);
      for (int64_t r = 0; r < k; ++r) idx[r] = (o * k + r) * inner + j;
      fn(idx);
    }
}

void reference(SoftmaxKind kind, const std::vector<float>& x, const std::vector<float>& g,
               const Shape& s, int64_t axis, std::vector<double>& y, std::vector<double>& gx) {
  y.assign(x.size(), 0);
  gx.assign(x.size(), 0);
  double sgn = kind == SoftmaxKind::Softmin ? -1 : 1;
  each_slice(s, axis, [&](const std::vector<size_t>& idx) {
    double m = -INFINITY, sum = 0, dot = 0, gsum = 0;
    for (size_t i : idx) m = std::max(m, sgn * x[i]);
    for (size_t i : idx) sum += std::exp(sgn * x[i] - m);
    for (size_t i : idx) {
      double p = std::exp(sgn * x[i] - m) / sum;
      y[i] = kind == SoftmaxKind::LogSoftmax ? sgn * x[i] - m - std::log(sum) : p;
      dot += g[i] * p;
      gsum += g[i];
    }
    // Jacobian-vector products written from d(softmax)/dx directly.
    for (size_t i : idx) {
      double p = std::exp(sgn * x[i] - m) / sum;
      gx[i] = kind == SoftmaxKind::LogSoftmax ? g[i] - p * gsum : sgn * p * (g[i] - dot);
    }
  });
}

}  // namespace

TEST_CASE("softmax, log_softmax and softmin match the reference on every axis") {
  for (Shape s : {Shape{4, 37}, Shape{3, 5, 6}, Shape{2, 7, 300}, Shape{33}}) {
    auto x = rnd(numel(s), 1, 4.f), g = rnd(numel(s), 2, 1.f);
    for (SoftmaxKind kind : {SoftmaxKind::Softmax, SoftmaxKind::LogSoftmax, SoftmaxKind::Softmin}) {
      for (int64_t axis = 0; axis < int64_t(s.size()); ++axis) {
        std::vector<float> y(x.size()), gx(x.size());
        softmax_forward(kind, view<const float>("t", "x", x.data(), x.size(), s), axis,
                        {y.data(), y.size()});
        softmax_backward(kind, view<const float>("t", "y", y.data(), y.size(), s),
                         {g.data(), g.size()}, axis - int64_t(s.size()), {gx.data(), gx.size()});
        std::vector<double> ry, rg;
        reference(kind, x, g, s, axis, ry, rg);
        double ey = 0, eg = 0;
        for (size_t i = 0; i < x.size(); ++i) {
          ey = std::max(ey, std::fabs(y[i] - ry[i]) / (1 + std::fabs(ry[i])));
          eg = std::max(eg, std::fabs(gx[i] - rg[i]) / (1 + std::fabs(rg[i])));
        }
        CHECK(ey < 2e-6);
        CHECK(eg < 2e-6);
      }
    }
  }
}

TEST_CASE("exp_approx is accurate, exact at 0, and zero far below") {
  double worst = 0;
  for (float x = -87.f; x <= 0.f; x += 0.0137f)
    worst = std::max(worst, std::fabs(detail::exp_approx(x) / std::exp(double(x)) - 1));
  CHECK(worst < 3e-7);
  CHECK(detail::exp_approx(0.f) == 1.f);
  CHECK(detail::exp_approx(-INFINITY) == 0.f);
  CHECK(detail::exp_approx(-200.f) == 0.f);
  CHECK(std::isnan(detail::exp_approx(NAN)));
}

TEST_CASE("softmax handles -inf entries and is the same at any thread count") {
  Shape s{64, 3, 500};
  auto x = rnd(numel(s), 3, 5.f);
  x[7] = -INFINITY;
  std::vector<float> a(x.size()), b(x.size());
  for (int t : {1, 2}) {
    set_num_threads(t);
    softmax_forward(SoftmaxKind::Softmax, view<const float>("t", "x", x.data(), x.size(), s), 1,
                    {(t == 1 ? a : b).data(), a.size()});
  }
  set_num_threads(0);
  CHECK(a == b);
  CHECK(a[7] == 0.f);
}

TEST_CASE("softmax rejects bad axes, sizes and partial aliasing") {
  std::vector<float> x(12), y(12);
  auto xv = view<const float>("t", "x", x.data(), x.size(), {3, 4});
  CHECK_THROWS_CODE(softmax_forward(SoftmaxKind::Softmax, xv, 2, {y.data(), 12}), ErrorCode::Index);
  CHECK_THROWS_CODE(softmax_forward(SoftmaxKind::Softmin, xv, -3, {y.data(), 12}), ErrorCode::Index);
  CHECK_THROWS_CODE(softmax_forward(SoftmaxKind::Softmax, xv, 1, {y.data(), 11}), ErrorCode::Shape);
  CHECK_THROWS_CODE(softmax_backward(SoftmaxKind::LogSoftmax, xv, {y.data(), 11}, 1, {y.data(), 12}),
                    ErrorCode::Shape);
  std::vector<float> big(16);
  auto bv = view<const float>("t", "x", big.data(), 12, {3, 4});
  CHECK_THROWS_CODE(softmax_forward(SoftmaxKind::Softmax, bv, 1, {big.data() + 2, 12}), ErrorCode::Arg);
  softmax_forward(SoftmaxKind::Softmax, bv, 1, {big.data(), 12});  // exact in-place is fine
  CHECK_NEAR(big[0] + big[1] + big[2] + big[3], 1.0, 1e-6);
}

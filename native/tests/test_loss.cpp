// Cross-entropy and MSE against double-precision reference loops and finite differences.
#include <cmath>
#include <random>
#include <vector>

#include "check.h"
#include "ravdl/loss.h"
#include "ravdl/parallel.h"

using namespace ravdl;

namespace {

std::vector<float> rnd(size_t n, unsigned seed, float scale = 1.f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

struct Ce {
  int64_t n, c, d;
  std::vector<int32_t> t;
  std::vector<float> w;  // empty: unweighted
  int64_t ignore = -100;
  double eps = 0;
};

// Reference loss per torch's definition, in double; reduction mean/sum/none.
std::vector<double> ref_ce(const Ce& p, const std::vector<double>& z, Reduction r) {
  std::vector<double> per(p.n * p.d);
  double denom = 0;
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t d = 0; d < p.d; ++d) {
      int64_t i = n * p.d + d, t = p.t[i];
      if (t == p.ignore) continue;
      auto zz = [&](int64_t k) { return z[(n * p.c + k) * p.d + d]; };
      double m = -INFINITY, s = 0;
      for (int64_t k = 0; k < p.c; ++k) m = std::max(m, zz(k));
      for (int64_t k = 0; k < p.c; ++k) s += std::exp(zz(k) - m);
      auto logp = [&](int64_t k) { return zz(k) - m - std::log(s); };
      auto w = [&](int64_t k) { return p.w.empty() ? 1.0 : double(p.w[k]); };
      double smooth = 0;
      for (int64_t k = 0; k < p.c; ++k) smooth -= w(k) * logp(k);
      per[i] = (1 - p.eps) * -w(t) * logp(t) + p.eps / p.c * smooth;
      denom += w(t);
    }
  if (r == Reduction::None) return per;
  double s = 0;
  for (double v : per) s += v;
  return {r == Reduction::Mean ? s / denom : s};
}

}  // namespace

TEST_CASE("cross_entropy matches the reference and finite differences") {
  std::vector<Ce> cases = {
      {5, 4, 1, {0, 3, -100, 2, 1}, {}, -100, 0.0},
      {3, 6, 4, {}, {0.5f, 1.f, 2.f, 0.3f, 1.2f, 0.9f}, -100, 0.0},
      {4, 3, 2, {0, 1, 2, 1, 1, 0, 2, 2}, {0.5f, 2.f, 1.f}, 1, 0.2},
      {6, 40, 1, {}, {}, -100, 0.1},
  };
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    Ce& p = cases[ci];
    if (p.t.empty())
      for (int64_t i = 0; i < p.n * p.d; ++i) p.t.push_back(int32_t((i * 7 + 3) % p.c));
    Shape shape{p.n, p.c};
    if (p.d > 1) shape.push_back(p.d);
    auto z = rnd(numel(shape), 10 + ci, 2.f);
    std::vector<double> zd(z.begin(), z.end());
    CrossEntropyAttrs a;
    a.ignore_index = p.ignore;
    a.label_smoothing = p.eps;
    OptCF w = p.w.empty() ? OptCF() : OptCF(Span<const float>{p.w.data(), p.w.size()});
    auto zv = view<const float>("t", "z", z.data(), z.size(), shape);
    Span<const int32_t> t{p.t.data(), p.t.size()};
    for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
      a.reduction = r;
      auto ref = ref_ce(p, zd, r);
      std::vector<float> out(ref.size());
      cross_entropy_forward(zv, t, w, {out.data(), out.size()}, a);
      for (size_t i = 0; i < ref.size(); ++i) CHECK_NEAR(out[i], ref[i], 1e-5 * (1 + std::fabs(ref[i])));
      // Gradient of sum(loss * gl) by central differences of the reference.
      auto gl = rnd(ref.size(), 20 + ci, 1.f);
      std::vector<float> gz(z.size());
      cross_entropy_backward(zv, t, w, {gl.data(), gl.size()}, {gz.data(), gz.size()}, a);
      for (size_t i = 0; i < z.size(); ++i) {
        const double h = 1e-5;
        double keep = zd[i];
        zd[i] = keep + h;
        auto lp = ref_ce(p, zd, r);
        zd[i] = keep - h;
        auto lm = ref_ce(p, zd, r);
        zd[i] = keep;
        double fd = 0;
        for (size_t k = 0; k < lp.size(); ++k) fd += (lp[k] - lm[k]) / (2 * h) * gl[k];
        CHECK_NEAR(gz[i], fd, 1e-5);
      }
    }
  }
}

TEST_CASE("cross_entropy with probability targets equals the index form on one-hot targets") {
  int64_t N = 7, C = 5;
  auto z = rnd(N * C, 30, 2.f);
  std::vector<int32_t> t(N);
  std::vector<float> q(N * C, 0.f), w{0.3f, 1.f, 2.f, 0.7f, 1.1f};
  for (int64_t i = 0; i < N; ++i) t[i] = int32_t((3 * i + 1) % C), q[i * C + t[i]] = 1.f;
  auto zv = view<const float>("t", "z", z.data(), z.size(), {N, C});
  CrossEntropyAttrs a;
  a.reduction = Reduction::Sum;
  float l1, l2;
  cross_entropy_forward(zv, {t.data(), t.size()}, Span<const float>{w.data(), 5}, {&l1, 1}, a);
  cross_entropy_prob_forward(zv, {q.data(), q.size()}, Span<const float>{w.data(), 5}, {&l2, 1}, a);
  CHECK_NEAR(l1, l2, 1e-5);
  std::vector<float> g1(N * C), g2(N * C);
  float one = 1.f;
  cross_entropy_backward(zv, {t.data(), t.size()}, Span<const float>{w.data(), 5}, {&one, 1},
                         {g1.data(), g1.size()}, a);
  cross_entropy_prob_backward(zv, {q.data(), q.size()}, Span<const float>{w.data(), 5}, {&one, 1},
                              {g2.data(), g2.size()}, a);
  for (size_t i = 0; i < g1.size(); ++i) CHECK_NEAR(g1[i], g2[i], 1e-6);
}

TEST_CASE("cross_entropy rejects out-of-range labels and bad attributes") {
  std::vector<float> z(12), out(1), gz(12);
  auto zv = view<const float>("t", "z", z.data(), z.size(), {4, 3});
  std::vector<int32_t> bad{0, 1, 3, 2}, neg{0, -1, 1, 2}, ok{0, 1, 2, -100};
  CrossEntropyAttrs a;
  CHECK_THROWS_CODE(cross_entropy_forward(zv, {bad.data(), 4}, std::nullopt, {out.data(), 1}, a), ErrorCode::Index);
  CHECK_THROWS_CODE(cross_entropy_forward(zv, {neg.data(), 4}, std::nullopt, {out.data(), 1}, a), ErrorCode::Index);
  CHECK_THROWS_CODE(cross_entropy_backward(zv, {bad.data(), 4}, std::nullopt, {out.data(), 1}, {gz.data(), 12}, a),
                    ErrorCode::Index);
  CHECK_THROWS_CODE(cross_entropy_forward(zv, {ok.data(), 3}, std::nullopt, {out.data(), 1}, a), ErrorCode::Shape);
  CHECK_THROWS_CODE(cross_entropy_forward(zv, {ok.data(), 4}, Span<const float>{z.data(), 4}, {out.data(), 1}, a),
                    ErrorCode::Shape);
  a.label_smoothing = -0.1;
  CHECK_THROWS_CODE(cross_entropy_forward(zv, {ok.data(), 4}, std::nullopt, {out.data(), 1}, a), ErrorCode::Attr);
  a.label_smoothing = 0;
  a.reduction = Reduction::None;
  CHECK_THROWS_CODE(cross_entropy_forward(zv, {ok.data(), 4}, std::nullopt, {out.data(), 1}, a), ErrorCode::Shape);
  CHECK_THROWS_CODE(parse_reduction("t", "avg"), ErrorCode::Attr);
  CHECK(cross_entropy_shape({4, 3, 2, 5}, Reduction::None) == (Shape{4, 2, 5}));
  CHECK(cross_entropy_shape({4, 3}, Reduction::Mean).empty());
  CHECK_THROWS_CODE(cross_entropy_shape({4}, Reduction::Mean), ErrorCode::Shape);
}

TEST_CASE("mse_loss matches the reference, forward and backward") {
  size_t n = 10001;
  auto p = rnd(n, 40), t = rnd(n, 41);
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += double(p[i] - t[i]) * (p[i] - t[i]);
  float mean, sum;
  mse_loss_forward({p.data(), n}, {t.data(), n}, {&mean, 1}, Reduction::Mean);
  mse_loss_forward({p.data(), n}, {t.data(), n}, {&sum, 1}, Reduction::Sum);
  CHECK_NEAR(mean, s / n, 1e-5);
  CHECK_NEAR(sum, s, 1e-6 * s);
  std::vector<float> none(n), gp(n), gt(n);
  mse_loss_forward({p.data(), n}, {t.data(), n}, {none.data(), n}, Reduction::None);
  CHECK_NEAR(none[17], double(p[17] - t[17]) * (p[17] - t[17]), 1e-6);
  float g = 0.5f;
  mse_loss_backward({p.data(), n}, {t.data(), n}, {&g, 1}, FSpan{gp.data(), n}, FSpan{gt.data(), n},
                    Reduction::Mean);
  CHECK_NEAR(gp[5], 2.0 * (p[5] - t[5]) * 0.5 / n, 1e-9);
  CHECK_NEAR(gt[5], -2.0 * (p[5] - t[5]) * 0.5 / n, 1e-9);
  CHECK_THROWS_CODE(mse_loss_forward({p.data(), n}, {t.data(), n - 1}, {&mean, 1}, Reduction::Mean), ErrorCode::Shape);
  CHECK_THROWS_CODE(mse_loss_forward({p.data(), n}, {t.data(), n}, {none.data(), 2}, Reduction::Sum), ErrorCode::Shape);
  CHECK_THROWS_CODE(mse_loss_backward({p.data(), n}, {t.data(), n}, {&g, 1}, FSpan{gp.data(), n - 1},
                                      std::nullopt, Reduction::Mean),
                    ErrorCode::Shape);
}

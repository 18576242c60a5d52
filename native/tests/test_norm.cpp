// batch_norm / layer_norm against double-precision reference loops; gradients against central
// finite differences of the reference forward.
#include <cmath>
#include <random>
#include <vector>

#include "check.h"
#include "ravdl/norm.h"
#include "ravdl/parallel.h"

using namespace ravdl;

namespace {

std::vector<float> rnd(size_t n, unsigned seed, float scale = 1.f, float shift = 0.f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g) * scale + shift;
  return v;
}

// Reference training-mode batch norm of (N, C, S) in double.
std::vector<double> ref_bn(const std::vector<double>& x, int64_t N, int64_t C, int64_t S,
                           const std::vector<float>& gamma, const std::vector<float>& beta,
                           double eps, std::vector<double>* mean_out = nullptr,
                           std::vector<double>* var_out = nullptr) {
  std::vector<double> y(x.size());
  for (int64_t c = 0; c < C; ++c) {
    double m = 0, v = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) m += x[(n * C + c) * S + s];
    m /= N * S;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) v += std::pow(x[(n * C + c) * S + s] - m, 2);
    v /= N * S;
    if (mean_out) (*mean_out)[c] = m, (*var_out)[c] = v;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        size_t i = (n * C + c) * S + s;
        y[i] = (x[i] - m) / std::sqrt(v + eps) * gamma[c] + beta[c];
      }
  }
  return y;
}

std::vector<double> ref_ln(const std::vector<double>& x, int64_t M, int64_t D,
                           const std::vector<float>& w, const std::vector<float>& b, double eps) {
  std::vector<double> y(x.size());
  for (int64_t i = 0; i < M; ++i) {
    double m = 0, v = 0;
    for (int64_t j = 0; j < D; ++j) m += x[i * D + j];
    m /= D;
    for (int64_t j = 0; j < D; ++j) v += std::pow(x[i * D + j] - m, 2);
    v /= D;
    for (int64_t j = 0; j < D; ++j)
      y[i * D + j] = (x[i * D + j] - m) / std::sqrt(v + eps) * w[j] + b[j];
  }
  return y;
}

template <class F>
std::vector<double> fd_grad(const std::vector<float>& x, const std::vector<float>& g, F forward) {
  std::vector<double> xd(x.begin(), x.end()), grad(x.size());
  const double h = 1e-4;
  for (size_t i = 0; i < x.size(); ++i) {
    double keep = xd[i], lp = 0, lm = 0;
    xd[i] = keep + h;
    auto yp = forward(xd);
    xd[i] = keep - h;
    auto ym = forward(xd);
    xd[i] = keep;
    for (size_t k = 0; k < g.size(); ++k) lp += yp[k] * g[k], lm += ym[k] * g[k];
    grad[i] = (lp - lm) / (2 * h);
  }
  return grad;
}

CFView cv(const std::vector<float>& v, Shape s) { return view<const float>("t", "x", v.data(), v.size(), s); }
FSpan sp(std::vector<float>& v) { return {v.data(), v.size()}; }
Span<const float> csp(const std::vector<float>& v) { return {v.data(), v.size()}; }

}  // namespace

TEST_CASE("batch_norm training forward matches the reference, updates running stats") {
  for (Shape shape : {Shape{6, 4}, Shape{3, 4, 5}, Shape{2, 4, 3, 3}}) {
    int64_t N = shape[0], C = shape[1], S = numel(shape) / (N * C);
    auto x = rnd(numel(shape), 1, 2.f, 0.5f);
    auto gamma = rnd(C, 2, 0.3f, 1.f), beta = rnd(C, 3);
    std::vector<float> rm(C, 0.2f), rv(C, 1.5f), y(x.size()), sm(C), si(C);
    BatchNormAttrs a{true, 0.25, 1e-3};
    batch_norm_forward(cv(x, shape), csp(gamma), csp(beta), sp(rm), sp(rv), sp(y), sp(sm), sp(si), a);
    std::vector<double> mean(C), var(C);
    auto ref = ref_bn(std::vector<double>(x.begin(), x.end()), N, C, S, gamma, beta, 1e-3, &mean, &var);
    for (size_t i = 0; i < y.size(); ++i) CHECK_NEAR(y[i], ref[i], 1e-5);
    double cnt = double(N * S);
    for (int64_t c = 0; c < C; ++c) {
      CHECK_NEAR(sm[c], mean[c], 1e-6);
      CHECK_NEAR(si[c], 1 / std::sqrt(var[c] + 1e-3), 1e-5);
      CHECK_NEAR(rm[c], 0.75 * 0.2 + 0.25 * mean[c], 1e-6);
      CHECK_NEAR(rv[c], 0.75 * 1.5 + 0.25 * var[c] * cnt / (cnt - 1), 1e-5);
    }
  }
}

TEST_CASE("batch_norm inference uses the running stats") {
  Shape shape{3, 2, 4};
  auto x = rnd(24, 4);
  std::vector<float> rm{0.5f, -1.f}, rv{2.f, 0.25f}, y(24), gamma{1.5f, -0.5f}, beta{0.1f, 0.2f};
  BatchNormAttrs a{false, 0.1, 1e-5};
  batch_norm_forward(cv(x, shape), csp(gamma), csp(beta), sp(rm), sp(rv), sp(y), std::nullopt,
                     std::nullopt, a);
  for (int64_t i = 0; i < 24; ++i) {
    int64_t c = (i / 4) % 2;
    CHECK_NEAR(y[i], (x[i] - rm[c]) / std::sqrt(rv[c] + 1e-5) * gamma[c] + beta[c], 1e-5);
  }
  CHECK(rm[0] == 0.5f && rv[1] == 0.25f);  // untouched in inference
}

TEST_CASE("batch_norm backward matches finite differences (training and inference)") {
  Shape shape{3, 3, 4};
  int64_t N = 3, C = 3, S = 4;
  auto x = rnd(36, 5, 1.5f), g = rnd(36, 6);
  auto gamma = rnd(C, 7, 0.3f, 1.f), beta = rnd(C, 8);
  std::vector<float> y(36), sm(C), si(C), gx(36), gg(C), gb(C);
  batch_norm_forward(cv(x, shape), csp(gamma), csp(beta), std::nullopt, std::nullopt, sp(y), sp(sm),
                     sp(si), BatchNormAttrs{true, 0.1, 1e-5});
  batch_norm_backward(cv(g, shape), cv(x, shape), csp(gamma), csp(sm), csp(si), true, sp(gx),
                      sp(gg), sp(gb));
  auto ref = fd_grad(x, g, [&](const std::vector<double>& xd) {
    return ref_bn(xd, N, C, S, gamma, beta, 1e-5);
  });
  for (size_t i = 0; i < gx.size(); ++i) CHECK_NEAR(gx[i], ref[i], 2e-4);
  // grad_beta = sum(dy), grad_gamma = sum(dy * xhat) per channel.
  for (int64_t c = 0; c < C; ++c) {
    double sb = 0, sg = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        size_t i = (n * C + c) * S + s;
        sb += g[i];
        sg += g[i] * (x[i] - sm[c]) * si[c];
      }
    CHECK_NEAR(gb[c], sb, 1e-4);
    CHECK_NEAR(gg[c], sg, 1e-4);
  }
  // Inference: statistics are constants, grad_x = dy * gamma * invstd.
  batch_norm_backward(cv(g, shape), cv(x, shape), csp(gamma), csp(sm), csp(si), false, sp(gx),
                      std::nullopt, std::nullopt);
  for (size_t i = 0; i < gx.size(); ++i) {
    int64_t c = (i / S) % C;
    CHECK_NEAR(gx[i], g[i] * gamma[c] * si[c], 1e-6);
  }
}

TEST_CASE("batch_norm on a large (N, C) tensor is the same at any thread count") {
  Shape shape{256, 300};
  auto x = rnd(numel(shape), 9);
  std::vector<float> y1(x.size()), y2(x.size()), s1(300), s2(300);
  for (int t : {1, 2}) {
    set_num_threads(t);
    batch_norm_forward(cv(x, shape), std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                       sp(t == 1 ? y1 : y2), sp(t == 1 ? s1 : s2), std::nullopt, BatchNormAttrs{});
  }
  set_num_threads(0);
  CHECK(y1 == y2);
  CHECK(s1 == s2);
}

TEST_CASE("batch_norm rejects bad channels, attributes and buffers") {
  Shape shape{2, 3, 4};
  std::vector<float> x(24), y(24), c3(3), c4(4);
  auto run = [&](OptCF gamma, BatchNormAttrs a, OptF rm = std::nullopt, OptF rv = std::nullopt) {
    batch_norm_forward(cv(x, shape), gamma, std::nullopt, rm, rv, sp(y), std::nullopt, std::nullopt, a);
  };
  CHECK_THROWS_CODE(run(csp(c4), {}), ErrorCode::Shape);
  CHECK_THROWS_CODE(run(std::nullopt, {true, 0.1, 0.0}), ErrorCode::Attr);
  CHECK_THROWS_CODE(run(std::nullopt, {true, 0.1, -1e-5}), ErrorCode::Attr);
  CHECK_THROWS_CODE(run(std::nullopt, {true, 0.1, NAN}), ErrorCode::Attr);
  CHECK_THROWS_CODE(run(std::nullopt, {true, 1.01, 1e-5}), ErrorCode::Attr);
  CHECK_THROWS_CODE(run(std::nullopt, {true, -0.5, 1e-5}), ErrorCode::Attr);
  CHECK_THROWS_CODE(run(std::nullopt, {true, NAN, 1e-5}), ErrorCode::Attr);
  CHECK_THROWS_CODE(run(std::nullopt, {false, 0.1, 1e-5}), ErrorCode::Arg);
  CHECK_THROWS_CODE(run(std::nullopt, {}, sp(c3), std::nullopt), ErrorCode::Arg);
  CHECK_THROWS_CODE(run(std::nullopt, {}, sp(c3), sp(c4)), ErrorCode::Shape);
  CHECK_THROWS_CODE(batch_norm_forward(cv(x, {24}), std::nullopt, std::nullopt, std::nullopt,
                                       std::nullopt, sp(y), std::nullopt, std::nullopt, {}),
                    ErrorCode::Shape);
  CHECK_THROWS_CODE(batch_norm_forward(cv(x, shape), std::nullopt, std::nullopt, std::nullopt,
                                       std::nullopt, FSpan{y.data(), 23}, std::nullopt,
                                       std::nullopt, {}),
                    ErrorCode::Shape);
  // Partially overlapping output.
  std::vector<float> big(30);
  CHECK_THROWS_CODE(batch_norm_forward(view<const float>("t", "x", big.data(), 24, shape),
                                       std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                                       FSpan{big.data() + 3, 24}, std::nullopt, std::nullopt, {}),
                    ErrorCode::Arg);
  CHECK_THROWS_CODE(batch_norm_backward(cv(x, shape), cv(x, {2, 3, 2, 2}), std::nullopt, csp(c3),
                                        csp(c3), true, sp(y), std::nullopt, std::nullopt),
                    ErrorCode::Shape);
  CHECK_THROWS_CODE(batch_norm_backward(cv(x, shape), cv(x, shape), std::nullopt, csp(c4), csp(c3),
                                        true, sp(y), std::nullopt, std::nullopt),
                    ErrorCode::Shape);
}

TEST_CASE("layer_norm forward and backward match the reference") {
  Shape shape{3, 2, 5};
  int64_t M = 3, D = 10;
  auto x = rnd(30, 11, 2.f, 1.f), g = rnd(30, 12);
  auto w = rnd(D, 13, 0.3f, 1.f), b = rnd(D, 14);
  std::vector<float> y(30), mean(M), rstd(M), gx(30), gw(D), gb(D);
  layer_norm_forward(cv(x, shape), {2, 5}, csp(w), csp(b), sp(y), sp(mean), sp(rstd), 1e-5);
  auto ref = ref_ln(std::vector<double>(x.begin(), x.end()), M, D, w, b, 1e-5);
  for (size_t i = 0; i < y.size(); ++i) CHECK_NEAR(y[i], ref[i], 1e-5);
  layer_norm_backward(cv(g, shape), cv(x, shape), {2, 5}, csp(mean), csp(rstd), csp(w), sp(gx),
                      sp(gw), sp(gb));
  auto fd = fd_grad(x, g, [&](const std::vector<double>& xd) { return ref_ln(xd, M, D, w, b, 1e-5); });
  for (size_t i = 0; i < gx.size(); ++i) CHECK_NEAR(gx[i], fd[i], 2e-4);
  for (int64_t j = 0; j < D; ++j) {
    double sw = 0, sb = 0;
    for (int64_t i = 0; i < M; ++i) {
      sw += g[i * D + j] * (x[i * D + j] - mean[i]) * rstd[i];
      sb += g[i * D + j];
    }
    CHECK_NEAR(gw[j], sw, 1e-5);
    CHECK_NEAR(gb[j], sb, 1e-5);
  }
}

TEST_CASE("layer_norm rejects bad shapes and eps") {
  std::vector<float> x(12), y(12), m3(3);
  CHECK_THROWS_CODE(layer_norm_forward(cv(x, {3, 4}), {3}, std::nullopt, std::nullopt, sp(y),
                                       std::nullopt, std::nullopt, 1e-5),
                    ErrorCode::Shape);
  CHECK_THROWS_CODE(layer_norm_forward(cv(x, {3, 4}), {}, std::nullopt, std::nullopt, sp(y),
                                       std::nullopt, std::nullopt, 1e-5),
                    ErrorCode::Shape);
  CHECK_THROWS_CODE(layer_norm_forward(cv(x, {3, 4}), {4}, std::nullopt, std::nullopt, sp(y),
                                       std::nullopt, std::nullopt, 0.0),
                    ErrorCode::Attr);
  CHECK_THROWS_CODE(layer_norm_forward(cv(x, {3, 4}), {4}, csp(m3), std::nullopt, sp(y),
                                       std::nullopt, std::nullopt, 1e-5),
                    ErrorCode::Shape);
  CHECK_THROWS_CODE(layer_norm_backward(cv(x, {3, 4}), cv(x, {3, 4}), {4}, csp(m3),
                                        Span<const float>{m3.data(), 2}, std::nullopt, sp(y),
                                        std::nullopt, std::nullopt),
                    ErrorCode::Shape);
}

// Found by the binding fuzzer: an empty spatial dim (S = 0) divided the row grain by zero (SIGFPE).
TEST_CASE("batch_norm with an empty spatial dim writes nothing and does not divide by zero") {
  Shape shape{2, 3, 0};
  std::vector<float> x, y, g, gx, rm{0.5f, 0.f, 1.f}, rv{1.f, 2.f, 3.f}, gg(3, 7.f), gb(3, 7.f);
  std::vector<float> mean{0.f, 0.f, 0.f}, invstd{1.f, 1.f, 1.f};
  batch_norm_forward(cv(x, shape), std::nullopt, std::nullopt, sp(rm), sp(rv), sp(y), std::nullopt,
                     std::nullopt, BatchNormAttrs{false, 0.1, 1e-5});
  batch_norm_backward(cv(g, shape), cv(x, shape), std::nullopt, csp(mean), csp(invstd), true, sp(gx),
                      sp(gg), sp(gb));
  for (int c = 0; c < 3; ++c) CHECK(gg[c] == 0.f && gb[c] == 0.f);  // sums over no elements
  CHECK(rm[0] == 0.5f && rv[2] == 3.f);
}

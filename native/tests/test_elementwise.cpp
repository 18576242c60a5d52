// Elementwise kernels against reference loops written here (double precision, naive indexing).
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "ravdl/elementwise.h"
#include "ravdl/parallel.h"

using namespace ravdl;

namespace {

std::vector<float> randv(size_t n, unsigned seed, float lo = -3, float hi = 3) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

Span<const float> cs(const std::vector<float>& v) { return {v.data(), v.size()}; }
FSpan ms(std::vector<float>& v) { return {v.data(), v.size()}; }

double sig(double x) { return 1 / (1 + std::exp(-x)); }

// Reference forward definitions (torch formulas, double precision).
double ref_fwd(UnaryOp op, double x, double a, double b) {
  switch (op) {
    case UnaryOp::Relu: return x > 0 ? x : 0;
    case UnaryOp::Sigmoid: return sig(x);
    case UnaryOp::Tanh: return std::tanh(x);
    case UnaryOp::LeakyRelu: return x > 0 ? x : a * x;
    case UnaryOp::Elu: return x > 0 ? x : a * (std::exp(x) - 1);
    case UnaryOp::Selu: return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (std::exp(x) - 1));
    case UnaryOp::Softplus: return a * x > b ? x : std::log(1 + std::exp(a * x)) / a;
    case UnaryOp::Softsign: return x / (1 + std::fabs(x));
    case UnaryOp::Tanhshrink: return x - std::tanh(x);
    case UnaryOp::Logsigmoid: return std::log(sig(x));
    case UnaryOp::Hardshrink: return std::fabs(x) > a ? x : 0;
    case UnaryOp::Hardtanh: return std::min(std::max(x, a), b);
    case UnaryOp::Softshrink: return x > a ? x - a : (x < -a ? x + a : 0);
    case UnaryOp::Threshold: return x > a ? x : b;
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Abs: return std::fabs(x);
    case UnaryOp::Sign: return x > 0 ? 1 : (x < 0 ? -1 : 0);
    case UnaryOp::Neg: return -x;
    case UnaryOp::PowScalar: return std::pow(x, a);
    case UnaryOp::Clip: return std::min(std::max(x, a), b);
    case UnaryOp::LogicalNot: return x == 0 ? 1 : 0;
  }
  return 0;
}

// Parameters used for each op in these tests (non-default where the op has any).
UnaryParams params_for(UnaryOp op) {
  switch (op) {
    case UnaryOp::LeakyRelu: return UnaryParams(0.2);
    case UnaryOp::Elu: return UnaryParams(0.7);
    case UnaryOp::Softplus: return UnaryParams(2.0, 3.0);
    case UnaryOp::Hardshrink: return UnaryParams(0.4);
    case UnaryOp::Hardtanh: return UnaryParams(-0.8, 1.3);
    case UnaryOp::Softshrink: return UnaryParams(0.6);
    case UnaryOp::Threshold: return UnaryParams(0.25, -2.0);
    case UnaryOp::PowScalar: return UnaryParams(1.7);
    case UnaryOp::Clip: return UnaryParams(-0.9, 0.75);
    default: return UnaryParams();
  }
}

bool positive_domain(UnaryOp op) {
  return op == UnaryOp::Log || op == UnaryOp::Sqrt || op == UnaryOp::PowScalar;
}

}  // namespace

TEST_CASE("unary table follows the enum order") {
  int n = 0;
  const UnaryInfo* t = unary_table(&n);
  CHECK(n == static_cast<int>(UnaryOp::LogicalNot) + 1);
  for (int i = 0; i < n; ++i) CHECK(&unary_info(t[i].op) == &t[i]);
  CHECK(std::string(unary_info(UnaryOp::LeakyRelu).name) == "leaky_relu");
}

TEST_CASE("unary forward matches the reference definitions") {
  int n = 0;
  const UnaryInfo* t = unary_table(&n);
  for (int k = 0; k < n; ++k) {
    UnaryOp op = t[k].op;
    UnaryParams pp = params_for(op);
    double a = pp.has[0] ? pp.p[0] : t[k].defaults[0], b = pp.has[1] ? pp.p[1] : t[k].defaults[1];
    std::vector<float> x = positive_domain(op) ? randv(1000, 7 + k, 0.01f, 4) : randv(1000, 7 + k);
    x[0] = 0;
    std::vector<float> y(x.size());
    unary(op, cs(x), ms(y), pp);
    bool ok = true;
    for (size_t i = 0; i < x.size(); ++i) {
      double r = ref_fwd(op, x[i], a, b);
      if (!(y[i] == r || std::fabs(y[i] - r) <= 1e-5 + 1e-5 * std::fabs(r))) {
        ok = false;
        std::fprintf(stderr, "  %s(%g) = %g, reference %g\n", t[k].name, x[i], y[i], r);
        break;
      }
    }
    CHECK(ok);
  }
}

TEST_CASE("unary backward matches central differences of the forward") {
  int n = 0;
  const UnaryInfo* t = unary_table(&n);
  for (int k = 0; k < n; ++k) {
    if (!t[k].has_backward) continue;
    UnaryOp op = t[k].op;
    UnaryParams pp = params_for(op);
    std::vector<float> x = positive_domain(op) ? randv(400, 99 + k, 0.2f, 4) : randv(400, 99 + k);
    // Stay away from kinks (0, +-lambd, bounds, threshold) where the derivative jumps.
    for (auto& v : x)
      for (double kink : {0.0, 0.25, 0.4, -0.4, 0.6, -0.6, -0.8, 1.3, -0.9, 0.75, 1.5})
        if (std::fabs(v - kink) < 0.02) v = static_cast<float>(kink + 0.05);
    std::vector<float> y(x.size()), g = randv(x.size(), 5 + k), gi(x.size());
    unary(op, cs(x), ms(y), pp);
    const auto& saved = t[k].saved == Saved::Output ? y : x;
    unary_backward(op, cs(saved), cs(g), ms(gi), pp);
    bool ok = true;
    for (size_t i = 0; i < x.size() && ok; ++i) {
      const double h = 1e-3;
      std::vector<float> xp{static_cast<float>(x[i] + h)}, xm{static_cast<float>(x[i] - h)}, yp(1), ym(1);
      unary(op, cs(xp), ms(yp), pp);
      unary(op, cs(xm), ms(ym), pp);
      double fd = g[i] * (static_cast<double>(yp[0]) - ym[0]) / (static_cast<double>(xp[0]) - xm[0]);
      if (!(std::fabs(gi[i] - fd) <= 2e-2 * (1 + std::fabs(fd)))) {
        ok = false;
        std::fprintf(stderr, "  %s'(%g): %g vs finite difference %g\n", t[k].name, x[i], gi[i], fd);
      }
    }
    CHECK(ok);
  }
}

TEST_CASE("unary edge values follow torch") {
  auto one = [](UnaryOp op, float x, UnaryParams p = {}) {
    std::vector<float> v{x}, y(1);
    unary(op, cs(v), ms(y), p);
    return y[0];
  };
  auto grad = [](UnaryOp op, float s, UnaryParams p = {}) {
    std::vector<float> v{s}, g{1}, gi(1);
    unary_backward(op, cs(v), cs(g), ms(gi), p);
    return gi[0];
  };
  CHECK(one(UnaryOp::Sigmoid, -100) == 0.0f);
  CHECK(one(UnaryOp::Sigmoid, 100) == 1.0f);
  CHECK(one(UnaryOp::Softplus, 100) == 100.0f);
  CHECK_NEAR(one(UnaryOp::Softplus, -100), 0.0, 1e-30);
  CHECK(std::isfinite(one(UnaryOp::Softplus, 15, UnaryParams(1.0, 1000.0))));
  CHECK_NEAR(one(UnaryOp::Logsigmoid, -100), -100.0, 1e-4);
  CHECK_NEAR(one(UnaryOp::Logsigmoid, 100), 0.0, 1e-30);
  CHECK(grad(UnaryOp::Relu, 0) == 0.0f);
  CHECK_NEAR(grad(UnaryOp::LeakyRelu, 0), 0.01, 1e-9);
  CHECK_NEAR(grad(UnaryOp::Elu, 0, UnaryParams(0.5)), 0.5, 1e-7);
  CHECK(grad(UnaryOp::Hardtanh, 1) == 0.0f);
  CHECK(grad(UnaryOp::Clip, 1, UnaryParams(-1.0, 1.0)) == 1.0f);
  CHECK(grad(UnaryOp::Hardshrink, 0.5f) == 0.0f);
  CHECK(grad(UnaryOp::Softshrink, -0.5f) == 0.0f);
  CHECK(grad(UnaryOp::Threshold, 0.25f, UnaryParams(0.25, 3.0)) == 0.0f);
  CHECK(grad(UnaryOp::Abs, 0) == 0.0f);
  CHECK(grad(UnaryOp::PowScalar, 0, UnaryParams(0.0)) == 0.0f);
  CHECK(grad(UnaryOp::PowScalar, 0, UnaryParams(1.0)) == 1.0f);
  CHECK(one(UnaryOp::Sign, std::nanf("")) == 0.0f);
  CHECK(std::isnan(one(UnaryOp::Relu, std::nanf(""))));
  CHECK(std::isnan(one(UnaryOp::Clip, std::nanf(""), UnaryParams(0.0, 1.0))));
  CHECK(one(UnaryOp::Clip, 5, UnaryParams(3.0, 1.0)) == 1.0f);  // min > max gives max
  CHECK(one(UnaryOp::LogicalNot, std::nanf("")) == 0.0f);
  // The vectorized exp/tanh/log1p paths keep the IEEE special values.
  float inf = std::numeric_limits<float>::infinity();
  CHECK(std::isnan(one(UnaryOp::Exp, std::nanf(""))));
  CHECK(one(UnaryOp::Exp, inf) == inf);
  CHECK(one(UnaryOp::Exp, -inf) == 0.0f);
  CHECK(one(UnaryOp::Exp, 89.0f) == inf);
  CHECK(std::isfinite(one(UnaryOp::Exp, 88.7f)));
  CHECK(one(UnaryOp::Exp, -100.0f) > 0.0f);  // subnormal, not flushed
  CHECK(one(UnaryOp::Exp, 0.0f) == 1.0f);
  CHECK(std::signbit(one(UnaryOp::Tanh, -0.0f)));
  CHECK(one(UnaryOp::Tanh, inf) == 1.0f && one(UnaryOp::Tanh, -inf) == -1.0f);
  CHECK(std::isnan(one(UnaryOp::Tanh, std::nanf(""))));
  CHECK(std::isnan(one(UnaryOp::Sigmoid, std::nanf(""))));
  CHECK(std::isnan(one(UnaryOp::Softplus, std::nanf(""))));
  CHECK(one(UnaryOp::Softplus, -inf) == 0.0f);
  CHECK_NEAR(one(UnaryOp::Softplus, 1e-8f), std::log(2.0), 1e-7);
  CHECK(one(UnaryOp::Logsigmoid, -inf) == -inf);
  CHECK_NEAR(one(UnaryOp::Logsigmoid, 30.0f), -9.357623e-14, 1e-19);
  UnaryParams lo_only;
  lo_only.p[0] = 0.5;
  lo_only.has[0] = true;
  CHECK(one(UnaryOp::Clip, 100, lo_only) == 100.0f);
  CHECK(one(UnaryOp::Clip, 0, lo_only) == 0.5f);
}

TEST_CASE("unary runs in place and rejects bad arguments") {
  std::vector<float> x = randv(100000, 3), ref(x.size());
  unary(UnaryOp::Tanh, cs(x), ms(ref));
  unary(UnaryOp::Tanh, cs(x), ms(x));
  CHECK(std::memcmp(x.data(), ref.data(), x.size() * 4) == 0);
  std::vector<float> small(3), out(4);
  CHECK_THROWS_CODE(unary(UnaryOp::Relu, cs(small), ms(out)), ErrorCode::Shape);
  CHECK_THROWS_CODE(unary(UnaryOp::Threshold, cs(small), ms(small)), ErrorCode::Attr);
  CHECK_THROWS_CODE(unary(UnaryOp::PowScalar, cs(small), ms(small)), ErrorCode::Attr);
  CHECK_THROWS_CODE(unary(UnaryOp::LeakyRelu, cs(small), ms(small), UnaryParams(std::nan(""))), ErrorCode::Attr);
  CHECK_THROWS_CODE(unary(UnaryOp::Softshrink, cs(small), ms(small), UnaryParams(-1.0)), ErrorCode::Attr);
  CHECK_THROWS_CODE(unary(UnaryOp::Softplus, cs(small), ms(small), UnaryParams(0.0, 20.0)), ErrorCode::Attr);
  CHECK_THROWS_CODE(unary(UnaryOp::Clip, cs(small), ms(small)), ErrorCode::Attr);
  // A shifted overlap would read already-written values.
  std::vector<float> buf(10);
  CHECK_THROWS_CODE(unary(UnaryOp::Exp, Span<const float>{buf.data(), 5}, FSpan{buf.data() + 1, 5}), ErrorCode::Arg);
  std::vector<float> g(3), gi(2);
  CHECK_THROWS_CODE(unary_backward(UnaryOp::Relu, cs(small), cs(g), ms(gi)), ErrorCode::Shape);
  CHECK_THROWS_CODE(unary_backward(UnaryOp::LogicalNot, cs(small), cs(g), ms(g)), ErrorCode::Arg);
}

namespace {

// Reference broadcasting: index every operand by its own row-major strides.
std::vector<float> ref_binary(const std::function<float(float, float)>& f, const std::vector<float>& a,
                              const Shape& as, const std::vector<float>& b, const Shape& bs, const Shape& os) {
  std::vector<float> out(static_cast<size_t>(numel(os)));
  Shape ast = broadcast_strides(as, os), bst = broadcast_strides(bs, os);
  for (int64_t i = 0; i < numel(os); ++i) {
    int64_t rem = i, ia = 0, ib = 0;
    for (size_t d = os.size(); d-- > 0;) {
      int64_t c = rem % os[d];
      rem /= os[d];
      ia += c * ast[d];
      ib += c * bst[d];
    }
    out[static_cast<size_t>(i)] = f(a[static_cast<size_t>(ia)], b[static_cast<size_t>(ib)]);
  }
  return out;
}

}  // namespace

TEST_CASE("binary ops broadcast like NumPy on every layout") {
  struct Pair {
    Shape a, b;
  };
  std::vector<Pair> pairs = {{{5, 7}, {5, 7}}, {{}, {4, 3}}, {{4, 3}, {}}, {{3, 4}, {4}},
                             {{3, 4}, {3, 1}}, {{2, 1, 4}, {3, 1}}, {{1, 3, 1, 5}, {2, 1, 4, 1}},
                             {{6, 1, 1}, {1, 1, 7}}, {{2, 3, 4}, {2, 1, 4}}, {{0, 3}, {3}}};
  std::vector<std::pair<BinaryOp, std::function<float(float, float)>>> ops = {
      {BinaryOp::Add, [](float a, float b) { return a + b; }},
      {BinaryOp::Sub, [](float a, float b) { return a - b; }},
      {BinaryOp::Mul, [](float a, float b) { return a * b; }},
      {BinaryOp::Div, [](float a, float b) { return a / b; }},
      {BinaryOp::Pow, [](float a, float b) { return std::pow(std::fabs(a), b); }},
      {BinaryOp::Maximum, [](float a, float b) { return std::max(a, b); }},
      {BinaryOp::Minimum, [](float a, float b) { return std::min(a, b); }},
      {BinaryOp::Lt, [](float a, float b) { return a < b ? 1.0f : 0.0f; }},
      {BinaryOp::Ge, [](float a, float b) { return a >= b ? 1.0f : 0.0f; }},
      {BinaryOp::Eq, [](float a, float b) { return a == b ? 1.0f : 0.0f; }},
      {BinaryOp::LogicalXor, [](float a, float b) { return (a != 0) != (b != 0) ? 1.0f : 0.0f; }},
  };
  unsigned seed = 1;
  for (auto& pr : pairs) {
    Shape os = broadcast_shapes("t", pr.a, pr.b);
    std::vector<float> a = randv(static_cast<size_t>(numel(pr.a)), seed++);
    std::vector<float> b = randv(static_cast<size_t>(numel(pr.b)), seed++);
    for (size_t i = 0; i < a.size(); i += 3) a[i] = std::round(a[i]);  // ties and zeros
    for (size_t i = 0; i < b.size(); i += 2) b[i] = std::round(b[i]);
    for (auto& [op, f] : ops) {
      std::vector<float> aa = a;
      if (op == BinaryOp::Pow)
        for (auto& v : aa) v = std::fabs(v);
      std::vector<float> out(static_cast<size_t>(numel(os)), -7.0f);
      binary(op, CFView{aa.data(), pr.a}, CFView{b.data(), pr.b}, FView{out.data(), os});
      std::vector<float> ref = ref_binary(f, aa, pr.a, b, pr.b, os);
      bool ok = true;
      for (size_t i = 0; i < out.size(); ++i)
        ok = ok && (out[i] == ref[i] || (std::isnan(out[i]) && std::isnan(ref[i])) || std::fabs(out[i] - ref[i]) <= 1e-6f * std::fabs(ref[i]));
      if (!ok)
        std::fprintf(stderr, "  %s %s %s\n", binary_name(op), shape_str(pr.a).c_str(), shape_str(pr.b).c_str());
      CHECK(ok);
    }
  }
}

TEST_CASE("binary NaN rules, large threaded add and errors") {
  float nan = std::nanf("");
  std::vector<float> a{nan, 1, nan, 2}, b{1, nan, 0, 0}, o(4);
  binary(BinaryOp::Maximum, CFView{a.data(), {4}}, CFView{b.data(), {4}}, FView{o.data(), {4}});
  CHECK(std::isnan(o[0]) && std::isnan(o[1]) && std::isnan(o[2]) && o[3] == 2);
  binary(BinaryOp::LogicalAnd, CFView{a.data(), {4}}, CFView{b.data(), {4}}, FView{o.data(), {4}});
  CHECK(o[0] == 1 && o[1] == 1 && o[2] == 0 && o[3] == 0);
  binary(BinaryOp::Ne, CFView{a.data(), {4}}, CFView{a.data(), {4}}, FView{o.data(), {4}});
  CHECK(o[0] == 1 && o[1] == 0);

  const int64_t n = 3000000;
  std::vector<float> x = randv(n, 11), y = randv(n, 12), z(n);
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    binary(BinaryOp::Add, CFView{x.data(), {n}}, CFView{y.data(), {n}}, FView{z.data(), {n}});
    bool ok = true;
    for (int64_t i = 0; i < n; ++i) ok = ok && z[i] == x[i] + y[i];
    CHECK(ok);
  }
  set_num_threads(0);
  // In place: out is a (same shape) while b broadcasts.
  std::vector<float> m = randv(12, 4), m0 = m, row = randv(4, 5);
  binary(BinaryOp::Mul, CFView{m.data(), {3, 4}}, CFView{row.data(), {4}}, FView{m.data(), {3, 4}});
  for (size_t i = 0; i < 12; ++i) CHECK(m[i] == m0[i] * row[i % 4]);

  std::vector<float> s6(6), s4(4), s12(12);
  try {
    binary(BinaryOp::Add, CFView{s6.data(), {2, 3}}, CFView{s4.data(), {4}}, FView{s12.data(), {3, 4}});
    CHECK(false);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Shape);
    CHECK(std::string(e.what()).find("[2, 3]") != std::string::npos);
    CHECK(std::string(e.what()).find("[4]") != std::string::npos);
  }
  CHECK_THROWS_CODE(binary(BinaryOp::Add, CFView{s6.data(), {2, 3}}, CFView{s6.data(), {3}},
                           FView{s12.data(), {3, 4}}), ErrorCode::Shape);
  // out aliasing a broadcast operand would overwrite inputs still to be read.
  CHECK_THROWS_CODE(binary(BinaryOp::Add, CFView{s12.data(), {1, 4}}, CFView{s12.data() + 4, {3, 1}},
                           FView{s12.data(), {3, 4}}), ErrorCode::Arg);
}

TEST_CASE("where and broadcast_to match reference loops") {
  Shape cs_{3, 1}, as{1, 4}, bs{}, os{3, 4};
  std::vector<float> c{1, 0, std::nanf("")}, a = randv(4, 1), b{9};
  std::vector<uint8_t> cu{1, 0, 1};
  std::vector<float> o(12), o2(12);
  where(View<const float>{c.data(), cs_}, CFView{a.data(), as}, CFView{b.data(), bs}, FView{o.data(), os});
  where(View<const uint8_t>{cu.data(), cs_}, CFView{a.data(), as}, CFView{b.data(), bs}, FView{o2.data(), os});
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      float want = i != 1 ? a[j] : 9.0f;
      CHECK(o[i * 4 + j] == want);
      CHECK(o2[i * 4 + j] == want);
    }
  CHECK_THROWS_CODE(where(View<const float>{c.data(), {3}}, CFView{a.data(), as}, CFView{b.data(), bs},
                          FView{o.data(), os}), ErrorCode::Shape);

  std::vector<float> x = randv(6, 3), out(2 * 4 * 3 * 2);
  broadcast_to(CFView{x.data(), {1, 3, 2}}, FView{out.data(), {2, 4, 3, 2}});
  bool ok = true;
  for (size_t i = 0; i < out.size(); ++i) ok = ok && out[i] == x[i % 6];
  CHECK(ok);
  std::vector<float> col = randv(3, 4), wide(15);
  broadcast_to(CFView{col.data(), {3, 1}}, FView{wide.data(), {3, 5}});
  for (size_t i = 0; i < 15; ++i) CHECK(wide[i] == col[i / 5]);
  CHECK_THROWS_CODE(broadcast_to(CFView{x.data(), {3, 2}}, FView{out.data(), {2, 4, 3, 1, 2}}), ErrorCode::Shape);
  CHECK_THROWS_CODE(broadcast_to(CFView{x.data(), {2, 3}}, FView{out.data(), {2, 4, 3}}), ErrorCode::Shape);
}

TEST_CASE("binary broadcasting on random shapes, and chunks that start mid-row") {
  std::mt19937 rng(77);
  auto rand_shape = [&](int rank) {
    Shape s;
    for (int i = 0; i < rank; ++i) s.push_back(std::vector<int64_t>{1, 1, 2, 3, 5}[rng() % 5]);
    return s;
  };
  auto sub = [](float a, float b) { return a - b; };
  for (int iter = 0; iter < 300; ++iter) {
    Shape full = rand_shape(1 + static_cast<int>(rng() % 4));
    // Each operand takes the output's trailing dims, some replaced by 1.
    Shape as(full.end() - static_cast<long>(rng() % (full.size() + 1)), full.end()), bs = full;
    for (auto& d : as)
      if (rng() % 3 == 0) d = 1;
    for (auto& d : bs)
      if (rng() % 3 == 0) d = 1;
    Shape os = broadcast_shapes("t", as, bs);
    std::vector<float> a = randv(static_cast<size_t>(numel(as)), iter), b = randv(static_cast<size_t>(numel(bs)), iter + 1000);
    std::vector<float> out(static_cast<size_t>(numel(os)));
    binary(BinaryOp::Sub, CFView{a.data(), as}, CFView{b.data(), bs}, FView{out.data(), os});
    CHECK(out == ref_binary(sub, a, as, b, bs, os));
  }
  // Large enough for several threads' chunks, whose boundaries fall inside rows.
  Shape as{300, 7, 1, 50}, bs{7, 33, 1}, os{300, 7, 33, 50};
  std::vector<float> a = randv(static_cast<size_t>(numel(as)), 1), b = randv(static_cast<size_t>(numel(bs)), 2);
  std::vector<float> out(static_cast<size_t>(numel(os)));
  set_num_threads(3);
  binary(BinaryOp::Sub, CFView{a.data(), as}, CFView{b.data(), bs}, FView{out.data(), os});
  set_num_threads(0);
  CHECK(out == ref_binary(sub, a, as, b, bs, os));
}

// Reductions against a naive reference that visits every element with its multi-index.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "ravdl/parallel.h"
#include "ravdl/reduce.h"

using namespace ravdl;

namespace {

std::vector<float> randv(size_t n, unsigned seed, float lo = -2, float hi = 2) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// Groups the elements of x by output index (kept coordinates) and reduces each group.
std::vector<double> ref_reduce(ReduceOp op, const std::vector<float>& x, const Shape& s,
                               std::vector<int64_t> axes, double corr) {
  if (axes.empty())
    for (size_t i = 0; i < s.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  for (auto& a : axes) a = a < 0 ? a + static_cast<int64_t>(s.size()) : a;
  Shape os;
  for (size_t i = 0; i < s.size(); ++i)
    if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) == axes.end()) os.push_back(s[i]);
  std::vector<std::vector<double>> groups(static_cast<size_t>(numel(os)));
  for (int64_t i = 0; i < numel(s); ++i) {
    int64_t rem = i, o = 0, mul = 1;
    for (size_t d = s.size(); d-- > 0;) {
      int64_t c = rem % s[d];
      rem /= s[d];
      if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(d)) == axes.end()) {
        o += c * mul;
        mul *= s[d];
      }
    }
    groups[static_cast<size_t>(o)].push_back(x[static_cast<size_t>(i)]);
  }
  std::vector<double> out;
  for (auto& g : groups) {
    double n = static_cast<double>(g.size()), sum = 0, prod = 1;
    for (double v : g) sum += v, prod *= v;
    double mean = sum / n, sq = 0;
    for (double v : g) sq += (v - mean) * (v - mean);
    switch (op) {
      case ReduceOp::Sum: out.push_back(sum); break;
      case ReduceOp::Mean: out.push_back(mean); break;
      case ReduceOp::Prod: out.push_back(prod); break;
      case ReduceOp::Max: out.push_back(*std::max_element(g.begin(), g.end())); break;
      case ReduceOp::Min: out.push_back(*std::min_element(g.begin(), g.end())); break;
      case ReduceOp::Var: out.push_back(sq / std::max(0.0, n - corr)); break;
      case ReduceOp::Std: out.push_back(std::sqrt(sq / std::max(0.0, n - corr))); break;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("reduce matches the reference over every axis subset, both layouts") {
  struct C {
    Shape s;
    std::vector<int64_t> axes;
  };
  std::vector<C> cases = {
      {{7}, {}},          {{5, 6}, {1}},        {{5, 6}, {0}},           {{5, 6}, {}},
      {{3, 4, 5}, {0, 2}}, {{3, 4, 5}, {1}},    {{3, 4, 5}, {-1, -2}},   {{2, 3, 1, 4}, {1, 3}},
      {{2, 3, 1, 4}, {2}}, {{40, 3}, {0}},      {{3, 700}, {0}},         {{2, 2, 600}, {1}},
      {{20, 30}, {1}},     {{1, 1, 1}, {1}},    {{}, {}},                {{4, 1, 3}, {0, 1}},
  };
  const ReduceOp ops[] = {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min,
                          ReduceOp::Prod, ReduceOp::Var, ReduceOp::Std};
  unsigned seed = 1;
  for (auto& c : cases) {
    std::vector<float> x = randv(static_cast<size_t>(numel(c.s)), seed++, 0.5f, 1.5f);
    for (ReduceOp op : ops) {
      for (bool keep : {false, true}) {
        Shape os = reduce_shape("t", c.s, c.axes, keep);
        std::vector<float> out(static_cast<size_t>(numel(os)));
        reduce(op, CFView{x.data(), c.s}, c.axes, keep, FSpan{out.data(), out.size()});
        std::vector<double> ref = ref_reduce(op, x, c.s, c.axes, 1.0);
        CHECK(ref.size() == out.size());
        bool ok = true;
        for (size_t i = 0; i < out.size() && i < ref.size(); ++i)
          ok = ok && ((std::isnan(ref[i]) && std::isnan(out[i])) || std::fabs(out[i] - ref[i]) <= 1e-5 * (1 + std::fabs(ref[i])));
        if (!ok) std::fprintf(stderr, "  %s over %s\n", reduce_name(op), shape_str(c.s).c_str());
        CHECK(ok);
      }
    }
  }
}

TEST_CASE("reduce_shape, keepdims and axis errors") {
  CHECK((reduce_shape("sum", {2, 3, 4}, {1}, false) == Shape{2, 4}));
  CHECK((reduce_shape("sum", {2, 3, 4}, {-1, 0}, true) == Shape{1, 3, 1}));
  CHECK((reduce_shape("sum", {2, 3, 4}, {}, false) == Shape{}));
  CHECK_THROWS_CODE(reduce_shape("sum", {2, 3}, {2}, false), ErrorCode::Index);
  CHECK_THROWS_CODE(reduce_shape("sum", {2, 3}, {1, -1}, false), ErrorCode::Index);
  std::vector<float> x(6), out(3);
  CHECK_THROWS_CODE(reduce(ReduceOp::Sum, CFView{x.data(), {2, 3}}, {1}, false, FSpan{out.data(), 3}), ErrorCode::Shape);
  CHECK_THROWS_CODE(reduce(ReduceOp::Var, CFView{x.data(), {2, 3}}, {0}, false, FSpan{out.data(), 3}, -1), ErrorCode::Attr);
  std::vector<float> empty;
  CHECK_THROWS_CODE(reduce(ReduceOp::Max, CFView{empty.data(), {0, 3}}, {0}, false, FSpan{out.data(), 3}), ErrorCode::Shape);
  reduce(ReduceOp::Sum, CFView{empty.data(), {0, 3}}, {0}, false, FSpan{out.data(), 3});
  CHECK(out[0] == 0 && out[2] == 0);
  reduce(ReduceOp::Mean, CFView{empty.data(), {0, 3}}, {0}, false, FSpan{out.data(), 3});
  CHECK(std::isnan(out[1]));
  std::vector<float> one{3}, v(1);
  reduce(ReduceOp::Var, CFView{one.data(), {1}}, {}, false, FSpan{v.data(), 1});
  CHECK(std::isnan(v[0]));
  reduce(ReduceOp::Var, CFView{one.data(), {1}}, {}, false, FSpan{v.data(), 1}, 0);
  CHECK(v[0] == 0);
}

TEST_CASE("var with correction 0 and 2, NaN propagation in max/min") {
  std::vector<float> x = randv(60, 9);
  for (double corr : {0.0, 2.0}) {
    std::vector<float> out(5);
    reduce(ReduceOp::Var, CFView{x.data(), {5, 12}}, {1}, false, FSpan{out.data(), 5}, corr);
    std::vector<double> ref = ref_reduce(ReduceOp::Var, x, {5, 12}, {1}, corr);
    for (int i = 0; i < 5; ++i) CHECK_NEAR(out[i], ref[i], 1e-5);
  }
  x[17] = std::nanf("");
  std::vector<float> out(12);
  reduce(ReduceOp::Max, CFView{x.data(), {5, 12}}, {0}, false, FSpan{out.data(), 12});
  for (int j = 0; j < 12; ++j) CHECK(std::isnan(out[j]) == (j == 5));
  reduce(ReduceOp::Min, CFView{x.data(), {5, 12}}, {1}, false, FSpan{out.data(), 5});
  for (int i = 0; i < 5; ++i) CHECK(std::isnan(out[i]) == (i == 1));
}

TEST_CASE("sum over 1e7 elements is accurate and independent of the thread count") {
  const int64_t n = 10000000;
  std::vector<float> x = randv(n, 21, 0.0f, 1.0f);
  long double exact = 0;
  for (float v : x) exact += v;
  float first = 0;
  std::vector<float> cols1(10);
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    float s = 0;
    reduce(ReduceOp::Sum, CFView{x.data(), {n}}, {}, false, FSpan{&s, 1});
    CHECK(std::fabs(s - static_cast<double>(exact)) <= 1e-6 * static_cast<double>(exact));
    if (threads == 1) first = s;
    CHECK(s == first);
    // Column sums of a tall matrix (layout B with split rows) must not depend on threads either.
    std::vector<float> cols(10);
    reduce(ReduceOp::Sum, CFView{x.data(), {n / 10, 10}}, {0}, false, FSpan{cols.data(), 10});
    if (threads == 1) cols1 = cols;
    CHECK(std::memcmp(cols.data(), cols1.data(), 40) == 0);
  }
  set_num_threads(0);
}

TEST_CASE("argmax/argmin: axis, flattened, ties, NaN and errors") {
  std::vector<float> x{1, 5, 5, 0, -2, 7, 7, -2, 3, 3, 3, 3};  // [3, 4]
  std::vector<int32_t> r(4), c(3), f(1);
  argmax(CFView{x.data(), {3, 4}}, 0, false, ISpan{r.data(), 4});
  CHECK((r == std::vector<int32_t>{2, 1, 1, 2}));
  argmax(CFView{x.data(), {3, 4}}, 1, false, ISpan{c.data(), 3});
  CHECK((c == std::vector<int32_t>{1, 1, 0}));
  argmin(CFView{x.data(), {3, 4}}, -1, true, ISpan{c.data(), 3});
  CHECK((c == std::vector<int32_t>{3, 0, 0}));
  argmax(CFView{x.data(), {3, 4}}, std::nullopt, false, ISpan{f.data(), 1});
  CHECK(f[0] == 5);
  CHECK((argreduce_shape("argmax", {3, 4}, std::nullopt, true) == Shape{1, 1}));
  CHECK((argreduce_shape("argmax", {3, 4}, 0, true) == Shape{1, 4}));
  x[9] = std::nanf("");
  x[10] = std::nanf("");
  argmin(CFView{x.data(), {3, 4}}, std::nullopt, false, ISpan{f.data(), 1});
  CHECK(f[0] == 9);
  CHECK_THROWS_CODE(argmax(CFView{x.data(), {3, 4}}, 2, false, ISpan{c.data(), 3}), ErrorCode::Index);
  CHECK_THROWS_CODE(argmax(CFView{x.data(), {3, 4}}, 0, false, ISpan{c.data(), 3}), ErrorCode::Shape);
  std::vector<float> empty;
  CHECK_THROWS_CODE(argmax(CFView{empty.data(), {0}}, std::nullopt, false, ISpan{f.data(), 1}), ErrorCode::Shape);
  // Long rows are scanned in parallel chunks: ties and NaN across chunks keep the first index.
  std::vector<float> big = randv(2 * 300000, 6);
  big[70000] = big[200000] = 5.0f;
  big[300000 + 250000] = std::nanf("");
  big[300000 + 140000] = std::nanf("");
  std::vector<int32_t> bi(2);
  argmax(CFView{big.data(), {2, 300000}}, 1, false, ISpan{bi.data(), 2});
  CHECK(bi[0] == 70000 && bi[1] == 140000);
  big[300000 + 250000] = big[300000 + 140000] = 0.0f;
  big[300000 + 299999] = -9.0f;
  argmin(CFView{big.data(), {600000}}, std::nullopt, false, ISpan{bi.data(), 1});
  CHECK(bi[0] == 300000 + 299999);
  // Wide inner dim (several column tiles) against a direct scan.
  std::vector<float> w = randv(3 * 1300, 5);
  std::vector<int32_t> wi(1300);
  argmax(CFView{w.data(), {3, 1300}}, 0, false, ISpan{wi.data(), 1300});
  bool ok = true;
  for (int j = 0; j < 1300; ++j) {
    int best = 0;
    for (int i = 1; i < 3; ++i)
      if (w[i * 1300 + j] > w[best * 1300 + j]) best = i;
    ok = ok && wi[j] == best;
  }
  CHECK(ok);
}

TEST_CASE("sum_to un-broadcasts and validates the target shape") {
  Shape xs{2, 3, 4};
  std::vector<float> x = randv(24, 8);
  struct T {
    Shape t;
    std::vector<int64_t> axes;
    bool keep;
  };
  for (auto& c : std::vector<T>{{{3, 4}, {0}, false}, {{3, 1}, {0, 2}, true}, {{1, 3, 1}, {0, 2}, true},
                                {{}, {}, false}, {{2, 3, 4}, {}, false}, {{4}, {0, 1}, false}}) {
    std::vector<float> out(static_cast<size_t>(numel(c.t)));
    sum_to(CFView{x.data(), xs}, FView{out.data(), c.t});
    std::vector<double> ref = c.t == xs ? std::vector<double>(x.begin(), x.end()) : ref_reduce(ReduceOp::Sum, x, xs, c.axes, 1);
    for (size_t i = 0; i < out.size(); ++i) CHECK_NEAR(out[i], ref[i], 1e-5);
  }
  std::vector<float> o(6);
  CHECK_THROWS_CODE(sum_to(CFView{x.data(), xs}, FView{o.data(), {2, 3}}), ErrorCode::Shape);
  CHECK_THROWS_CODE(sum_to(CFView{x.data(), xs}, FView{o.data(), {1, 1, 1, 6}}), ErrorCode::Shape);
}

TEST_CASE("reduce on random shapes and axis subsets") {
  std::mt19937 rng(5);
  for (int iter = 0; iter < 300; ++iter) {
    Shape s;
    int rank = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < rank; ++i) s.push_back(std::vector<int64_t>{1, 2, 3, 4, 7}[rng() % 5]);
    std::vector<int64_t> axes;
    for (int i = 0; i < rank; ++i)
      if (rng() % 2) axes.push_back(rng() % 2 ? i : i - rank);  // mix of positive and negative
    std::vector<float> x = randv(static_cast<size_t>(numel(s)), iter, 0.5f, 1.5f);
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max, ReduceOp::Var}) {
      bool keep = rng() % 2;
      std::vector<float> out(static_cast<size_t>(numel(reduce_shape("t", s, axes, keep))));
      reduce(op, CFView{x.data(), s}, axes, keep, FSpan{out.data(), out.size()});
      std::vector<double> ref = ref_reduce(op, x, s, axes, 1.0);
      bool ok = ref.size() == out.size();
      for (size_t i = 0; ok && i < out.size(); ++i)
        ok = (std::isnan(ref[i]) && std::isnan(out[i])) || std::fabs(out[i] - ref[i]) <= 1e-5 * (1 + std::fabs(ref[i]));
      if (!ok) std::fprintf(stderr, "  %s over %s\n", reduce_name(op), shape_str(s).c_str());
      CHECK(ok);
    }
  }
  // Few outputs with many reduced elements in several runs (layout A, split into partials).
  Shape s{300, 3, 700};
  std::vector<float> x = randv(static_cast<size_t>(numel(s)), 3);
  std::vector<float> out(3);
  reduce(ReduceOp::Mean, CFView{x.data(), s}, {0, 2}, false, FSpan{out.data(), 3});
  std::vector<double> ref = ref_reduce(ReduceOp::Mean, x, s, {0, 2}, 1.0);
  for (int i = 0; i < 3; ++i) CHECK_NEAR(out[i], ref[i], 1e-6);
}

TEST_CASE("a 0-d tensor is one element along axis 0 or -1 (PyTorch's rule)") {
  CHECK(normalize_axis("t", 0, 0) == 0);
  CHECK(normalize_axis("t", -1, 0) == 0);
  CHECK_THROWS_CODE(normalize_axis("t", 1, 0), ErrorCode::Index);
  CHECK_THROWS_CODE(normalize_axis("t", -2, 0), ErrorCode::Index);
  CHECK(normalize_axes("t", {0}, 0).empty());
  CHECK_THROWS_CODE(normalize_axes("t", {0, -1}, 0), ErrorCode::Index);  // the same axis twice
  float x = 2.5f, out = 0.0f;
  for (bool keep : {false, true}) {
    CHECK((reduce_shape("sum", {}, {-1}, keep) == Shape{}));
    reduce(ReduceOp::Sum, CFView{&x, {}}, {0}, keep, FSpan{&out, 1}, 1.0);
    CHECK(out == 2.5f);
    reduce(ReduceOp::Max, CFView{&x, {}}, {-1}, keep, FSpan{&out, 1}, 1.0);
    CHECK(out == 2.5f);
  }
  reduce(ReduceOp::Var, CFView{&x, {}}, {0}, false, FSpan{&out, 1}, 1.0);
  CHECK(std::isnan(out));  // n - 1 = 0: like torch
  reduce(ReduceOp::Var, CFView{&x, {}}, {0}, false, FSpan{&out, 1}, 0.0);
  CHECK(out == 0.0f);
  int32_t idx = 7;
  argmax(CFView{&x, {}}, int64_t{0}, true, ISpan{&idx, 1});
  CHECK(idx == 0);
  CHECK((argreduce_shape("argmin", {}, int64_t{-1}, true) == Shape{}));
}

TEST_CASE("an empty reduction writes its value without reading") {
  std::vector<float> none(1), out(5, 9.0f);
  reduce(ReduceOp::Sum, CFView{none.data(), {0, 5}}, {0}, false, FSpan{out.data(), 5}, 1.0);
  CHECK((out == std::vector<float>(5, 0.0f)));
  reduce(ReduceOp::Prod, CFView{none.data(), {0, 5}}, {0}, false, FSpan{out.data(), 5}, 1.0);
  CHECK((out == std::vector<float>(5, 1.0f)));
  reduce(ReduceOp::Mean, CFView{none.data(), {0, 5}}, {0}, false, FSpan{out.data(), 5}, 1.0);
  CHECK(std::isnan(out[4]));
  CHECK_THROWS_CODE(reduce(ReduceOp::Max, CFView{none.data(), {0, 5}}, {0}, false, FSpan{out.data(), 5}, 1.0),
                    ErrorCode::Shape);
}

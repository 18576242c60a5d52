#include <algorithm>
#include <numeric>
#include <vector>

#include "check.h"
#include "ravdl/parallel.h"
#include "ravdl/shape_ops.h"

using namespace ravdl;

namespace {

std::vector<float> iota_f(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = float(i) * 0.25f - 7.0f;
  return v;
}

// Row-major multi-index of flat index i in shape s.
Shape unravel(int64_t i, const Shape& s) {
  Shape idx(s.size());
  for (size_t k = s.size(); k-- > 0;) {
    idx[k] = i % s[k];
    i /= s[k];
  }
  return idx;
}
int64_t ravel(const Shape& idx, const Shape& s) {
  int64_t i = 0;
  for (size_t k = 0; k < s.size(); ++k) i = i * s[k] + idx[k];
  return i;
}

template <class T>
std::vector<T> permute_ref(const std::vector<T>& x, const Shape& xs, const std::vector<int64_t>& p) {
  Shape os(p.size());
  for (size_t k = 0; k < p.size(); ++k) os[k] = xs[size_t(p[k])];
  std::vector<T> out(x.size());
  for (int64_t i = 0; i < numel(os); ++i) {
    Shape oi = unravel(i, os), xi(xs.size());
    for (size_t k = 0; k < p.size(); ++k) xi[size_t(p[k])] = oi[k];
    out[size_t(i)] = x[size_t(ravel(xi, xs))];
  }
  return out;
}

}  // namespace

TEST_CASE("permute matches the index-mapping reference for many shapes and perms") {
  std::vector<Shape> shapes{{}, {5}, {3, 4}, {70, 45}, {2, 1, 3}, {2, 3, 4, 5}, {1, 33, 1, 40}, {4, 3, 37, 2}, {3, 64, 65}};
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (const Shape& s : shapes) {
      std::vector<int64_t> p(s.size());
      std::iota(p.begin(), p.end(), 0);
      auto x = iota_f(numel(s));
      do {
        std::vector<float> out(x.size(), -1.0f);
        permute<float>({x.data(), s}, p, {out.data(), out.size()});
        bool ok = out == permute_ref(x, s, p);
        if (!ok) std::fprintf(stderr, "  permute %s by %s\n", shape_str(s).c_str(), shape_str(p).c_str());
        CHECK(ok);
      } while (std::next_permutation(p.begin(), p.end()));
    }
  }
  set_num_threads(0);
  std::vector<int32_t> xi(6 * 7);
  std::iota(xi.begin(), xi.end(), 0);
  std::vector<int32_t> oi(xi.size());
  permute<int32_t>({xi.data(), {6, 7}}, {-1, 0}, {oi.data(), oi.size()});
  CHECK(oi == permute_ref(xi, {6, 7}, {1, 0}));
  CHECK((permute_shape({2, 3, 4}, {2, 0, 1}) == Shape{4, 2, 3}));
}

TEST_CASE("permute validates perm and sizes") {
  auto x = iota_f(24);
  std::vector<float> out(24);
  CHECK_THROWS_CODE(permute<float>({x.data(), {2, 3, 4}}, {0, 1}, {out.data(), 24}), ErrorCode::Attr);
  CHECK_THROWS_CODE(permute<float>({x.data(), {2, 3, 4}}, {0, 1, 1}, {out.data(), 24}), ErrorCode::Attr);
  CHECK_THROWS_CODE(permute<float>({x.data(), {2, 3, 4}}, {0, 1, 3}, {out.data(), 24}), ErrorCode::Index);
  CHECK_THROWS_CODE(permute<float>({x.data(), {2, 3, 4}}, {0, 2, 1}, {out.data(), 23}), ErrorCode::Shape);
  CHECK_THROWS_CODE(permute<float>({x.data(), {2, 3, 4}}, {0, 2, 1}, {x.data(), 24}), ErrorCode::Arg);
}

TEST_CASE("concat and split are inverse and match a reference on every axis") {
  const std::vector<Shape> parts{{2, 3, 4}, {2, 5, 4}, {2, 0, 4}, {2, 1, 4}};
  std::vector<std::vector<float>> data;
  std::vector<View<const float>> views;
  float base = 0;
  for (const Shape& s : parts) {
    std::vector<float> d(size_t(numel(s)));
    for (auto& v : d) v = base++;
    data.push_back(d);
  }
  for (size_t k = 0; k < parts.size(); ++k) views.push_back({data[k].data(), parts[k]});
  Shape os = concat_shape({parts.begin(), parts.end()}, -2);
  CHECK((os == Shape{2, 9, 4}));
  std::vector<float> out(size_t(numel(os)));
  concat<float>(views, 1, {out.data(), out.size()});
  bool ok = true;
  for (int64_t i = 0; i < 2; ++i) {
    int64_t row = 0;
    for (size_t k = 0; k < parts.size(); ++k)
      for (int64_t j = 0; j < parts[k][1]; ++j, ++row)
        for (int64_t c = 0; c < 4; ++c)
          ok = ok && out[size_t((i * 9 + row) * 4 + c)] == data[k][size_t((i * parts[k][1] + j) * 4 + c)];
  }
  CHECK(ok);
  std::vector<std::vector<float>> back;
  std::vector<Span<float>> spans;
  for (const Shape& s : parts) back.emplace_back(size_t(numel(s)), -1.0f);
  for (auto& b : back) spans.push_back({b.data(), b.size()});
  split<float>({out.data(), os}, -2, {3, 5, 0, 1}, spans);
  for (size_t k = 0; k < parts.size(); ++k) CHECK(back[k] == data[k]);
  // Many tiny segments along the last axis, split across parallel chunks, at 1 and 2 threads.
  const int64_t R = 50001;
  std::vector<float> p2(R * 2), p3(R * 3), joined(R * 5);
  for (size_t i = 0; i < p2.size(); ++i) p2[i] = float(i);
  for (size_t i = 0; i < p3.size(); ++i) p3[i] = -float(i);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    concat<float>({{p2.data(), {R, 2}}, {nullptr, {R, 0}}, {p3.data(), {R, 3}}}, -1, {joined.data(), joined.size()});
    bool rows_ok = true;
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < 5; ++c)
        rows_ok = rows_ok && joined[size_t(r * 5 + c)] == (c < 2 ? p2[size_t(r * 2 + c)] : p3[size_t(r * 3 + c - 2)]);
    CHECK(rows_ok);
    std::vector<float> q2(p2.size()), q3(p3.size());
    split<float>({joined.data(), {R, 5}}, 1, {2, 0, 3}, {{q2.data(), q2.size()}, {nullptr, 0}, {q3.data(), q3.size()}});
    CHECK(q2 == p2);
    CHECK(q3 == p3);
  }
  set_num_threads(0);
  // A large concat along axis 0 goes through the parallel path.
  std::vector<float> a(300000, 1.0f), b(200000, 2.0f), ab(500000);
  concat<float>({{a.data(), {3000, 100}}, {b.data(), {2000, 100}}}, 0, {ab.data(), ab.size()});
  CHECK(ab[299999] == 1.0f && ab[300000] == 2.0f && ab[499999] == 2.0f);
}

TEST_CASE("concat and split validate shapes, axes and outputs") {
  std::vector<float> a(6), b(8), out(14);
  CHECK_THROWS_CODE(concat_shape({{2, 3}, {2, 4}}, 0), ErrorCode::Shape);
  CHECK_THROWS_CODE(concat_shape({{2, 3}, {2, 3, 1}}, 0), ErrorCode::Shape);
  CHECK_THROWS_CODE(concat_shape({{2, 3}}, 2), ErrorCode::Index);
  CHECK_THROWS_CODE(concat_shape({{}}, 0), ErrorCode::Shape);
  CHECK_THROWS_CODE(concat_shape({}, 0), ErrorCode::Arg);
  CHECK_THROWS_CODE(concat<float>({{a.data(), {2, 3}}, {b.data(), {2, 4}}}, 1, {out.data(), 13}), ErrorCode::Shape);
  CHECK_THROWS_CODE(concat<float>({{a.data(), {2, 3}}, {b.data(), {2, 4}}}, 1, {a.data(), 14}), ErrorCode::Arg);
  std::vector<Span<float>> outs{{a.data(), 6}, {b.data(), 8}};
  CHECK_THROWS_CODE(split<float>({out.data(), {2, 7}}, 1, {3, 3}, outs), ErrorCode::Shape);
  CHECK_THROWS_CODE(split<float>({out.data(), {2, 7}}, 1, {3, 4, 0}, outs), ErrorCode::Arg);
  CHECK_THROWS_CODE(split<float>({out.data(), {2, 7}}, 1, {-1, 8}, outs), ErrorCode::Attr);
  CHECK_THROWS_CODE(split<float>({out.data(), {2, 7}}, 2, {3, 4}, outs), ErrorCode::Index);
  std::vector<Span<float>> bad{{a.data(), 6}, {a.data(), 8}};
  CHECK_THROWS_CODE(split<float>({out.data(), {2, 7}}, 1, {3, 4}, bad), ErrorCode::Arg);
}

TEST_CASE("slice follows Python slicing and slice_backward scatters into zeros") {
  const Shape xs{5, 6, 7};
  auto x = iota_f(numel(xs));
  struct Spec { std::vector<int64_t> st, en, sp; };
  std::vector<Spec> specs{{{0, 0, 0}, {5, 6, 7}, {1, 1, 1}},
                          {{1, -4, 2}, {-1, 100, 7}, {2, 3, 2}},
                          {{-100, 2, 6}, {100, 2, 7}, {1, 1, 1}},
                          {{3, 5, -3}, {1, 6, -1}, {1, 4, 1}},
                          {{4, 0, 0}, {5, 6, 7}, {9, 5, 3}}};
  for (const Spec& sp : specs) {
    // Reference: Python's slice.indices() for positive steps.
    std::vector<std::vector<int64_t>> keep(3);
    for (size_t d = 0; d < 3; ++d) {
      auto norm = [&](int64_t v) { v = v < 0 ? v + xs[d] : v; return std::clamp<int64_t>(v, 0, xs[d]); };
      for (int64_t i = norm(sp.st[d]); i < norm(sp.en[d]); i += sp.sp[d]) keep[d].push_back(i);
    }
    Shape os = slice_shape(xs, sp.st, sp.en, sp.sp);
    CHECK((os == Shape{int64_t(keep[0].size()), int64_t(keep[1].size()), int64_t(keep[2].size())}));
    std::vector<float> out(size_t(numel(os)));
    slice<float>({x.data(), xs}, sp.st, sp.en, sp.sp, {out.data(), out.size()});
    std::vector<float> ref, gx_ref(x.size(), 0.0f);
    for (int64_t i : keep[0])
      for (int64_t j : keep[1])
        for (int64_t k : keep[2]) {
          ref.push_back(x[size_t((i * 6 + j) * 7 + k)]);
          gx_ref[size_t((i * 6 + j) * 7 + k)] = float(ref.size());
        }
    CHECK(out == ref);
    std::vector<float> gy(out.size()), gx(x.size(), 5.0f);
    for (size_t i = 0; i < gy.size(); ++i) gy[i] = float(i + 1);
    slice_backward({gy.data(), os}, xs, sp.st, sp.en, sp.sp, {gx.data(), gx.size()});
    CHECK(gx == gx_ref);
  }
  // Rank 0 and int32.
  float s = 3.0f, t = 0.0f;
  slice<float>({&s, {}}, {}, {}, {}, {&t, 1});
  CHECK(t == 3.0f);
  std::vector<int32_t> xi{0, 1, 2, 3, 4, 5}, oi(3);
  slice<int32_t>({xi.data(), {6}}, {1}, {6}, {2}, {oi.data(), 3});
  CHECK((oi == std::vector<int32_t>{1, 3, 5}));
}

TEST_CASE("slice validates steps, attribute lengths and sizes") {
  auto x = iota_f(12);
  std::vector<float> out(12);
  CHECK_THROWS_CODE(slice_shape({3, 4}, {0, 0}, {3, 4}, {1, 0}), ErrorCode::Attr);
  CHECK_THROWS_CODE(slice_shape({3, 4}, {0, 0}, {3, 4}, {1, -1}), ErrorCode::Attr);
  CHECK_THROWS_CODE(slice_shape({3, 4}, {0}, {3, 4}, {1, 1}), ErrorCode::Attr);
  CHECK_THROWS_CODE(slice<float>({x.data(), {3, 4}}, {0, 0}, {3, 4}, {1, 2}, {out.data(), 12}), ErrorCode::Shape);
  CHECK_THROWS_CODE(slice_backward({out.data(), {3, 3}}, {3, 4}, {0, 0}, {3, 4}, {1, 2}, {x.data(), 12}), ErrorCode::Shape);
  CHECK_THROWS_CODE(slice_backward({out.data(), {3, 2}}, {3, 4}, {0, 0}, {3, 4}, {1, 2}, {x.data(), 11}), ErrorCode::Shape);
}

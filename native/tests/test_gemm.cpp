// Built-in GEMM (every SIMD level this CPU has) and the BLAS path against a naive
// double-accumulating reference; sgemm_checked's argument checks.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "check.h"
#include "ravdl/gemm.h"
#include "ravdl/parallel.h"

using namespace ravdl;

namespace {

struct Problem {
  bool ta, tb;
  int64_t M, N, K, lda, ldb, ldc;
  float alpha, beta;
};

std::vector<float> random_vec(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Runs `gemm` on random data and compares C, including the padding between rows, which
// must be left untouched.
template <class Gemm>
bool run_problem(const Problem& p, Gemm gemm, std::mt19937& rng, bool nan_c = false) {
  const int64_t ar = p.ta ? p.K : p.M, br = p.tb ? p.N : p.K;
  auto A = random_vec(static_cast<size_t>(std::max<int64_t>(ar, 1) * p.lda), rng);
  auto B = random_vec(static_cast<size_t>(std::max<int64_t>(br, 1) * p.ldb), rng);
  auto C = random_vec(static_cast<size_t>(std::max<int64_t>(p.M, 1) * p.ldc), rng);
  if (nan_c)
    for (auto& x : C) x = NAN;
  std::vector<float> expect = C;
  for (int64_t i = 0; i < p.M; ++i)
    for (int64_t j = 0; j < p.N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < p.K; ++k)
        acc += double(p.ta ? A[k * p.lda + i] : A[i * p.lda + k]) *
               double(p.tb ? B[j * p.ldb + k] : B[k * p.ldb + j]);
      double old = p.beta == 0 ? 0.0 : double(p.beta) * C[i * p.ldc + j];
      expect[i * p.ldc + j] = float(double(p.alpha) * acc + old);
    }
  gemm(p.ta, p.tb, p.M, p.N, p.K, p.alpha, A.data(), p.lda, B.data(), p.ldb, p.beta, C.data(), p.ldc);
  const double tol = 1e-5 * (p.K + 4);
  for (size_t i = 0; i < C.size(); ++i) {
    bool both_nan = std::isnan(C[i]) && std::isnan(expect[i]);
    if (!both_nan && !(std::fabs(C[i] - expect[i]) <= tol)) {
      std::fprintf(stderr, "  mismatch ta=%d tb=%d M=%lld N=%lld K=%lld lda=%lld ldb=%lld ldc=%lld "
                   "alpha=%g beta=%g at %zu: %g vs %g\n", p.ta, p.tb, (long long)p.M, (long long)p.N,
                   (long long)p.K, (long long)p.lda, (long long)p.ldb, (long long)p.ldc, p.alpha,
                   p.beta, i, C[i], expect[i]);
      return false;
    }
  }
  return true;
}

Problem make(bool ta, bool tb, int64_t M, int64_t N, int64_t K, int64_t pad, float alpha, float beta) {
  Problem p{ta, tb, M, N, K, 0, 0, 0, alpha, beta};
  p.lda = (ta ? M : K) + pad;
  p.ldb = (tb ? K : N) + pad;
  p.ldc = N + pad;
  if (p.lda < 1) p.lda = 1;
  if (p.ldb < 1) p.ldb = 1;
  if (p.ldc < 1) p.ldc = 1;
  return p;
}

std::vector<SimdLevel> levels() {
  std::vector<SimdLevel> out;
  for (SimdLevel l : {SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512})
    if (simd_level_supported(l)) out.push_back(l);
  return out;
}

// Odd sizes around the register tiles of every level (4x8, 6x16, 12x32) and cache blocks.
void sweep(SimdLevel level) {
  std::mt19937 rng(1234 + int(level));
  auto gemm = [level](bool ta, bool tb, int64_t M, int64_t N, int64_t K, float al, const float* A,
                      int64_t lda, const float* B, int64_t ldb, float be, float* C, int64_t ldc) {
    sgemm_builtin_level(level, ta, tb, M, N, K, al, A, lda, B, ldb, be, C, ldc);
  };
  const int64_t sizes[] = {1, 2, 3, 5, 7, 11, 13, 16, 17, 24, 31, 33, 47, 64, 70};
  int failures = 0, n = 0;
  for (int t = 0; t < 4; ++t) {
    const bool ta = t & 1, tb = t & 2;
    for (int64_t M : sizes)
      for (int64_t N : sizes) {
        const int64_t K = sizes[(M + 3 * N) % 15];
        const int64_t pad = (M + N) % 3;
        const float alpha = (n % 3 == 0) ? 1.0f : -0.75f;
        const float beta = (n % 4 == 0) ? 0.0f : (n % 4 == 1 ? 1.0f : 0.5f);
        ++n;
        if (!run_problem(make(ta, tb, M, N, K, pad, alpha, beta), gemm, rng)) ++failures;
      }
  }
  CHECK(failures == 0);
}

}  // namespace

TEST_CASE("gemm: built-in sweep of odd sizes, transposes, alpha/beta, ld > cols (each SIMD level)") {
  for (SimdLevel l : levels()) sweep(l);
}

TEST_CASE("gemm: built-in large and blocked sizes (K across KC blocks, N across NC blocks)") {
  std::mt19937 rng(7);
  const int before = get_num_threads();
  for (int threads : {1, 2})
  for (SimdLevel l : levels()) {
    set_num_threads(threads);  // 1 thread: N = 1100 spans two NC blocks in one slice
    auto gemm = [l](bool ta, bool tb, int64_t M, int64_t N, int64_t K, float al, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float be, float* C, int64_t ldc) {
      sgemm_builtin_level(l, ta, tb, M, N, K, al, A, lda, B, ldb, be, C, ldc);
    };
    CHECK(run_problem(make(false, false, 200, 1100, 300, 1, 1.0f, 0.0f), gemm, rng));
    CHECK(run_problem(make(true, true, 301, 150, 520, 0, 0.5f, 1.0f), gemm, rng));
    CHECK(run_problem(make(false, true, 1, 777, 600, 2, 1.0f, 0.25f), gemm, rng));
    CHECK(run_problem(make(true, false, 513, 1, 257, 0, 2.0f, 0.0f), gemm, rng));
    CHECK(run_problem(make(false, false, 40, 2100, 1100, 0, 1.0f, 0.0f), gemm, rng));
  }
  set_num_threads(before);
}

TEST_CASE("gemm: threaded split along M and N matches (2 threads)") {
  const int before = get_num_threads();
  set_num_threads(2);
  std::mt19937 rng(99);
  CHECK(run_problem(make(false, false, 300, 90, 200, 0, 1.0f, 0.0f), sgemm_builtin, rng));
  CHECK(run_problem(make(false, true, 90, 300, 200, 3, 1.0f, 0.5f), sgemm_builtin, rng));
  CHECK(run_problem(make(true, false, 257, 259, 129, 1, -1.0f, 1.0f), sgemm_builtin, rng));
  if (blas_available()) {
    CHECK(run_problem(make(false, false, 300, 90, 200, 0, 1.0f, 0.0f), sgemm_blas, rng));
    CHECK(run_problem(make(true, true, 90, 300, 200, 2, 1.0f, 0.5f), sgemm_blas, rng));
  }
  set_num_threads(before);
}

TEST_CASE("gemm: sgemm called inside parallel_for (nested: runs on the calling thread)") {
  const int before = get_num_threads();
  set_num_threads(2);
  const int64_t n = 96;
  std::mt19937 rng(21);
  auto A = random_vec(size_t(4 * n * n), rng), B = random_vec(size_t(n * n), rng);
  std::vector<float> C(size_t(4 * n * n), NAN);
  parallel_for(4, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      sgemm(false, false, n, n, n, 1.0f, A.data() + t * n * n, n, B.data(), n, 0.0f, C.data() + t * n * n, n);
  });
  bool ok = true;
  for (int64_t t = 0; t < 4; ++t)
    for (int64_t i = 0; i < n; i += 7)
      for (int64_t j = 0; j < n; j += 5) {
        double acc = 0;
        for (int64_t k = 0; k < n; ++k) acc += double(A[t * n * n + i * n + k]) * B[k * n + j];
        if (!(std::fabs(C[t * n * n + i * n + j] - acc) <= 1e-4)) ok = false;
      }
  CHECK(ok);
  set_num_threads(before);
}

TEST_CASE("gemm: beta == 0 ignores NaN in C; K == 0 and alpha == 0 scale C by beta") {
  std::mt19937 rng(5);
  for (SimdLevel l : levels()) {
    auto gemm = [l](bool ta, bool tb, int64_t M, int64_t N, int64_t K, float al, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float be, float* C, int64_t ldc) {
      sgemm_builtin_level(l, ta, tb, M, N, K, al, A, lda, B, ldb, be, C, ldc);
    };
    CHECK(run_problem(make(false, false, 13, 37, 9, 0, 1.0f, 0.0f), gemm, rng, /*nan_c=*/true));
    CHECK(run_problem(make(false, false, 5, 6, 0, 0, 1.0f, 0.0f), gemm, rng, true));
    CHECK(run_problem(make(false, false, 5, 6, 0, 1, 1.0f, 0.5f), gemm, rng));
    CHECK(run_problem(make(true, false, 7, 3, 4, 0, 0.0f, 2.0f), gemm, rng));
    CHECK(run_problem(make(false, false, 0, 6, 3, 0, 1.0f, 0.0f), gemm, rng));
    CHECK(run_problem(make(false, false, 4, 0, 3, 0, 1.0f, 0.0f), gemm, rng));
  }
  if (blas_available()) CHECK(run_problem(make(false, false, 13, 37, 9, 0, 1.0f, 0.0f), sgemm_blas, rng, true));
}

TEST_CASE("gemm: the reported SIMD level is supported and the dispatching sgemm is correct") {
  std::string l = simd_level();
  CHECK(l == "avx512" || l == "avx2" || l == "portable");
  if (l == "avx512") CHECK(simd_level_supported(SimdLevel::Avx512));
  if (l == "avx2") CHECK(simd_level_supported(SimdLevel::Avx2));
  std::mt19937 rng(11);
  CHECK(run_problem(make(false, false, 33, 65, 17, 0, 1.0f, 0.0f), sgemm, rng));
  if (!blas_available()) CHECK_THROWS_CODE(set_gemm_backend(GemmBackend::Blas), ErrorCode::Backend);
}

TEST_CASE("gemm: sgemm_checked rejects bad sizes, leading dimensions and aliasing") {
  std::vector<float> A(6, 1.0f), B(12, 1.0f), C(8, 0.0f);
  Span<const float> a{A.data(), A.size()}, b{B.data(), B.size()};
  Span<float> c{C.data(), C.size()};
  // 2x3 * 3x4 -> 2x4: fits exactly.
  sgemm_checked(false, false, 2, 4, 3, 1.0f, a, 3, b, 4, 0.0f, c, 4);
  CHECK_NEAR(C[0], 3.0, 1e-6);
  CHECK_NEAR(C[7], 3.0, 1e-6);
  CHECK_THROWS_CODE(sgemm_checked(false, false, -1, 4, 3, 1.0f, a, 3, b, 4, 0.0f, c, 4), ErrorCode::Shape);
  CHECK_THROWS_CODE(sgemm_checked(false, false, 2, 4, 3, 1.0f, a, 2, b, 4, 0.0f, c, 4), ErrorCode::Shape);  // lda < K
  CHECK_THROWS_CODE(sgemm_checked(false, false, 2, 4, 3, 1.0f, a, 4, b, 4, 0.0f, c, 4), ErrorCode::Shape);  // A too short
  CHECK_THROWS_CODE(sgemm_checked(false, false, 2, 4, 3, 1.0f, a, 3, b, 5, 0.0f, c, 4), ErrorCode::Shape);  // B too short
  CHECK_THROWS_CODE(sgemm_checked(false, false, 2, 4, 3, 1.0f, a, 3, b, 4, 0.0f, c, 5), ErrorCode::Shape);  // C too short
  CHECK_THROWS_CODE(sgemm_checked(true, false, 2, 4, 3, 1.0f, a, 3, b, 4, 0.0f, c, 4), ErrorCode::Shape);   // A stored 3x2, lda 3: needs 8
  CHECK_THROWS_CODE(sgemm_checked(false, false, 2, 4, 3, 1.0f, a, int64_t(1) << 62, b, 4, 0.0f, c, 4), ErrorCode::Shape);
  CHECK_THROWS_CODE(sgemm_checked(false, false, 2, 4, 3, 1.0f, a, 3, b, 4, 0.0f, c, 0), ErrorCode::Shape);
  Span<float> alias{B.data(), B.size()};
  CHECK_THROWS_CODE(sgemm_checked(false, false, 2, 4, 3, 1.0f, a, 3, b, 4, 0.0f, alias, 4), ErrorCode::Arg);
  // Empty products need no data.
  sgemm_checked(false, false, 0, 0, 0, 1.0f, Span<const float>{}, 1, Span<const float>{}, 1, 0.0f, Span<float>{}, 1);
}

#include "ravdl/matmul.h"

TEST_CASE("matmul: broadcast batches, 1-D operands and transposes match a reference loop") {
  std::mt19937 rng(3);
  struct MM { Shape a, b; bool ta, tb; };
  const MM cases[] = {
      {{2, 1, 3, 4}, {5, 4, 6}, false, false},  // broadcast batch -> [2, 5, 3, 6]
      {{3, 5, 4}, {4, 7}, false, false},        // shared b (one tall GEMM)
      {{3, 4, 5}, {7, 4}, true, true},          // transposes, shared b
      {{40, 2, 3}, {40, 3, 2}, false, false},   // many small matrices over the pool
      {{4}, {2, 4, 3}, false, false},           // vector @ batched matrix
      {{2, 3, 4}, {4}, false, false},           // batched matrix @ vector
      {{6}, {6}, false, false},                 // dot product -> []
      {{3, 0}, {0, 2}, false, false},           // k == 0 -> zeros
  };
  for (const MM& c : cases) {
    Shape os = matmul_shape(c.a, c.b, c.ta, c.tb);
    auto A = random_vec(size_t(numel(c.a)), rng), B = random_vec(size_t(numel(c.b)), rng);
    std::vector<float> out(size_t(numel(os)), NAN);
    matmul({A.data(), c.a}, {B.data(), c.b}, c.ta, c.tb, {out.data(), out.size()});
    // Reference: promote 1-D operands, index batches with broadcasting by hand.
    Shape a = c.a, b = c.b;
    if (a.size() == 1) a.insert(a.begin(), 1);
    if (b.size() == 1) b.push_back(1);
    const int64_t ar = a[a.size() - 2], ac = a.back(), br = b[b.size() - 2], bc = b.back();
    const int64_t m = c.ta ? ac : ar, k = c.ta ? ar : ac, n = c.tb ? br : bc;
    Shape ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
    Shape batch = broadcast_shapes("test", ab, bb);
    Shape sa = broadcast_strides(ab, batch), sb = broadcast_strides(bb, batch);
    bool ok = true;
    for (int64_t t = 0; t < numel(batch); ++t) {
      int64_t rem = t, oa = 0, ob = 0;
      for (int64_t d = int64_t(batch.size()) - 1; d >= 0; --d) {
        oa += rem % batch[d] * sa[d];
        ob += rem % batch[d] * sb[d];
        rem /= batch[d];
      }
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double acc = 0;
          for (int64_t q = 0; q < k; ++q)
            acc += double(A[oa * ar * ac + (c.ta ? q * ac + i : i * ac + q)]) *
                   double(B[ob * br * bc + (c.tb ? j * bc + q : q * bc + j)]);
          if (!(std::fabs(out[t * m * n + i * n + j] - acc) <= 1e-5)) ok = false;
        }
    }
    CHECK(ok);
  }
}

TEST_CASE("matmul: shape rules and errors") {
  CHECK(matmul_shape({7, 1, 2, 3}, {5, 3, 4}) == (Shape{7, 5, 2, 4}));
  CHECK(matmul_shape({3}, {3}) == Shape{});
  CHECK(matmul_shape({2, 3}, {4, 3}, false, true) == (Shape{2, 4}));
  CHECK_THROWS_CODE(matmul_shape({2, 3}, {2, 3}), ErrorCode::Shape);
  CHECK_THROWS_CODE(matmul_shape({}, {3}), ErrorCode::Shape);
  CHECK_THROWS_CODE(matmul_shape({2, 3, 4}, {3, 4, 5}), ErrorCode::Shape);
  CHECK_THROWS_CODE(matmul_shape({3}, {3, 2}, true, false), ErrorCode::Attr);
  CHECK_THROWS_CODE(matmul_shape({2, -3}, {-3, 2}), ErrorCode::Shape);
  std::vector<float> a(6), b(6), out(4);
  CHECK_THROWS_CODE(matmul({a.data(), {2, 3}}, {b.data(), {3, 2}}, false, false, {out.data(), 3}), ErrorCode::Shape);
  CHECK_THROWS_CODE(matmul({a.data(), {2, 3}}, {a.data(), {3, 2}}, false, false, {a.data(), 4}), ErrorCode::Arg);
}

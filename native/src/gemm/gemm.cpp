// GEMM dispatch: OpenBLAS when built in, else the built-in kernel.
// NOTE: the built-in kernel here is a plain reference loop; the packed SIMD GEMM replaces it.
#include "ravdl/gemm.h"

#include <cstdlib>
#include <cstring>

#include "ravdl/error.h"
#include "ravdl/parallel.h"

#ifdef RAVDL_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace ravdl {
namespace {

GemmBackend initial_backend() {
  const char* env = std::getenv("RAVDL_GEMM");
  if (env && std::strcmp(env, "builtin") == 0) return GemmBackend::Builtin;
  return blas_available() ? GemmBackend::Blas : GemmBackend::Builtin;
}

GemmBackend& current() {
  static GemmBackend b = initial_backend();
  return b;
}

}  // namespace

bool blas_available() {
#ifdef RAVDL_HAVE_OPENBLAS
  return true;
#else
  return false;
#endif
}

std::string blas_name() {
#ifdef RAVDL_HAVE_OPENBLAS
  return std::string("OpenBLAS ") + openblas_get_config();
#else
  return "none";
#endif
}

std::string simd_level() { return "portable"; }

void set_gemm_backend(GemmBackend b) {
  if (b == GemmBackend::Blas && !blas_available())
    fail(ErrorCode::Backend, "setGemmBackend: this build has no BLAS (install libopenblas-dev and rebuild)");
  current() = b;
}

GemmBackend gemm_backend() { return current(); }

void sgemm_builtin(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  parallel_for(M, 16, [&](int64_t m0, int64_t m1) {
    for (int64_t i = m0; i < m1; ++i)
      for (int64_t j = 0; j < N; ++j) {
        float acc = 0;
        for (int64_t k = 0; k < K; ++k)
          acc += (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
        C[i * ldc + j] = alpha * acc + (beta == 0 ? 0 : beta * C[i * ldc + j]);
      }
  });
}

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#ifdef RAVDL_HAVE_OPENBLAS
  if (current() == GemmBackend::Blas) {
    static bool single = (openblas_set_num_threads(1), true);  // our pool drives BLAS
    (void)single;
    parallel_for(M, 64, [&](int64_t m0, int64_t m1) {
      const float* Ap = ta ? A + m0 : A + m0 * lda;
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                  static_cast<int>(m1 - m0), static_cast<int>(N), static_cast<int>(K), alpha, Ap,
                  static_cast<int>(lda), B, static_cast<int>(ldb), beta, C + m0 * ldc,
                  static_cast<int>(ldc));
    });
    return;
  }
#endif
  sgemm_builtin(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace ravdl

// Single-precision GEMM on row-major matrices: C = alpha * op(A) * op(B) + beta * C,
// op(X) = X or X^T. Runs on OpenBLAS when the build found it, else on the built-in
// packed, cache-blocked SIMD GEMM; either way threaded by ravdl's pool (parallel.h).
#pragma once
#include <cstdint>
#include <string>

namespace ravdl {

enum class GemmBackend { Blas, Builtin };

// A is M x K (K x M when trans_a), B is K x N (N x K when trans_b), C is M x N.
// lda/ldb/ldc are row strides in elements. Safe to call from inside parallel_for
// (then it runs single-threaded on the calling thread).
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
           int64_t ldc);

// The built-in GEMM, whatever the selected backend (for tests and benchmarks).
void sgemm_builtin(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                   int64_t ldc);

// Selects the backend; throws ERR_BACKEND when Blas is asked for but was not built in.
// The initial backend is Blas when available, unless RAVDL_GEMM=builtin is set.
void set_gemm_backend(GemmBackend b);
GemmBackend gemm_backend();
bool blas_available();
// e.g. "OpenBLAS 0.3.21" or "none".
std::string blas_name();
// SIMD level of the built-in GEMM chosen for this CPU: "avx512", "avx2" or "portable".
std::string simd_level();

}  // namespace ravdl

// Single-precision GEMM on row-major matrices: C = alpha * op(A) * op(B) + beta * C,
// op(X) = X or X^T. Runs on OpenBLAS when the build found it, else on the built-in
// packed, cache-blocked SIMD GEMM; either way threaded by ravdl's pool (parallel.h).
#pragma once
#include <cstdint>
#include <string>

#include "ravdl/tensor.h"

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
// RAVDL_SIMD=avx2|portable caps it (e.g. to compare levels); the report is the level in use.
std::string simd_level();

// ---- additions: explicit paths for tests, benchmarks and the checked entry point ----

enum class SimdLevel { Portable, Avx2, Avx512 };
// Whether this CPU can run the built-in kernel of `level`.
bool simd_level_supported(SimdLevel level);
// The built-in GEMM at a forced SIMD level; throws ERR_BACKEND when the CPU lacks it.
void sgemm_builtin_level(SimdLevel level, bool trans_a, bool trans_b, int64_t M, int64_t N,
                         int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                         int64_t ldb, float beta, float* C, int64_t ldc);
// OpenBLAS (single-threaded, partitioned over ravdl's pool) whatever the selected backend;
// throws ERR_BACKEND when the build has no BLAS.
void sgemm_blas(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                int64_t ldc);

enum class GemmPath { Current, Blas, Builtin };
// sgemm on caller buffers with every size checked first: M, N, K >= 0; each leading
// dimension >= the stored row length (and >= 1); each buffer long enough for its matrix
// (ERR_SHAPE otherwise, never an out-of-bounds access); C must not overlap A or B (ERR_ARG).
void sgemm_checked(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                   Span<const float> A, int64_t lda, Span<const float> B, int64_t ldb, float beta,
                   Span<float> C, int64_t ldc, GemmPath path = GemmPath::Current);

}  // namespace ravdl

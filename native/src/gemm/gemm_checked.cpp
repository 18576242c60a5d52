// sgemm_checked: the size, leading-dimension and buffer-length checks done before any
// access, for callers (the Node binding) that hand in raw buffers.
#include <algorithm>

#include "ravdl/gemm.h"

namespace ravdl {
namespace {

// Elements a rows x cols matrix with row stride ld spans: (rows-1)*ld + cols.
int64_t check_matrix(const char* name, const char* ld_name, int64_t rows, int64_t cols, int64_t ld,
                     size_t len) {
  if (ld < std::max<int64_t>(1, cols))
    fail(ErrorCode::Shape, "gemm: ", ld_name, " must be >= max(1, ", cols, ") for ", name, " stored as ",
         rows, "x", cols, ", got ", ld);
  if (rows == 0 || cols == 0) return 0;
  int64_t span = 0;
  if (__builtin_mul_overflow(rows - 1, ld, &span) || __builtin_add_overflow(span, cols, &span))
    fail(ErrorCode::Shape, "gemm: ", name, " of ", rows, "x", cols, " with ", ld_name, "=", ld,
         " overflows");
  if (static_cast<uint64_t>(span) > len)
    fail(ErrorCode::Shape, "gemm: ", name, " stored as ", rows, "x", cols, " with ", ld_name, "=", ld,
         " needs ", span, " elements but the buffer has ", len);
  return span;
}

}  // namespace

void sgemm_checked(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                   Span<const float> A, int64_t lda, Span<const float> B, int64_t ldb, float beta,
                   Span<float> C, int64_t ldc, GemmPath path) {
  if (M < 0 || N < 0 || K < 0)
    fail(ErrorCode::Shape, "gemm: sizes must be >= 0, got M=", M, " N=", N, " K=", K);
  const int64_t na = check_matrix("A", "lda", ta ? K : M, ta ? M : K, lda, A.size);
  const int64_t nb = check_matrix("B", "ldb", tb ? N : K, tb ? K : N, ldb, B.size);
  const int64_t nc = check_matrix("C", "ldc", M, N, ldc, C.size);
  check_no_alias("gemm", "C", C.data, static_cast<size_t>(nc), "A", A.data, static_cast<size_t>(na));
  check_no_alias("gemm", "C", C.data, static_cast<size_t>(nc), "B", B.data, static_cast<size_t>(nb));
  switch (path) {
    case GemmPath::Blas:
      return sgemm_blas(ta, tb, M, N, K, alpha, A.data, lda, B.data, ldb, beta, C.data, ldc);
    case GemmPath::Builtin:
      return sgemm_builtin(ta, tb, M, N, K, alpha, A.data, lda, B.data, ldb, beta, C.data, ldc);
    case GemmPath::Current: break;
  }
  sgemm(ta, tb, M, N, K, alpha, A.data, lda, B.data, ldb, beta, C.data, ldc);
}

}  // namespace ravdl

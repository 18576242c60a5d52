// AVX2+FMA microkernel: a 6 x 16 tile held in 12 ymm accumulators (6 broadcasts of A and
// 2 loads of B feed 12 FMAs per k).
#include <immintrin.h>

#include "kernels.h"

namespace ravdl::gemm_detail {
namespace {

constexpr int MR = 6, NR = 16;

void kernel(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, int64_t mr,
            int64_t nr, float alpha, float beta) {
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_load_ps(Bp + k * NR), b1 = _mm256_load_ps(Bp + k * NR + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      __m256 a = _mm256_broadcast_ss(Ap + k * MR + i);
      acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (mr == MR && nr == NR) {
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      float* c = C + i * ldc;
      __m256 r0 = _mm256_mul_ps(va, acc[i][0]), r1 = _mm256_mul_ps(va, acc[i][1]);
      if (beta != 0.0f) {
        r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), r0);
        r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8), r1);
      }
      _mm256_storeu_ps(c, r0);
      _mm256_storeu_ps(c + 8, r1);
    }
    return;
  }
  // Edge tile: spill the accumulators and write only the mr x nr valid part.
  alignas(32) float tile[MR][NR];
#pragma GCC unroll 6  // fully unrolled so acc[][] stays in registers in the main loop
  for (int i = 0; i < MR; ++i) {
    _mm256_store_ps(tile[i], acc[i][0]);
    _mm256_store_ps(tile[i] + 8, acc[i][1]);
  }
  for (int64_t i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    for (int64_t j = 0; j < nr; ++j)
      c[j] = beta == 0.0f ? alpha * tile[i][j] : alpha * tile[i][j] + beta * c[j];
  }
}

}  // namespace

KernelInfo kernel_avx2() { return {kernel, MR, NR, 144, 512, 1024}; }

}  // namespace ravdl::gemm_detail

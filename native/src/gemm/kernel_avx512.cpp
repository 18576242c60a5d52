// AVX-512 microkernel: a 12 x 32 tile held in 24 zmm accumulators (12 broadcasts of A and
// 2 loads of B feed 24 FMAs per k). Edge columns use masked loads/stores.
#include <immintrin.h>

#include "kernels.h"

namespace ravdl::gemm_detail {
namespace {

constexpr int MR = 12, NR = 32;

void kernel(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, int64_t mr,
            int64_t nr, float alpha, float beta) {
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  if (nr > 16) {
    for (int64_t k = 0; k < kc; ++k) {
      __m512 b0 = _mm512_load_ps(Bp + k * NR), b1 = _mm512_load_ps(Bp + k * NR + 16);
#pragma GCC unroll 12
      for (int i = 0; i < MR; ++i) {
        __m512 a = _mm512_set1_ps(Ap[k * MR + i]);
        acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
      }
    }
  } else {  // edge panel of <= 16 columns: skip the all-zero right half
    for (int64_t k = 0; k < kc; ++k) {
      __m512 b0 = _mm512_load_ps(Bp + k * NR);
#pragma GCC unroll 12
      for (int i = 0; i < MR; ++i)
        acc[i][0] = _mm512_fmadd_ps(_mm512_set1_ps(Ap[k * MR + i]), b0, acc[i][0]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  // Column masks of the two 16-wide halves (all ones for a full tile).
  const int64_t n0 = nr < 16 ? nr : 16, n1 = nr > 16 ? nr - 16 : 0;
  const __mmask16 m0 = static_cast<__mmask16>((1u << n0) - 1u);
  const __mmask16 m1 = static_cast<__mmask16>((1u << n1) - 1u);
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) {
    if (i >= mr) break;
    float* c = C + i * ldc;
    __m512 r0 = _mm512_mul_ps(va, acc[i][0]), r1 = _mm512_mul_ps(va, acc[i][1]);
    if (beta != 0.0f) {
      r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), r0);
      r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), r1);
    }
    _mm512_mask_storeu_ps(c, m0, r0);
    _mm512_mask_storeu_ps(c + 16, m1, r1);
  }
}

}  // namespace

// Blocks tuned on Zen4 (32 KB L1D, 1 MB L2): the 12 x 512 A micro-panel (24 KB) stays in L1.
KernelInfo kernel_avx512() { return {kernel, MR, NR, 144, 512, 1024}; }

}  // namespace ravdl::gemm_detail

// AVX-512 row kernels of the softmax family (compiled with AVX-512 flags, called only after
// __builtin_cpu_supports("avx512f") said yes; softmax.cpp holds the portable versions).
#include <immintrin.h>

// GCC 12's own intrinsic headers trip these warnings (false positives on their placeholder
// "undefined" vectors); they are not about this file's code.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cmath>
#include <cstdint>

namespace ravdl::detail {

namespace {

// Same range reduction and polynomial as exp_approx in softmax.h, 16 lanes at a time.
inline __m512 exp16(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-87.3f), hi = _mm512_set1_ps(88.3f);
  const __m512 magic = _mm512_set1_ps(12582912.0f);
  __m512 xc = _mm512_min_ps(hi, _mm512_max_ps(lo, x));  // operand order keeps NaN
  __m512 shifted = _mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504f), magic);
  __m512 nf = _mm512_sub_ps(shifted, magic);
  __m512 r = _mm512_fnmadd_ps(nf, _mm512_set1_ps(0.693359375f), xc);
  r = _mm512_fmadd_ps(nf, _mm512_set1_ps(2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  __m512i e = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_castps_si512(magic));
  e = _mm512_slli_epi32(_mm512_add_epi32(e, _mm512_set1_epi32(127)), 23);
  __m512 res = _mm512_mul_ps(p, _mm512_castsi512_ps(e));
  __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
  return _mm512_mask_mov_ps(res, under, _mm512_setzero_ps());
}

inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
}

}  // namespace

float row_max_avx512(const float* z, int64_t n, float sgn) {
  const __m512 s = _mm512_set1_ps(sgn), ninf = _mm512_set1_ps(-INFINITY);
  __m512 acc = ninf;
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 k = tail_mask(n - i);
    __m512 v = _mm512_mask_mov_ps(ninf, k, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(k, z + i)));
    acc = _mm512_max_ps(v, acc);
  }
  return _mm512_reduce_max_ps(acc);
}

float row_expsum_avx512(const float* z, int64_t n, float sgn, float m, float* out) {
  const __m512 s = _mm512_set1_ps(sgn), mv = _mm512_set1_ps(m);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 k = tail_mask(n - i);
    __m512 e = exp16(_mm512_fmsub_ps(s, _mm512_maskz_loadu_ps(k, z + i), mv));
    e = _mm512_maskz_mov_ps(k, e);
    if (out) _mm512_mask_storeu_ps(out + i, k, e);
    acc = _mm512_add_ps(acc, e);
  }
  return _mm512_reduce_add_ps(acc);
}

void exp_sub_accumulate_avx512(const float* z, const float* m, int64_t w, float sgn, float* out,
                               float* acc) {
  const __m512 s = _mm512_set1_ps(sgn);
  for (int64_t j = 0; j < w; j += 16) {
    __mmask16 k = tail_mask(w - j);
    __m512 e = exp16(_mm512_fmsub_ps(s, _mm512_maskz_loadu_ps(k, z + j), _mm512_maskz_loadu_ps(k, m + j)));
    if (out) _mm512_mask_storeu_ps(out + j, k, e);
    _mm512_mask_storeu_ps(acc + j, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, acc + j), e));
  }
}

}  // namespace ravdl::detail

// AVX2+FMA loop of the peak-FLOP probe (probe.cpp). 12 independent chains (FMA latency 4-5 on
// 2 ports needs 8-10 in flight); 12 + 2 constants fit in the 16 ymm registers.
#include <immintrin.h>

#include "ravdl/probe.h"

namespace ravdl::probe_detail {

float fma_loop_avx2(int64_t iters) {
  constexpr int kChains = 12;
  const __m256 m = _mm256_set1_ps(0.999f), a = _mm256_set1_ps(1e-3f);
  __m256 acc[kChains];
#pragma GCC unroll 12
  for (int j = 0; j < kChains; ++j) acc[j] = _mm256_set1_ps(0.01f * j);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kChains; ++j) acc[j] = _mm256_fmadd_ps(acc[j], m, a);
  }
  __m256 s = acc[0];
#pragma GCC unroll 12
  for (int j = 1; j < kChains; ++j) s = _mm256_add_ps(s, acc[j]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  float r = 0;
  for (float v : lanes) r += v;
  return r;
}

}  // namespace ravdl::probe_detail

// AVX-512 FMA loop of the peak-FLOP probe (probe.cpp). 16 independent chains: with FMA latency
// 4 and 2 FMA ports, 8 chains in flight already saturate the units; 16 leaves margin and fits
// in the 32 zmm registers with the two constants.
#include <immintrin.h>

#include "ravdl/probe.h"

namespace ravdl::probe_detail {

float fma_loop_avx512(int64_t iters) {
  constexpr int kChains = 16;
  // acc = acc * m + a converges to a / (1 - m): no overflow, no denormals, any iteration count.
  const __m512 m = _mm512_set1_ps(0.999f), a = _mm512_set1_ps(1e-3f);
  __m512 acc[kChains];
#pragma GCC unroll 16
  for (int j = 0; j < kChains; ++j) acc[j] = _mm512_set1_ps(0.01f * j);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_fmadd_ps(acc[j], m, a);
  }
  __m512 s = acc[0];
#pragma GCC unroll 16
  for (int j = 1; j < kChains; ++j) s = _mm512_add_ps(s, acc[j]);
  // Summed by hand: GCC 12's _mm512_reduce_add_ps warns (maybe-uninitialized) in its header.
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  float r = 0;
  for (float v : lanes) r += v;
  return r;
}

}  // namespace ravdl::probe_detail

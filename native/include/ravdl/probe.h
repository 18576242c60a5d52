// Physical limits of this machine, measured by small loops, so the benchmark suite can show
// how far each kernel is from what the hardware can do (FP32 peak, memory bandwidth).
#pragma once
#include <cstdint>

namespace ravdl {

// FP32 peak: independent FMA chains (throughput-bound, not latency-bound) at the SIMD level
// of the built-in GEMM (AVX-512, AVX2+FMA or portable), on `threads` threads of the pool for
// about `ms` milliseconds. Returns GFLOP/s, counting 2 flops per lane per FMA.
// ms in [1, 2000]; threads in [1, get_num_threads()], 0 = the pool's size (ERR_ARG otherwise).
double probe_fma_gflops(double ms, int threads);

// STREAM-style triad a[i] = b[i] + s * c[i] on three arrays of n floats, on the pool's
// threads; `reps` timed passes after one warm-up pass, best pass reported in GB/s counting
// 12 bytes per element (STREAM's convention: write-allocate traffic not counted).
// n in [1, 2^27], reps in [1, 1000], n * reps <= 2^30 (ERR_ARG otherwise).
double probe_triad_gbps(int64_t n, int64_t reps);

namespace probe_detail {
// `iters` rounds of the FMA chains; returns a value depending on every chain (so the loop is
// not optimised away). flops per call = iters * fma_flops_per_iter_*.
float fma_loop_avx512(int64_t iters);
float fma_loop_avx2(int64_t iters);
constexpr int64_t kFmaFlopsPerIterAvx512 = 16 * 16 * 2;  // 16 chains x 16 lanes x 2
constexpr int64_t kFmaFlopsPerIterAvx2 = 12 * 8 * 2;     // 12 chains x 8 lanes x 2
}  // namespace probe_detail

}  // namespace ravdl

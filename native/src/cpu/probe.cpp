// Physical-limit probes for the benchmark suite (see probe.h): FP32 FMA peak and STREAM-style
// triad bandwidth. Written for this project after the idea of STREAM (McCalpin): time simple
// loops whose only limit is the FMA units or the memory bus.
#include "ravdl/probe.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "ravdl/error.h"
#include "ravdl/gemm.h"
#include "ravdl/parallel.h"

namespace ravdl {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Portable fallback: 32 scalar chains (the compiler may pack them into SSE vectors).
float fma_loop_portable(int64_t iters) {
  float acc[32];
  for (int j = 0; j < 32; ++j) acc[j] = 0.01f * j;
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 32
    for (int j = 0; j < 32; ++j) acc[j] = acc[j] * 0.999f + 1e-3f;
  }
  float s = 0;
  for (float v : acc) s += v;
  return s;
}
constexpr int64_t kFmaFlopsPerIterPortable = 32 * 2;

struct FmaKernel {
  float (*loop)(int64_t);
  int64_t flops_per_iter;
};

// The same SIMD level as the built-in GEMM (which honours RAVDL_SIMD), so the peak shown next
// to the GEMM rows is the one its micro-kernels can reach.
FmaKernel fma_kernel() {
  const std::string level = simd_level();
  if (level == "avx512") return {probe_detail::fma_loop_avx512, probe_detail::kFmaFlopsPerIterAvx512};
  if (level == "avx2") return {probe_detail::fma_loop_avx2, probe_detail::kFmaFlopsPerIterAvx2};
  return {fma_loop_portable, kFmaFlopsPerIterPortable};
}

// Runs the FMA loop on `threads` lanes of the pool until `seconds` have passed; GFLOP/s.
// Every lane stops at one shared deadline, so a worker that wakes late (or a chunk the caller
// runs after its own) adds only the work it did: the figure is what was really achieved.
double fma_run(const FmaKernel& k, double seconds, int threads) {
  // ~20-100 µs per block at 30-150 GFLOP/s per core: fine-grained enough to stop on time.
  constexpr int64_t kIters = 4096;
  std::atomic<int64_t> blocks{0};
  std::atomic<float> sink{0};
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  parallel_for(threads, 1, [&](int64_t b, int64_t e) {
    for (int64_t lane = b; lane < e; ++lane) {
      int64_t done = 0;
      float s = 0;
      while (Clock::now() < deadline) {
        s += k.loop(kIters);
        ++done;
      }
      blocks.fetch_add(done, std::memory_order_relaxed);
      sink.store(s, std::memory_order_relaxed);
    }
  });
  const double dt = seconds_since(t0);
  return static_cast<double>(blocks.load()) * kIters * k.flops_per_iter / std::max(dt, 1e-9) / 1e9;
}

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], FreeDeleter>;

Buffer alloc_floats(int64_t n) {
  size_t bytes = (static_cast<size_t>(n) * sizeof(float) + 63) / 64 * 64;
  auto* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!p) fail(ErrorCode::Arg, "probe_triad_gbps: out of memory for 3 x ", n, " floats");
  return Buffer(p);
}

}  // namespace

double probe_fma_gflops(double ms, int threads) {
  if (!std::isfinite(ms) || ms < 1 || ms > 2000)
    fail(ErrorCode::Arg, "probe_fma_gflops: ms must be in [1, 2000], got ", ms);
  const int pool = get_num_threads();
  if (threads == 0) threads = pool;
  if (threads < 1 || threads > pool)
    fail(ErrorCode::Arg, "probe_fma_gflops: threads must be in [1, ", pool,
         "] (the pool's size; 0 = all), got ", threads);
  const FmaKernel k = fma_kernel();
  // Warm-up: wakes the workers and lets the cores reach their SIMD clock before timing.
  fma_run(k, std::min(ms, 200.0) / 4000, threads);
  return fma_run(k, ms / 1000, threads);
}

double probe_triad_gbps(int64_t n, int64_t reps) {
  if (n < 1 || n > (int64_t{1} << 27))
    fail(ErrorCode::Arg, "probe_triad_gbps: n must be in [1, 2^27], got ", n);
  if (reps < 1 || reps > 1000) fail(ErrorCode::Arg, "probe_triad_gbps: reps must be in [1, 1000], got ", reps);
  if (n * reps > (int64_t{1} << 30))
    fail(ErrorCode::Arg, "probe_triad_gbps: n * reps must be <= 2^30 (bounded run time), got ", n, " * ", reps);
  Buffer a = alloc_floats(n), b = alloc_floats(n), c = alloc_floats(n);
  // Large chunks: each thread streams long contiguous runs, as STREAM's static schedule does.
  const int64_t grain = 1 << 16;
  // First touch by the same partition as the timed loop (pages land near the threads using them).
  parallel_for(n, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      a[i] = 0.f;
      b[i] = 1.f;
      c[i] = 2.f;
    }
  });
  const float s = 3.f;
  double best = 1e30;
  for (int64_t r = 0; r <= reps; ++r) {  // pass 0 is the warm-up
    const auto t0 = Clock::now();
    parallel_for(n, grain, [&](int64_t lo, int64_t hi) {
      float* __restrict pa = a.get();
      const float* __restrict pb = b.get();
      const float* __restrict pc = c.get();
      for (int64_t i = lo; i < hi; ++i) pa[i] = pb[i] + s * pc[i];
    });
    const double dt = seconds_since(t0);
    if (r > 0) best = std::min(best, dt);
  }
  // Read a result so the passes cannot be dropped (a[0] = 1 + 3 * 2 = 7).
  if (a[0] != 7.f) fail(ErrorCode::Internal, "probe_triad_gbps: wrong triad result ", a[0]);
  return 12.0 * static_cast<double>(n) / std::max(best, 1e-9) / 1e9;
}

}  // namespace ravdl

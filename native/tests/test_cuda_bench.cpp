// SGEMM benchmark on cuda:0 through the kernel registry (our tiled kernel), without Node:
//   ravdl_cuda_bench [n=4096] [iterations=20]
// prints "sgemm n=4096: <GFLOP/s> GFLOP/s" (and SGEMM_GFLOPS=<value> for scripts), or
// "skipped: no CUDA device (<why>)" with exit status 0 where there is none.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "ravdl/cuda.h"
#include "ravdl/error.h"
#include "ravdl/registry.h"

using namespace ravdl;

int main(int argc, char** argv) {
  const CudaStatus& s = cuda_status();
  if (!s.available) {
    // "skipped: no CUDA device (...)" whatever the reason (the reason may already say it).
    if (s.reason.rfind("no CUDA device", 0) == 0) std::printf("skipped: %s\n", s.reason.c_str());
    else std::printf("skipped: no CUDA device (%s)\n", s.reason.c_str());
    return 0;
  }
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 4096;
  const int iters = argc > 2 ? std::atoi(argv[2]) : 20;
  if (n < 1 || n > 32768 || iters < 1 || iters > 10000) {
    std::fprintf(stderr, "usage: ravdl_cuda_bench [n in 1..32768] [iterations in 1..10000]\n");
    return 2;
  }
  try {
    const size_t bytes = static_cast<size_t>(n * n) * sizeof(float);
    std::vector<float> host(static_cast<size_t>(n * n));
    for (size_t i = 0; i < host.size(); i++) host[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    void* a = cuda_alloc(0, bytes);
    void* b = cuda_alloc(0, bytes);
    void* c = cuda_alloc(0, bytes);
    cuda_copy_to_device(0, a, host.data(), bytes);
    cuda_copy_to_device(0, b, host.data(), bytes);
    KernelCall call{"matmul", DeviceType::CUDA, 0, {{a, {n, n}, DType::F32}, {b, {n, n}, DType::F32}}, {{c, {n, n}, DType::F32}}, {}};
    run_kernel(call);  // warm-up
    cuda_synchronize(0);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; i++) run_kernel(call);
    cuda_synchronize(0);
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
    double gflops = 2.0 * n * n * n / sec / 1e9;
    std::printf("sgemm n=%lld on %s: %.1f GFLOP/s (%.3f ms per call)\nSGEMM_GFLOPS=%.1f\n", (long long)n, s.devices[0].name.c_str(),
                gflops, sec * 1e3, gflops);
    for (void* p : {a, b, c}) cuda_free(0, p);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", e.code_name(), e.what());
    return 1;
  }
  return 0;
}

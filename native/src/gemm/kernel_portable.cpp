// Portable microkernel: plain loops over a small tile that the compiler auto-vectorizes
// for the baseline ISA (SSE2 on x86-64).
#include "kernels.h"

namespace ravdl::gemm_detail {
namespace {

constexpr int MR = 4, NR = 8;

void kernel(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, int64_t mr,
            int64_t nr, float alpha, float beta) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const float* a = Ap + k * MR;
    const float* b = Bp + k * NR;
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
  }
  for (int64_t i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < nr; ++j) c[j] = alpha * acc[i][j];
    } else {
      for (int64_t j = 0; j < nr; ++j) c[j] = alpha * acc[i][j] + beta * c[j];
    }
  }
}

}  // namespace

KernelInfo kernel_portable() { return {kernel, MR, NR, 128, 256, 1024}; }

}  // namespace ravdl::gemm_detail

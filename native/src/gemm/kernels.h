// Microkernels of the built-in GEMM (one per SIMD level, each in its own translation unit
// compiled with that level's flags). Only declarations here: nothing inline, so no code
// compiled for AVX-512 can leak into the portable path through the linker.
#pragma once
#include <cstdint>

namespace ravdl::gemm_detail {

// C[0:mr, 0:nr] = alpha * (Ap * Bp) + beta * C, where Ap is a packed MR x kc panel (MR
// values per k, zero-padded) and Bp a packed kc x NR panel (NR values per k). beta == 0
// means C's old contents are never read (so NaN there does not propagate).
using MicroKernel = void (*)(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc,
                             int64_t mr, int64_t nr, float alpha, float beta);

struct KernelInfo {
  MicroKernel fn;
  int64_t mr, nr;          // register tile
  int64_t mc, kc, nc;      // cache blocks (mc a multiple of mr, nc a multiple of nr)
};

// y = alpha * op(B) x + beta * y for one row x of A (see gemv_impl.h); op(B) = B^T when trans_b.
using GemvKernel = void (*)(bool trans_b, int64_t n, int64_t k, float alpha, const float* x,
                            const float* B, int64_t ldb, float beta, float* y);
GemvKernel gemv_portable();
GemvKernel gemv_avx2();
GemvKernel gemv_avx512();

KernelInfo kernel_portable();
KernelInfo kernel_avx2();    // call only when the CPU has AVX2 and FMA
KernelInfo kernel_avx512();  // call only when the CPU has AVX-512 F/DQ/BW/VL

}  // namespace ravdl::gemm_detail

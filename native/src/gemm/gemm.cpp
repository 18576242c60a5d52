// GEMM dispatch: OpenBLAS (single-threaded, partitioned over ravdl's pool) when built in,
// else the built-in packed GEMM (driver here, microkernels in kernel_*.cpp).
#include <vector>
#include "ravdl/gemm.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "kernels.h"
#include "ravdl/error.h"
#include "ravdl/parallel.h"

#ifdef RAVDL_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef __SSE2__
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

namespace ravdl {
namespace {

using gemm_detail::KernelInfo;

SimdLevel used_level();

// RAVDL_GEMM=blas|builtin forces a path. By default: the built-in kernel on AVX-512 CPUs, where
// it measured 1.0-1.9x OpenBLAS 0.3.21 (whose DYNAMIC_ARCH may fall back to its AVX2 kernels
// on CPUs it does not know), else OpenBLAS when the build found it, else the built-in kernel.
GemmBackend initial_backend() {
  const char* env = std::getenv("RAVDL_GEMM");
  if (env && std::strcmp(env, "builtin") == 0) return GemmBackend::Builtin;
  if (env && std::strcmp(env, "blas") == 0 && blas_available()) return GemmBackend::Blas;
  if (used_level() == SimdLevel::Avx512) return GemmBackend::Builtin;
  return blas_available() ? GemmBackend::Blas : GemmBackend::Builtin;
}

GemmBackend& current() {
  static GemmBackend b = initial_backend();
  return b;
}

// Below this many flops per chunk a thread is not worth waking (~30 µs of work).
constexpr double kMinChunkFlops = 2e6;

const char* level_name(SimdLevel l) {
  switch (l) {
    case SimdLevel::Avx512: return "avx512";
    case SimdLevel::Avx2: return "avx2";
    case SimdLevel::Portable: return "portable";
  }
  return "portable";
}

// Best level of this CPU, capped by RAVDL_SIMD when set.
SimdLevel detect_level() {
  SimdLevel l = simd_level_supported(SimdLevel::Avx512) ? SimdLevel::Avx512
                : simd_level_supported(SimdLevel::Avx2) ? SimdLevel::Avx2
                                                         : SimdLevel::Portable;
  if (const char* env = std::getenv("RAVDL_SIMD")) {
    if (std::strcmp(env, "portable") == 0) l = SimdLevel::Portable;
    else if (std::strcmp(env, "avx2") == 0 && l == SimdLevel::Avx512) l = SimdLevel::Avx2;
  }
  return l;
}

SimdLevel used_level() {
  static SimdLevel l = detect_level();
  return l;
}

KernelInfo kernel_for(SimdLevel l) {
  if (!simd_level_supported(l))
    fail(ErrorCode::Backend, "sgemm: this CPU does not support the ", level_name(l), " kernel");
  switch (l) {
    case SimdLevel::Avx512: return gemm_detail::kernel_avx512();
    case SimdLevel::Avx2: return gemm_detail::kernel_avx2();
    case SimdLevel::Portable: break;
  }
  return gemm_detail::kernel_portable();
}

// Per-thread packing buffers, 64-byte aligned, grown on demand and kept for reuse.
struct PackBuffer {
  float* data = nullptr;
  size_t cap = 0;
  ~PackBuffer() { std::free(data); }
  float* get(size_t n) {
    if (n > cap) {
      std::free(data);
      size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
      data = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!data) throw std::bad_alloc();
      cap = bytes / sizeof(float);
    }
    return data;
  }
};
thread_local PackBuffer t_pack_a, t_pack_b;

// dst[k * ldd + r] = src[r * lds + k] for r < rows, k < kc: the transposing half of packing,
// in 4 x 4 SSE blocks where available (SSE2 is baseline on x86-64).
void transpose_copy(const float* src, int64_t lds, int64_t rows, int64_t kc, float* dst, int64_t ldd) {
  int64_t r = 0;
#ifdef __SSE2__
  for (; r + 4 <= rows; r += 4) {
    const float* s0 = src + r * lds;
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
      __m128 a = _mm_loadu_ps(s0 + k), b = _mm_loadu_ps(s0 + lds + k);
      __m128 c = _mm_loadu_ps(s0 + 2 * lds + k), d = _mm_loadu_ps(s0 + 3 * lds + k);
      _MM_TRANSPOSE4_PS(a, b, c, d);
      float* o = dst + k * ldd + r;
      _mm_storeu_ps(o, a);
      _mm_storeu_ps(o + ldd, b);
      _mm_storeu_ps(o + 2 * ldd, c);
      _mm_storeu_ps(o + 3 * ldd, d);
    }
    for (; k < kc; ++k)
      for (int64_t q = 0; q < 4; ++q) dst[k * ldd + r + q] = s0[q * lds + k];
  }
#endif
  for (; r < rows; ++r)
    for (int64_t k = 0; k < kc; ++k) dst[k * ldd + r] = src[r * lds + k];
}

// Packs op(A)[i0:i0+mc, k0:k0+kc] into MR-row panels: panel p holds, for each k, MR values.
void pack_a(bool ta, const float* A, int64_t lda, int64_t i0, int64_t mc, int64_t k0, int64_t kc,
            int64_t MR, float* dst) {
  for (int64_t p = 0; p < mc; p += MR, dst += MR * kc) {
    const int64_t rows = std::min(MR, mc - p);
    if (ta) {  // op(A)(i, k) = A[k, i]: rows of the panel are contiguous in memory
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = A + (k0 + k) * lda + i0 + p;
        float* d = dst + k * MR;
        for (int64_t i = 0; i < rows; ++i) d[i] = src[i];
        for (int64_t i = rows; i < MR; ++i) d[i] = 0.0f;
      }
    } else {
      transpose_copy(A + (i0 + p) * lda + k0, lda, rows, kc, dst, MR);
      for (int64_t i = rows; i < MR; ++i)
        for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = 0.0f;
    }
  }
}

// Packs op(B)[k0:k0+kc, j0:j0+nc] into NR-column panels: panel q holds, for each k, NR values.
void pack_b(bool tb, const float* B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
            int64_t NR, float* dst) {
  for (int64_t q = 0; q < nc; q += NR, dst += NR * kc) {
    const int64_t cols = std::min(NR, nc - q);
    if (!tb) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = B + (k0 + k) * ldb + j0 + q;
        float* d = dst + k * NR;
        for (int64_t j = 0; j < cols; ++j) d[j] = src[j];
        for (int64_t j = cols; j < NR; ++j) d[j] = 0.0f;
      }
    } else {  // op(B)(k, j) = B[j, k]
      transpose_copy(B + (j0 + q) * ldb + k0, ldb, cols, kc, dst, NR);
      for (int64_t j = cols; j < NR; ++j)
        for (int64_t k = 0; k < kc; ++k) dst[k * NR + j] = 0.0f;
    }
  }
}

// C = alpha*op(A)*op(B) + beta*C on the calling thread: the BLIS-style loop nest
// (NC columns, KC depth, MC rows, then MR x NR register tiles).
void gemm_serial(const KernelInfo& kr, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                 float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                 float* C, int64_t ldc) {
  // Equal depth blocks (K = 513 gives 257 + 256, not 512 + 1).
  const int64_t KC = (K + (K + kr.kc - 1) / kr.kc - 1) / ((K + kr.kc - 1) / kr.kc);
  const int64_t NC = std::min(kr.nc, (N + kr.nr - 1) / kr.nr * kr.nr);
  const int64_t MC = std::min(kr.mc, (M + kr.mr - 1) / kr.mr * kr.mr);
  float* bbuf = t_pack_b.get(static_cast<size_t>(KC * NC));
  float* abuf = t_pack_a.get(static_cast<size_t>(KC * MC));
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const float beta_k = pc == 0 ? beta : 1.0f;  // later depth blocks accumulate
      pack_b(tb, B, ldb, pc, kc, jc, nc, kr.nr, bbuf);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        pack_a(ta, A, lda, ic, mc, pc, kc, kr.mr, abuf);
        // The A micro-panel stays in L1 while the B panels stream from L2/L3 (24 FMAs
        // per 128 bytes of B on AVX-512, well within the cache bandwidth).
        for (int64_t ir = 0; ir < mc; ir += kr.mr) {
          const float* ap = abuf + ir * kc;
          float* crow = C + (ic + ir) * ldc + jc;
          const int64_t mr = std::min(kr.mr, mc - ir);
          for (int64_t jr = 0; jr < nc; jr += kr.nr)
            kr.fn(kc, ap, bbuf + jr * kc, crow + jr, ldc, mr, std::min(kr.nr, nc - jr), alpha,
                  beta_k);
        }
      }
    }
  }
}

// C = beta*C (alpha == 0 or K == 0): A and B are not read, as in reference BLAS.
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f) std::fill(c, c + N, 0.0f);
    else if (beta != 1.0f) for (int64_t j = 0; j < N; ++j) c[j] *= beta;
  }
}

// Number of parallel slices for an M x N x K product whose split dimension has `units`
// tiles: one per thread, fewer when a slice would be too small to pay for a wake-up.
int64_t slices_for(int64_t M, int64_t N, int64_t K, int64_t units) {
  if (in_parallel_region()) return 1;
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const double by_work = std::min(flops / kMinChunkFlops, 1024.0);  // clamped before the cast
  return std::max<int64_t>(1, std::min<int64_t>({get_num_threads(), units, static_cast<int64_t>(by_work)}));
}

void builtin_with(const KernelInfo& kr, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                  float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                  float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) return scale_c(M, N, beta, C, ldc);
  // Split the larger of M and N into one slice per thread, on tile boundaries; each
  // thread packs into its own buffers. Any split gives the same bits: an element of C is
  // summed over K in depth blocks that depend on K alone (see gemm_serial).
  const bool split_n = N >= M;
  const int64_t tile = split_n ? kr.nr : kr.mr;
  const int64_t units = ((split_n ? N : M) + tile - 1) / tile;
  const int64_t slices = slices_for(M, N, K, units);
  if (slices == 1) return gemm_serial(kr, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  parallel_for(slices, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t u0 = units * s / slices, u1 = units * (s + 1) / slices;
      if (split_n) {
        const int64_t j0 = u0 * tile, j1 = std::min(N, u1 * tile);
        gemm_serial(kr, ta, tb, M, j1 - j0, K, alpha, A, lda, tb ? B + j0 * ldb : B + j0, ldb,
                    beta, C + j0, ldc);
      } else {
        const int64_t i0 = u0 * tile, i1 = std::min(M, u1 * tile);
        gemm_serial(kr, ta, tb, i1 - i0, N, K, alpha, ta ? A + i0 : A + i0 * lda, lda, B, ldb,
                    beta, C + i0 * ldc, ldc);
      }
    }
  });
}

#ifdef RAVDL_HAVE_OPENBLAS
bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

// Pieces of an OpenBLAS product along the larger of M and N (16-aligned): at least 64 wide
// and kBlasPieceFlops of work each, at most kBlasMaxPieces (each piece repacks the other
// operand: 8 pieces of a 2048^3 product measured 17% slower on one thread than one call).
constexpr double kBlasPieceFlops = 4e6;
constexpr int64_t kBlasMaxPieces = 8;
int64_t blas_pieces(int64_t M, int64_t N, int64_t K) {
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const auto by_work = static_cast<int64_t>(std::min(flops / kBlasPieceFlops, 1024.0));
  return std::max<int64_t>(1, std::min({(std::max(M, N) + 63) / 64, by_work, kBlasMaxPieces}));
}

void blas_call(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A,
              static_cast<int>(lda), B, static_cast<int>(ldb), beta, C, static_cast<int>(ldc));
}
#endif

}  // namespace

bool blas_available() {
#ifdef RAVDL_HAVE_OPENBLAS
  return true;
#else
  return false;
#endif
}

std::string blas_name() {
#ifdef RAVDL_HAVE_OPENBLAS
  std::string config = openblas_get_config();  // usually starts with "OpenBLAS 0.3.x"
  return config.rfind("OpenBLAS", 0) == 0 ? config : "OpenBLAS " + config;
#else
  return "none";
#endif
}

bool simd_level_supported(SimdLevel level) {
#if defined(__x86_64__) || defined(__i386__)
  switch (level) {
    // The AVX-512 file is compiled with F/DQ/BW/VL (see CMakeLists.txt), so require all four.
    case SimdLevel::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    case SimdLevel::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SimdLevel::Portable: return true;
  }
  return false;
#else
  return level == SimdLevel::Portable;
#endif
}

std::string simd_level() { return level_name(used_level()); }

void set_gemm_backend(GemmBackend b) {
  if (b == GemmBackend::Blas && !blas_available())
    fail(ErrorCode::Backend, "setGemmBackend: this build has no BLAS (install libopenblas-dev and rebuild)");
  current() = b;
}

GemmBackend gemm_backend() { return current(); }

void sgemm_builtin_level(SimdLevel level, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                         float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                         float beta, float* C, int64_t ldc) {
  builtin_with(kernel_for(level), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_builtin(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  static const KernelInfo kr = kernel_for(used_level());
  builtin_with(kr, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_blas(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#ifdef RAVDL_HAVE_OPENBLAS
  if (M <= 0 || N <= 0) return;
  // cblas takes int sizes: anything larger goes to the built-in kernel.
  if (!fits_int(M) || !fits_int(N) || !fits_int(K) || !fits_int(lda) || !fits_int(ldb) ||
      !fits_int(ldc))
    return sgemm_builtin(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  static bool single = (openblas_set_num_threads(1), true);  // our pool drives BLAS
  (void)single;
  // OpenBLAS's result for an element depends on the shape of the call (it picks small-matrix
  // and direct kernels by size), so the pieces it is called on depend only on M, N and K, never
  // on the thread count or the caller: the pool (or a caller's task) then runs the same pieces.
  const bool split_n = N >= M;
  const int64_t units = ((split_n ? N : M) + 15) / 16;
  const int64_t slices = blas_pieces(M, N, K);
  if (slices == 1) return blas_call(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  parallel_for(slices, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t a0 = std::min(split_n ? N : M, units * s / slices * 16);
      const int64_t a1 = std::min(split_n ? N : M, units * (s + 1) / slices * 16);
      if (split_n)
        blas_call(ta, tb, M, a1 - a0, K, alpha, A, lda, tb ? B + a0 * ldb : B + a0, ldb, beta,
                  C + a0, ldc);
      else
        blas_call(ta, tb, a1 - a0, N, K, alpha, ta ? A + a0 : A + a0 * lda, lda, B, ldb, beta,
                  C + a0 * ldc, ldc);
    }
  });
#else
  fail(ErrorCode::Backend, "sgemm: this build has no BLAS (install libopenblas-dev and rebuild)");
#endif
}

namespace {

gemm_detail::GemvKernel gemv_for(SimdLevel l) {
  switch (l) {
    case SimdLevel::Avx512: return gemm_detail::gemv_avx512();
    case SimdLevel::Avx2: return gemm_detail::gemv_avx2();
    case SimdLevel::Portable: break;
  }
  return gemm_detail::gemv_portable();
}

// One row of A: a matrix-vector product, memory-bound, so no packing (which would cost more
// than the product itself); columns of op(B) are split across the pool when there is enough work.
void gemv(bool ta, bool tb, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C) {
  static const gemm_detail::GemvKernel kernel = gemv_for(used_level());
  std::vector<float> strided;
  const float* x = A;
  if (ta && lda != 1) {  // A is a K x 1 column with stride lda
    strided.resize(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k) strided[k] = A[k * lda];
    x = strided.data();
  }
  const int64_t grain = std::max<int64_t>(16, (int64_t{1} << 15) / std::max<int64_t>(K, 1));
  parallel_for(N, grain, [&](int64_t n0, int64_t n1) {
    kernel(tb, n1 - n0, K, alpha, x, tb ? B + n0 * ldb : B + n0, ldb, beta, C + n0);
  });
}

}  // namespace

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 1 && N > 0 && K > 0) return gemv(ta, tb, N, K, alpha, A, lda, B, ldb, beta, C);
  if (current() == GemmBackend::Blas && blas_available())
    return sgemm_blas(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  sgemm_builtin(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace ravdl

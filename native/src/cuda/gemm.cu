// GEMM on the GPU: cuBLAS when libcublas can be loaded at run time (dlopen, no link-time
// dependency: the build machines have no cuBLAS), else our tiled SGEMM; and the matmul op
// (torch.matmul semantics: 1-D operands, broadcast batch dims, trans_a / trans_b) on top.
// RAVDL_CUDA_GEMM=builtin forces our kernel (to compare the two, e.g. in the benchmark).
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "common.cuh"

namespace ravdl_cuda {
namespace {

// ---------------- our SGEMM ----------------
// C[M,N] = alpha op(A) op(B) + beta C. Block tile 128x128, k-step 8, 256 threads each computing
// 8x8 outputs spread with a stride of 16 rows/columns (conflict-free shared-memory reads,
// coalesced writes). blockIdx.z is the batch (element strides sa, sb, sc; 0 = shared).
constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8;
constexpr int kGemmThreads = (BM / TM) * (BN / TN);

__global__ void __launch_bounds__(kGemmThreads)
    sgemm_kernel(bool ta, bool tb, int M, int N, int K, float alpha, const float* __restrict__ A, int64_t lda, int64_t sa,
                 const float* __restrict__ B, int64_t ldb, int64_t sb, float beta, float* __restrict__ C, int64_t ldc,
                 int64_t sc) {
  __shared__ float As[BK][BM];
  __shared__ float Bs[BK][BN];
  A += blockIdx.z * sa;
  B += blockIdx.z * sb;
  C += blockIdx.z * sc;
  const int tid = threadIdx.x;
  const int tx = tid % (BN / TN), ty = tid / (BN / TN);
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; i++)
#pragma unroll
    for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

  for (int k0 = 0; k0 < K; k0 += BK) {
    // Load op(A)[m0.., k0..] and op(B)[k0.., n0..]; neighbouring threads read neighbouring
    // addresses of the stored layout; out-of-range elements are zero.
#pragma unroll
    for (int i = tid; i < BM * BK; i += kGemmThreads) {
      int mm, kk;
      if (!ta) { mm = i / BK; kk = i % BK; } else { kk = i / BM; mm = i % BM; }
      const int gm = m0 + mm, gk = k0 + kk;
      float v = 0.0f;
      if (gm < M && gk < K) v = ta ? A[gk * lda + gm] : A[gm * lda + gk];
      As[kk][mm] = v;
    }
#pragma unroll
    for (int i = tid; i < BK * BN; i += kGemmThreads) {
      int kk, nn;
      if (!tb) { kk = i / BN; nn = i % BN; } else { nn = i / BK; kk = i % BK; }
      const int gk = k0 + kk, gn = n0 + nn;
      float v = 0.0f;
      if (gk < K && gn < N) v = tb ? B[gn * ldb + gk] : B[gk * ldb + gn];
      Bs[kk][nn] = v;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < BK; kk++) {
      float a[TM], b[TN];
#pragma unroll
      for (int i = 0; i < TM; i++) a[i] = As[kk][ty + i * (BM / TM)];
#pragma unroll
      for (int j = 0; j < TN; j++) b[j] = Bs[kk][tx + j * (BN / TN)];
#pragma unroll
      for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < TM; i++) {
    const int m = m0 + ty + i * (BM / TM);
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < TN; j++) {
      const int n = n0 + tx + j * (BN / TN);
      if (n >= N) continue;
      float* c = C + m * ldc + n;
      // beta == 0 never reads C (it may hold NaN from an earlier use of the block).
      *c = beta == 0.0f ? alpha * acc[i][j] : fmaf(beta, *c, alpha * acc[i][j]);
    }
  }
}


// ---------------- our SGEMM, fast path ----------------
// The same tiling (128x128 block tile, k-step 8, 256 threads, 8x8 outputs per thread) with
// float4 global loads prefetched into registers during the previous tile's math, shared memory
// double-buffered (one barrier per k-step), the thread's outputs as two 4x4 quadrants so the
// inner loop reads float4s, and rows padded to 132 floats so the transposing stores of
// non-transposed A / transposed B hit 32 different banks. Needs 16-byte aligned rows (every
// leading dimension, batch stride and base a multiple of 4 floats); other calls take
// sgemm_kernel. Edge tiles load and store with bounds checks.
constexpr int kLdS = BM + 4;

template <bool TA>
__device__ __forceinline__ void load_a(const float* __restrict__ A, int64_t lda, int M, int K, int m0, int k0, int tid, float4& r) {
  // !TA: A[m][k], thread -> row m0 + tid/2, k0 + (tid%2)*4 .. +3.  TA: A[k][m], thread -> row k0 + tid/32, m0 + (tid%32)*4 .. +3.
  const int row = TA ? k0 + tid / 32 : m0 + tid / 2;
  const int col = TA ? m0 + (tid % 32) * 4 : k0 + (tid % 2) * 4;
  const int rows = TA ? K : M, cols = TA ? M : K;
  if (row < rows && col + 3 < cols) {
    r = *reinterpret_cast<const float4*>(A + row * lda + col);
  } else {
    const float* p = A + row * lda + col;
    r.x = row < rows && col < cols ? p[0] : 0.0f;
    r.y = row < rows && col + 1 < cols ? p[1] : 0.0f;
    r.z = row < rows && col + 2 < cols ? p[2] : 0.0f;
    r.w = row < rows && col + 3 < cols ? p[3] : 0.0f;
  }
}
template <bool TB>
__device__ __forceinline__ void load_b(const float* __restrict__ B, int64_t ldb, int N, int K, int n0, int k0, int tid, float4& r) {
  // !TB: B[k][n], thread -> row k0 + tid/32, n0 + (tid%32)*4.  TB: B[n][k], thread -> row n0 + tid/2, k0 + (tid%2)*4.
  const int row = TB ? n0 + tid / 2 : k0 + tid / 32;
  const int col = TB ? k0 + (tid % 2) * 4 : n0 + (tid % 32) * 4;
  const int rows = TB ? N : K, cols = TB ? K : N;
  if (row < rows && col + 3 < cols) {
    r = *reinterpret_cast<const float4*>(B + row * ldb + col);
  } else {
    const float* p = B + row * ldb + col;
    r.x = row < rows && col < cols ? p[0] : 0.0f;
    r.y = row < rows && col + 1 < cols ? p[1] : 0.0f;
    r.z = row < rows && col + 2 < cols ? p[2] : 0.0f;
    r.w = row < rows && col + 3 < cols ? p[3] : 0.0f;
  }
}
// Stores a loaded float4 into the [k][m] (or [k][n]) shared tile.
template <bool Transposing>
__device__ __forceinline__ void store_tile(float (*S)[kLdS], int tid, const float4& r) {
  if (Transposing) {  // 4 consecutive k of one row m (n): a column of the tile
    const int m = tid / 2, k = (tid % 2) * 4;
    S[k][m] = r.x;
    S[k + 1][m] = r.y;
    S[k + 2][m] = r.z;
    S[k + 3][m] = r.w;
  } else {  // 4 consecutive m (n) of one k
    *reinterpret_cast<float4*>(&S[tid / 32][(tid % 32) * 4]) = r;
  }
}

template <bool TA, bool TB>
__global__ void __launch_bounds__(kGemmThreads)
    sgemm_fast(int M, int N, int K, float alpha, const float* __restrict__ A, int64_t lda, int64_t sa, const float* __restrict__ B, int64_t ldb,
               int64_t sb, float beta, float* __restrict__ C, int64_t ldc, int64_t sc) {
  __shared__ __align__(16) float As[2][BK][kLdS];
  __shared__ __align__(16) float Bs[2][BK][kLdS];
  A += blockIdx.z * sa;
  B += blockIdx.z * sb;
  C += blockIdx.z * sc;
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; i++)
#pragma unroll
    for (int j = 0; j < 8; j++) acc[i][j] = 0.0f;
  float4 ra, rb;
  load_a<TA>(A, lda, M, K, m0, 0, tid, ra);
  load_b<TB>(B, ldb, N, K, n0, 0, tid, rb);
  store_tile<!TA>(As[0], tid, ra);
  store_tile<TB>(Bs[0], tid, rb);
  __syncthreads();
  int cur = 0;
  for (int k0 = 0; k0 < K; k0 += BK) {
    const bool more = k0 + BK < K;
    if (more) {  // the next tile's loads fly while this one is multiplied
      load_a<TA>(A, lda, M, K, m0, k0 + BK, tid, ra);
      load_b<TB>(B, ldb, N, K, n0, k0 + BK, tid, rb);
    }
#pragma unroll
    for (int kk = 0; kk < BK; kk++) {
      const float4 a0 = *reinterpret_cast<const float4*>(&As[cur][kk][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[cur][kk][64 + ty * 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[cur][kk][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[cur][kk][64 + tx * 4]);
      const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (more) {
      store_tile<!TA>(As[cur ^ 1], tid, ra);
      store_tile<TB>(Bs[cur ^ 1], tid, rb);
    }
    __syncthreads();
    cur ^= 1;
  }
  // Thread rows: ty*4 + i (i < 4) and 64 + ty*4 + (i - 4); columns likewise with tx.
#pragma unroll
  for (int i = 0; i < 8; i++) {
    const int m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
    if (m >= M) continue;
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int n = n0 + h * 64 + tx * 4;
      float* c = C + m * ldc + n;
      float v[4];
#pragma unroll
      for (int j = 0; j < 4; j++) v[j] = alpha * acc[i][h * 4 + j];
      if (n + 3 < N) {
        float4 o = make_float4(v[0], v[1], v[2], v[3]);
        if (beta != 0.0f) {  // beta == 0 never reads C (it may hold NaN)
          const float4 old = *reinterpret_cast<const float4*>(c);
          o.x = fmaf(beta, old.x, o.x), o.y = fmaf(beta, old.y, o.y), o.z = fmaf(beta, old.z, o.z), o.w = fmaf(beta, old.w, o.w);
        }
        *reinterpret_cast<float4*>(c) = o;
      } else {
        for (int j = 0; j < 4 && n + j < N; j++) c[j] = beta == 0.0f ? v[j] : fmaf(beta, c[j], v[j]);
      }
    }
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// C = beta C when K == 0 (alpha op(A) op(B) is then a zero matrix).
__global__ void scale_matrix(int64_t M, int64_t N, float beta, float* C, int64_t ldc, int64_t sc, int64_t batch) {
  const int64_t total = batch * M * N;
  RAVDL_GRID_STRIDE(i, total) {
    const int64_t b = i / (M * N), r = (i / N) % M, col = i % N;
    float* c = C + b * sc + r * ldc + col;
    *c = beta == 0.0f ? 0.0f : beta * *c;
  }
}

// ---------------- cuBLAS, loaded at run time ----------------
// The few declarations we use, from cuBLAS's C API (types are opaque pointers and ints).
using cublasHandle = void*;
using FnCreate = int (*)(cublasHandle*);
using FnSetStream = int (*)(cublasHandle, cudaStream_t);
using FnSgemm = int (*)(cublasHandle, int, int, int, int, int, const float*, const float*, int, const float*, int, const float*,
                        float*, int);
using FnSgemmBatched = int (*)(cublasHandle, int, int, int, int, int, const float*, const float*, int, long long, const float*,
                               int, long long, const float*, float*, int, long long, int);
constexpr int kOpN = 0, kOpT = 1;  // CUBLAS_OP_N, CUBLAS_OP_T

struct Cublas {
  bool tried = false;
  bool ok = false;
  std::string name;  // what gemm_backend_name reports
  FnCreate create = nullptr;
  FnSetStream set_stream = nullptr;
  FnSgemm sgemm = nullptr;
  FnSgemmBatched sgemm_batched = nullptr;
  cublasHandle handles[64] = {};
};
Cublas g_blas;
std::mutex g_blas_mu;

bool builtin_forced() {
  const char* e = std::getenv("RAVDL_CUDA_GEMM");
  return e && std::string(e) == "builtin";
}

Cublas& blas() {
  std::lock_guard<std::mutex> lock(g_blas_mu);
  if (g_blas.tried) return g_blas;
  g_blas.tried = true;
  if (builtin_forced()) {
    g_blas.name = "built-in tiled SGEMM (RAVDL_CUDA_GEMM=builtin)";
    return g_blas;
  }
  std::string why;
  for (const char* soname : {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"}) {
    void* h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      if (why.empty()) {
        const char* e = dlerror();
        why = e ? e : soname;
      }
      continue;
    }
    g_blas.create = reinterpret_cast<FnCreate>(dlsym(h, "cublasCreate_v2"));
    g_blas.set_stream = reinterpret_cast<FnSetStream>(dlsym(h, "cublasSetStream_v2"));
    g_blas.sgemm = reinterpret_cast<FnSgemm>(dlsym(h, "cublasSgemm_v2"));
    g_blas.sgemm_batched = reinterpret_cast<FnSgemmBatched>(dlsym(h, "cublasSgemmStridedBatched"));
    if (g_blas.create && g_blas.set_stream && g_blas.sgemm && g_blas.sgemm_batched) {
      g_blas.ok = true;
      g_blas.name = std::string("cuBLAS (") + soname + ")";
      return g_blas;
    }
    why = std::string(soname) + " lacks the cublasSgemm entry points";
    dlclose(h);
  }
  g_blas.name = "built-in tiled SGEMM (cuBLAS not loaded: " + why + ")";
  return g_blas;
}

// The device's cuBLAS handle on its stream, or null when cuBLAS cannot be used.
cublasHandle handle_of(int dev) {
  Cublas& b = blas();
  if (!b.ok || dev < 0 || dev >= 64) return nullptr;
  std::lock_guard<std::mutex> lock(g_blas_mu);
  if (!b.handles[dev]) {
    cublasHandle h = nullptr;
    if (b.create(&h) != 0 || !h) {
      b.ok = false;
      b.name = "built-in tiled SGEMM (cublasCreate failed)";
      return nullptr;
    }
    if (b.set_stream(h, stream_of(dev)) != 0) fail(kInternal, "cublasSetStream failed");
    b.handles[dev] = h;
  }
  return b.handles[dev];
}

constexpr int64_t kIntMax = 2147483647;

void our_gemm(int dev, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, int64_t sa,
              const float* B, int64_t ldb, int64_t sb, float beta, float* C, int64_t ldc, int64_t sc, int64_t batch) {
  if (M > kIntMax || N > kIntMax || K > kIntMax) fail(kShape, "gemm: dimensions above 2^31 on cuda");
  cudaStream_t s = stream_of(dev);
  if (K == 0) {
    scale_matrix<<<grid_for(batch * M * N), kThreads, 0, s>>>(M, N, beta, C, ldc, sc, batch);
    return;
  }
  const int64_t gy = (M + BM - 1) / BM, gx = (N + BN - 1) / BN;
  if (gy > 65535 || gx > kIntMax) fail(kShape, "gemm: M too large for one launch on cuda");
  // The fast kernel needs every row (and batch) to start on a 16-byte boundary.
  const bool fast = aligned16(A) && aligned16(B) && aligned16(C) && lda % 4 == 0 && ldb % 4 == 0 && ldc % 4 == 0 && sa % 4 == 0 &&
                    sb % 4 == 0 && sc % 4 == 0;
  for (int64_t b0 = 0; b0 < batch; b0 += 65535) {
    const int64_t nb = std::min<int64_t>(65535, batch - b0);
    dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(nb));
    if (fast) {
      auto kernel = ta ? (tb ? sgemm_fast<true, true> : sgemm_fast<true, false>) : (tb ? sgemm_fast<false, true> : sgemm_fast<false, false>);
      kernel<<<grid, kGemmThreads, 0, s>>>((int)M, (int)N, (int)K, alpha, A + b0 * sa, lda, sa, B + b0 * sb, ldb, sb, beta, C + b0 * sc, ldc, sc);
      continue;
    }
    sgemm_kernel<<<grid, kGemmThreads, 0, s>>>(ta, tb, (int)M, (int)N, (int)K, alpha, A + b0 * sa, lda, sa, B + b0 * sb, ldb, sb,
                                               beta, C + b0 * sc, ldc, sc);
  }
}

}  // namespace

const char* gemm_backend_name(int) {
  return blas().name.c_str();  // the handle itself is created on first use
}

void gemm(int dev, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, int64_t sa,
          const float* B, int64_t ldb, int64_t sb, float beta, float* C, int64_t ldc, int64_t sc, int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return;
  lda = std::max<int64_t>(lda, 1);
  ldb = std::max<int64_t>(ldb, 1);
  ldc = std::max<int64_t>(ldc, 1);
  cublasHandle h = handle_of(dev);
  const bool fits = M <= kIntMax && N <= kIntMax && K <= kIntMax && lda <= kIntMax && ldb <= kIntMax && ldc <= kIntMax;
  if (!h || !fits || K == 0) {
    our_gemm(dev, ta, tb, M, N, K, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch);
    return;
  }
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: a stored row-major
  // matrix read column-major is its transpose, so swap the operands and keep each one's op.
  const int opa = ta ? kOpT : kOpN, opb = tb ? kOpT : kOpN;
  Cublas& b = blas();
  int rc = 0;
  if (batch == 1) {
    rc = b.sgemm(h, opb, opa, (int)N, (int)M, (int)K, &alpha, B, (int)ldb, A, (int)lda, &beta, C, (int)ldc);
  } else {
    for (int64_t b0 = 0; b0 < batch && rc == 0; b0 += kIntMax) {
      const int64_t nb = std::min<int64_t>(kIntMax, batch - b0);
      rc = b.sgemm_batched(h, opb, opa, (int)N, (int)M, (int)K, &alpha, B + b0 * sb, (int)ldb, sb, A + b0 * sa, (int)lda, sa, &beta,
                           C + b0 * sc, (int)ldc, sc, (int)nb);
    }
  }
  if (rc != 0) {
    // cuBLAS refused (a launch error would have been reported by the runtime instead): our
    // kernel computes this call, and every later one, and the backend name says why.
    {
      std::lock_guard<std::mutex> lock(g_blas_mu);
      b.ok = false;
      b.name = "built-in tiled SGEMM (cublasSgemm returned status " + std::to_string(rc) + ")";
    }
    our_gemm(dev, ta, tb, M, N, K, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch);
  }
}

// matmul: a [..., M, K] (last two dims swapped when trans_a), b [..., K, N] (swapped when
// trans_b), batch dims broadcast; a 1-D a is [1, K] and a 1-D b is [K, 1], the added dim
// dropped from the result (torch.matmul, as the CPU kernel).
void launch_matmul(const Call& c) {
  expect_io(c, 2, 2, 1);
  const Desc &a = c.in[0], &b = c.in[1], &y = c.out[0];
  for (auto* d : {&a, &b, &y}) expect_dtype(c, *d, kF32, d == &y ? "output" : d == &a ? "a" : "b");
  const bool ta = c.flag("trans_a", false), tb = c.flag("trans_b", false);
  if (a.shape.empty() || b.shape.empty())
    fail(kShape, "matmul: both operands need rank >= 1, got " + shape_str(a.shape) + " and " + shape_str(b.shape));
  if (ta && a.rank() == 1) fail(kAttr, "matmul: transA needs a with rank >= 2, got " + shape_str(a.shape));
  if (tb && b.rank() == 1) fail(kAttr, "matmul: transB needs b with rank >= 2, got " + shape_str(b.shape));
  // Stored matrices (rows x cols) and batch dims.
  const int64_t ar = a.rank() == 1 ? 1 : a.shape[a.rank() - 2], ac = a.shape[a.rank() - 1];
  const int64_t br = b.rank() == 1 ? b.shape[0] : b.shape[b.rank() - 2], bc = b.rank() == 1 ? 1 : b.shape[b.rank() - 1];
  std::vector<int64_t> ab(a.shape.begin(), a.shape.end() - std::min<int64_t>(2, a.rank()));
  std::vector<int64_t> bb(b.shape.begin(), b.shape.end() - std::min<int64_t>(2, b.rank()));
  const int64_t M = ta ? ac : ar, K = ta ? ar : ac, Kb = tb ? bc : br, N = tb ? br : bc;
  if (K != Kb)
    fail(kShape, "matmul: inner dims differ: " + shape_str(a.shape) + (ta ? "^T" : "") + " @ " + shape_str(b.shape) +
                     (tb ? "^T" : "") + " has " + std::to_string(K) + " vs " + std::to_string(Kb));
  const size_t nd = std::max(ab.size(), bb.size());
  std::vector<int64_t> batch(nd), sa(nd), sb(nd);
  int64_t na = 1, nb = 1;
  for (int64_t i = static_cast<int64_t>(nd) - 1; i >= 0; i--) {
    const int64_t ia = i - static_cast<int64_t>(nd - ab.size()), ib = i - static_cast<int64_t>(nd - bb.size());
    const int64_t da = ia < 0 ? 1 : ab[ia], db = ib < 0 ? 1 : bb[ib];
    if (da != db && da != 1 && db != 1)
      fail(kShape, "matmul: cannot broadcast batch dims of " + shape_str(a.shape) + " and " + shape_str(b.shape));
    batch[i] = da == 1 ? db : da;
    sa[i] = da == 1 ? 0 : na;
    sb[i] = db == 1 ? 0 : nb;
    na *= da;
    nb *= db;
  }
  std::vector<int64_t> want = batch;
  if (a.rank() > 1) want.push_back(M);
  if (b.rank() > 1) want.push_back(N);
  expect_shape(c, y, want, "output");
  int64_t nbatch = 1;
  for (auto d : batch) nbatch *= d;
  if (nbatch == 0 || M == 0 || N == 0) return;
  const int64_t amat = ar * ac, bmat = br * bc;
  const float *pa = a.f(), *pb = b.f();
  float* py = y.fw();
  if (nb == 1 && !ta && na == nbatch) {  // b shared, a's batches contiguous: one tall GEMM
    gemm(c.dev, false, tb, nbatch * M, N, K, 1.0f, pa, ac, 0, pb, bc, 0, 0.0f, py, N, 0, 1);
  } else if ((na == nbatch || na == 1) && (nb == nbatch || nb == 1)) {  // one strided batched GEMM
    gemm(c.dev, ta, tb, M, N, K, 1.0f, pa, ac, na == 1 ? 0 : amat, pb, bc, nb == 1 ? 0 : bmat, 0.0f, py, N, M * N, nbatch);
  } else {  // batch dims broadcast both ways: one GEMM per batch
    for (int64_t bi = 0; bi < nbatch; bi++) {
      int64_t rem = bi, oa = 0, ob = 0;
      for (int64_t d = static_cast<int64_t>(nd) - 1; d >= 0; d--) {
        const int64_t k = rem % batch[d];
        rem /= batch[d];
        oa += k * sa[d];
        ob += k * sb[d];
      }
      gemm(c.dev, ta, tb, M, N, K, 1.0f, pa + oa * amat, ac, 0, pb + ob * bmat, bc, 0, 0.0f, py + bi * M * N, N, 0, 1);
    }
  }
}

}  // namespace ravdl_cuda

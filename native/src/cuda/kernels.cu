// The first CUDA kernels: tiled SGEMM (with transposes), broadcasting binary and unary
// elementwise ops, sum over any axes, softmax along any axis. Each host launcher checks the
// call as the CPU kernel does (shapes, attributes) before it launches anything; results match
// the CPU kernels' definitions (NaN propagation of maximum/minimum/relu included), which
// native/tests/test_cuda.cpp checks op by op.
#include <algorithm>
#include <cmath>

#include "common.cuh"

namespace ravdl_cuda {
namespace {

constexpr int kMaxDims = RAVDL_CUDA_MAX_DIMS;

void expect(const Call& c, size_t n_in, size_t n_out) {
  if (c.in.size() != n_in || c.out.size() != n_out)
    fail(kArg, c.op + ": expected " + std::to_string(n_in) + " inputs and " + std::to_string(n_out) + " outputs");
}

int64_t norm_axis(const Call& c, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= (rank == 0 ? 1 : rank))
    fail(kIndex, c.op + ": axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return a;
}

unsigned blocks_for(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65535 * 8 ? 65535 * 8 : b));
}

// ---------------- SGEMM ----------------
// C[M,N] = op(A) op(B). Block tile 128x128, k-step 8, 256 threads each computing 8x8 outputs
// spread with a stride of 16 rows/columns (conflict-free shared-memory reads, coalesced writes).
constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8;
constexpr int kGemmThreads = (BM / TM) * (BN / TN);

__global__ void __launch_bounds__(kGemmThreads) sgemm_kernel(bool ta, bool tb, int M, int N, int K, const float* __restrict__ A,
                                                             int64_t lda, const float* __restrict__ B, int64_t ldb,
                                                             float* __restrict__ C, int64_t ldc) {
  __shared__ float As[BK][BM];
  __shared__ float Bs[BK][BN];
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
      int gm = m0 + mm, gk = k0 + kk;
      float v = 0.0f;
      if (gm < M && gk < K) v = ta ? A[gk * lda + gm] : A[gm * lda + gk];
      As[kk][mm] = v;
    }
#pragma unroll
    for (int i = tid; i < BK * BN; i += kGemmThreads) {
      int kk, nn;
      if (!tb) { kk = i / BN; nn = i % BN; } else { nn = i / BK; kk = i % BK; }
      int gk = k0 + kk, gn = n0 + nn;
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
    int m = m0 + ty + i * (BM / TM);
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < TN; j++) {
      int n = n0 + tx + j * (BN / TN);
      if (n < N) C[m * ldc + n] = acc[i][j];
    }
  }
}

// ---------------- elementwise ----------------
struct Strides {
  int ndim;
  int64_t dims[kMaxDims];  // of the output
  int64_t a[kMaxDims];     // element strides of each input (0 along broadcast dims)
  int64_t b[kMaxDims];
};

enum BinOp { kAdd, kSub, kMul, kDiv, kMax, kMin };

__device__ __forceinline__ float bin(int op, float a, float b) {
  switch (op) {
    case kAdd: return a + b;
    case kSub: return a - b;
    case kMul: return a * b;
    case kDiv: return a / b;
    case kMax: return (a > b || a != a) ? a : b;  // NaN from either side propagates (torch.maximum)
    default: return (a < b || a != a) ? a : b;
  }
}

__global__ void binary_same(int op, int64_t n, const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = bin(op, a[i], b[i]);
}

__global__ void binary_bcast(int op, int64_t n, Strides s, const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t rest = i, oa = 0, ob = 0;
    for (int d = s.ndim - 1; d >= 0; d--) {
      int64_t k = rest % s.dims[d];
      rest /= s.dims[d];
      oa += k * s.a[d];
      ob += k * s.b[d];
    }
    y[i] = bin(op, a[oa], b[ob]);
  }
}

enum UnOp { kRelu, kExp, kLog, kTanh, kSigmoid, kNeg, kSqrt, kAbs };

__global__ void unary_kernel(int op, int64_t n, const float* x, float* y) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float v = x[i], r;
    switch (op) {
      case kRelu: r = v > 0.0f ? v : (v != v ? v : 0.0f); break;
      case kExp: r = expf(v); break;
      case kLog: r = logf(v); break;
      case kTanh: r = tanhf(v); break;
      case kSigmoid: r = 1.0f / (1.0f + expf(-v)); break;
      case kNeg: r = -v; break;
      case kSqrt: r = sqrtf(v); break;
      default: r = fabsf(v); break;
    }
    y[i] = r;
  }
}

// ---------------- sum ----------------
// Output o and reduced index r map to input offsets through the kept and the reduced dims.
// Pass 1: block (o, s) sums a slice of o's reduced elements into partials[o * splits + s] in
// double; pass 2 adds each output's partials in a fixed order: deterministic, no atomics.
struct ReduceMap {
  int nk, nr;
  int64_t kdims[kMaxDims], kstrides[kMaxDims];
  int64_t rdims[kMaxDims], rstrides[kMaxDims];
};

constexpr int kReduceThreads = 256;

__device__ __forceinline__ double block_sum(double v) {
  __shared__ double warp_sums[kReduceThreads / 32];
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  v = threadIdx.x < blockDim.x / 32 ? warp_sums[threadIdx.x] : 0.0;
  if (warp == 0)
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  __syncthreads();
  return v;  // valid in thread 0
}

__global__ void sum_partial(ReduceMap m, int64_t R, int splits, const float* __restrict__ x, double* __restrict__ partials) {
  const int64_t o = blockIdx.x;
  const int s = blockIdx.y;
  int64_t base = 0, rest = o;
  for (int d = m.nk - 1; d >= 0; d--) {
    base += (rest % m.kdims[d]) * m.kstrides[d];
    rest /= m.kdims[d];
  }
  const int64_t chunk = (R + splits - 1) / splits, r0 = s * chunk, r1 = r0 + chunk < R ? r0 + chunk : R;
  double acc = 0.0;
  for (int64_t r = r0 + threadIdx.x; r < r1; r += blockDim.x) {
    int64_t off = base, q = r;
    for (int d = m.nr - 1; d >= 0; d--) {
      off += (q % m.rdims[d]) * m.rstrides[d];
      q /= m.rdims[d];
    }
    acc += x[off];
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partials[o * splits + s] = acc;
}

__global__ void sum_final(int64_t n_out, int splits, const double* __restrict__ partials, float* __restrict__ y) {
  for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < n_out; o += (int64_t)gridDim.x * blockDim.x) {
    double acc = 0.0;
    for (int s = 0; s < splits; s++) acc += partials[o * splits + s];
    y[o] = static_cast<float>(acc);
  }
}

// ---------------- softmax ----------------
// x viewed as [outer, n, inner] with the axis in the middle.
constexpr int kSoftmaxThreads = 256;

__device__ __forceinline__ float block_reduce_max(float v) {
  __shared__ float buf[kSoftmaxThreads / 32];
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, off));
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) buf[warp] = v;
  __syncthreads();
  v = threadIdx.x < blockDim.x / 32 ? buf[threadIdx.x] : -INFINITY;
  if (warp == 0)
    for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, off));
  if (threadIdx.x == 0) buf[0] = v;
  __syncthreads();
  v = buf[0];
  __syncthreads();
  return v;  // in every thread
}

__device__ __forceinline__ float block_reduce_sum(float v) {
  __shared__ float buf[kSoftmaxThreads / 32];
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) buf[warp] = v;
  __syncthreads();
  v = threadIdx.x < blockDim.x / 32 ? buf[threadIdx.x] : 0.0f;
  if (warp == 0)
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  if (threadIdx.x == 0) buf[0] = v;
  __syncthreads();
  v = buf[0];
  __syncthreads();
  return v;
}

// The last axis: one block per row.
__global__ void softmax_rows(int64_t n, const float* __restrict__ x, float* __restrict__ y) {
  const float* xr = x + blockIdx.x * n;
  float* yr = y + blockIdx.x * n;
  float m = -INFINITY;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, xr[i]);
  m = block_reduce_max(m);
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += expf(xr[i] - m);
  s = block_reduce_sum(s);
  const float inv = 1.0f / s;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = expf(xr[i] - m) * inv;
}

// An inner axis: one thread per (outer, inner) column (coalesced along inner).
__global__ void softmax_cols(int64_t outer, int64_t n, int64_t inner, const float* __restrict__ x, float* __restrict__ y) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < outer * inner; c += (int64_t)gridDim.x * blockDim.x) {
    const int64_t o = c / inner, i = c % inner, base = o * n * inner + i;
    float m = -INFINITY;
    for (int64_t k = 0; k < n; k++) m = fmaxf(m, x[base + k * inner]);
    float s = 0.0f;
    for (int64_t k = 0; k < n; k++) s += expf(x[base + k * inner] - m);
    const float inv = 1.0f / s;
    for (int64_t k = 0; k < n; k++) y[base + k * inner] = expf(x[base + k * inner] - m) * inv;
  }
}

}  // namespace

void launch_matmul(const Call& c) {
  expect(c, 2, 1);
  const Desc &a = c.in[0], &b = c.in[1], &y = c.out[0];
  const bool ta = c.num("trans_a", 0) != 0, tb = c.num("trans_b", 0) != 0;
  if (a.shape.size() != 2 || b.shape.size() != 2 || y.shape.size() != 2)
    fail(kShape, "matmul: 2-d operands only, got " + shape_str(a.shape) + ", " + shape_str(b.shape));
  const int64_t M = ta ? a.shape[1] : a.shape[0], K = ta ? a.shape[0] : a.shape[1];
  const int64_t Kb = tb ? b.shape[1] : b.shape[0], N = tb ? b.shape[0] : b.shape[1];
  if (K != Kb || y.shape[0] != M || y.shape[1] != N)
    fail(kShape, "matmul: " + shape_str(a.shape) + (ta ? "^T" : "") + " x " + shape_str(b.shape) + (tb ? "^T" : "") +
                     " does not give " + shape_str(y.shape));
  if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) fail(kShape, "matmul: dimensions above 2^31 on cuda");
  if (M == 0 || N == 0) return;
  cudaStream_t s = stream_of(c.dev);
  if (K == 0) {
    check_cuda(cudaMemsetAsync(y.data, 0, M * N * sizeof(float), s), "cudaMemsetAsync");
    return;
  }
  dim3 grid(static_cast<unsigned>((N + BN - 1) / BN), static_cast<unsigned>((M + BM - 1) / BM));
  if (grid.y > 65535) fail(kShape, "matmul: M too large for one launch on cuda");
  sgemm_kernel<<<grid, kGemmThreads, 0, s>>>(ta, tb, (int)M, (int)N, (int)K, static_cast<const float*>(a.data), a.shape[1],
                                             static_cast<const float*>(b.data), b.shape[1], static_cast<float*>(y.data), N);
}

void launch_binary(const Call& c) {
  expect(c, 2, 1);
  const Desc &a = c.in[0], &b = c.in[1], &y = c.out[0];
  // NumPy broadcasting, right-aligned.
  const size_t nd = a.shape.size() > b.shape.size() ? a.shape.size() : b.shape.size();
  std::vector<int64_t> out(nd);
  for (size_t i = 0; i < nd; i++) {
    int64_t da = i < nd - a.shape.size() ? 1 : a.shape[i - (nd - a.shape.size())];
    int64_t db = i < nd - b.shape.size() ? 1 : b.shape[i - (nd - b.shape.size())];
    if (da != db && da != 1 && db != 1) fail(kShape, c.op + ": cannot broadcast " + shape_str(a.shape) + " with " + shape_str(b.shape));
    out[i] = da == 1 ? db : da;
  }
  if (out != y.shape) fail(kShape, c.op + ": output must have shape " + shape_str(out) + ", got " + shape_str(y.shape));
  const int op = c.op == "add" ? kAdd : c.op == "sub" ? kSub : c.op == "mul" ? kMul : c.op == "div" ? kDiv : c.op == "maximum" ? kMax : kMin;
  const int64_t n = y.numel();
  if (n == 0) return;
  cudaStream_t s = stream_of(c.dev);
  auto pa = static_cast<const float*>(a.data), pb = static_cast<const float*>(b.data);
  auto py = static_cast<float*>(y.data);
  if (a.shape == y.shape && b.shape == y.shape) {
    binary_same<<<blocks_for(n, 256), 256, 0, s>>>(op, n, pa, pb, py);
    return;
  }
  Strides st{};
  st.ndim = static_cast<int>(nd);
  int64_t sa = 1, sb = 1;
  for (int i = static_cast<int>(nd) - 1; i >= 0; i--) {
    int ia = i - static_cast<int>(nd - a.shape.size()), ib = i - static_cast<int>(nd - b.shape.size());
    int64_t da = ia < 0 ? 1 : a.shape[ia], db = ib < 0 ? 1 : b.shape[ib];
    st.dims[i] = out[i];
    st.a[i] = da == 1 ? 0 : sa;
    st.b[i] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
  binary_bcast<<<blocks_for(n, 256), 256, 0, s>>>(op, n, st, pa, pb, py);
}

void launch_unary(const Call& c) {
  expect(c, 1, 1);
  if (c.in[0].shape != c.out[0].shape) fail(kShape, c.op + ": output must have the input's shape");
  const std::string& o = c.op;
  const int op = o == "relu" ? kRelu : o == "exp" ? kExp : o == "log" ? kLog : o == "tanh" ? kTanh : o == "sigmoid" ? kSigmoid
               : o == "neg" ? kNeg : o == "sqrt" ? kSqrt : kAbs;
  const int64_t n = c.in[0].numel();
  if (n == 0) return;
  unary_kernel<<<blocks_for(n, 256), 256, 0, stream_of(c.dev)>>>(op, n, static_cast<const float*>(c.in[0].data),
                                                                 static_cast<float*>(c.out[0].data));
}

void launch_sum(const Call& c) {
  expect(c, 1, 1);
  const Desc &x = c.in[0], &y = c.out[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const bool keep = c.num("keepdims", 0) != 0;
  bool reduced[kMaxDims] = {false};
  auto axes = c.ints("axes");
  if (axes.empty())
    for (int64_t d = 0; d < rank; d++) reduced[d] = true;
  for (auto ax : axes) {
    int64_t a = ax < 0 ? ax + rank : ax;
    if (a < 0 || a >= rank) fail(kIndex, "sum: axis " + std::to_string(ax) + " is out of range for rank " + std::to_string(rank));
    if (reduced[a]) fail(kIndex, "sum: axis " + std::to_string(ax) + " is repeated");
    reduced[a] = true;
  }
  std::vector<int64_t> want;
  ReduceMap m{};
  int64_t stride = 1, R = 1;
  for (int64_t d = rank - 1; d >= 0; d--) {
    if (reduced[d]) {
      m.rdims[m.nr] = x.shape[d];
      m.rstrides[m.nr++] = stride;
      R *= x.shape[d];
    } else {
      m.kdims[m.nk] = x.shape[d];
      m.kstrides[m.nk++] = stride;
    }
    stride *= x.shape[d];
  }
  // Collected innermost-first: reverse to outermost-first as the kernels decompose.
  std::reverse(m.rdims, m.rdims + m.nr);
  std::reverse(m.rstrides, m.rstrides + m.nr);
  std::reverse(m.kdims, m.kdims + m.nk);
  std::reverse(m.kstrides, m.kstrides + m.nk);
  for (int64_t d = 0; d < rank; d++)
    if (!reduced[d]) want.push_back(x.shape[d]);
    else if (keep) want.push_back(1);
  if (want != y.shape) fail(kShape, "sum: output must have shape " + shape_str(want) + ", got " + shape_str(y.shape));
  const int64_t n_out = y.numel();
  if (n_out == 0) return;
  cudaStream_t s = stream_of(c.dev);
  if (n_out > 65535LL * 65535LL) fail(kShape, "sum: too many outputs for one launch on cuda");
  // Enough blocks to fill the GPU when there are few outputs; about 4096 elements per block.
  int64_t splits = (R + 4095) / 4096;
  const int64_t max_blocks = 1 << 16;
  if (splits * n_out > max_blocks) splits = max_blocks / n_out > 1 ? max_blocks / n_out : 1;
  if (splits > 65535) splits = 65535;
  if (splits < 1) splits = 1;
  double* partials = static_cast<double*>(device_alloc(c.dev, static_cast<size_t>(n_out * splits) * sizeof(double)));
  if (n_out > 2147483647LL) fail(kShape, "sum: too many outputs for one launch on cuda");
  sum_partial<<<dim3(static_cast<unsigned>(n_out), static_cast<unsigned>(splits)), kReduceThreads, 0, s>>>(
      m, R, static_cast<int>(splits), static_cast<const float*>(x.data), partials);
  sum_final<<<blocks_for(n_out, 256), 256, 0, s>>>(n_out, static_cast<int>(splits), partials, static_cast<float*>(y.data));
  device_release(c.dev, partials);  // stream-ordered: a later user of the block runs after these kernels
}

void launch_softmax(const Call& c) {
  expect(c, 1, 1);
  const Desc &x = c.in[0], &y = c.out[0];
  if (x.shape != y.shape) fail(kShape, "softmax: output must have the input's shape");
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const int64_t axis = norm_axis(c, static_cast<int64_t>(c.num("axis", -1)), rank);
  int64_t outer = 1, inner = 1, n = rank == 0 ? 1 : x.shape[axis];
  for (int64_t d = 0; d < axis; d++) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < rank; d++) inner *= x.shape[d];
  if (outer * n * inner == 0) return;
  cudaStream_t s = stream_of(c.dev);
  auto px = static_cast<const float*>(x.data);
  auto py = static_cast<float*>(y.data);
  if (inner == 1) {
    if (outer > 2147483647LL) fail(kShape, "softmax: too many rows for one launch on cuda");
    softmax_rows<<<static_cast<unsigned>(outer), kSoftmaxThreads, 0, s>>>(n, px, py);
  } else {
    softmax_cols<<<blocks_for(outer * inner, 256), 256, 0, s>>>(outer, n, inner, px, py);
  }
}

}  // namespace ravdl_cuda

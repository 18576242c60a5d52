// Reductions over any set of axes (sum, mean, max, min, prod, variance, std), sum_to (the
// gradient of broadcasting) and argmax / argmin, with the CPU kernels' rules (reduce.h):
// accumulation in double, empty sums 0, empty products 1, empty mean/var/std NaN, empty
// max/min ERR_SHAPE, NaN propagating through max/min, var/std dividing by max(0, n - correction).
//
// Deterministic: block (o, s) reduces slice s of output o's elements into partials[o][s]; a
// second kernel combines each output's partials in a fixed order. No atomics.
#include <algorithm>
#include <cmath>

#include "common.cuh"

namespace ravdl_cuda {
namespace {

constexpr int kMaxDims = RAVDL_CUDA_MAX_DIMS;
constexpr int kReduceThreads = 256;

enum Kind { kSum, kMean, kMax, kMin, kProd, kVar, kStd };

// Output o and reduced index r map to input offsets through the kept and the reduced dims
// (outermost first).
struct ReduceMap {
  int nk, nr;
  int64_t kdims[kMaxDims], kstrides[kMaxDims];
  int64_t rdims[kMaxDims], rstrides[kMaxDims];
};

__device__ __forceinline__ int64_t kept_base(const ReduceMap& m, int64_t o) {
  int64_t base = 0;
  for (int d = m.nk - 1; d >= 0; d--) {
    base += (o % m.kdims[d]) * m.kstrides[d];
    o /= m.kdims[d];
  }
  return base;
}
__device__ __forceinline__ int64_t reduced_offset(const ReduceMap& m, int64_t r) {
  int64_t off = 0;
  for (int d = m.nr - 1; d >= 0; d--) {
    off += (r % m.rdims[d]) * m.rstrides[d];
    r /= m.rdims[d];
  }
  return off;
}

// Combining two partial values: sums (sum, mean, var's two sums), product, max, min. NaN
// propagates through max and min.
__device__ __forceinline__ double combine(int kind, double a, double b) {
  switch (kind) {
    case kProd: return a * b;
    case kMax: return (a != a || b != b) ? NAN : (a > b ? a : b);
    case kMin: return (a != a || b != b) ? NAN : (a < b ? a : b);
    default: return a + b;
  }
}
__device__ __forceinline__ double identity(int kind) {
  return kind == kProd ? 1.0 : kind == kMax ? -INFINITY : kind == kMin ? INFINITY : 0.0;
}

// A block-wide combine in a fixed tree order; the result is valid in thread 0.
__device__ double block_combine(int kind, double v) {
  __shared__ double buf[kReduceThreads];
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int half = kReduceThreads / 2; half > 0; half >>= 1) {
    if (threadIdx.x < half) buf[threadIdx.x] = combine(kind, buf[threadIdx.x], buf[threadIdx.x + half]);
    __syncthreads();
  }
  const double out = buf[0];
  __syncthreads();
  return out;
}

// partials[(o * splits + s) * 2 + {0, 1}]: the partial value, and for var/std the partial sum
// of squares (both of x - shift, shift = the first element of o's slice, against cancellation).
__global__ void __launch_bounds__(kReduceThreads) reduce_partial(int kind, ReduceMap m, int64_t R, int64_t splits, int64_t n_out,
                                                                  const float* __restrict__ x, double* __restrict__ partials) {
  const int64_t total = n_out * splits;
  for (int64_t job = blockIdx.x; job < total; job += gridDim.x) {
    const int64_t o = job / splits, s = job % splits;
    const int64_t base = kept_base(m, o);
    const int64_t chunk = (R + splits - 1) / splits, r0 = s * chunk, r1 = min(r0 + chunk, R);
    const bool var = kind == kVar || kind == kStd;
    const double shift = var && R > 0 ? static_cast<double>(x[base]) : 0.0;
    const int ck = var ? kSum : (kind == kMean ? kSum : kind);
    double acc = identity(ck), acc2 = 0.0;
    for (int64_t r = r0 + threadIdx.x; r < r1; r += blockDim.x) {
      const double v = static_cast<double>(x[base + reduced_offset(m, r)]) - shift;
      acc = combine(ck, acc, v);
      acc2 += v * v;
    }
    acc = block_combine(ck, acc);
    if (var) acc2 = block_combine(kSum, acc2);
    if (threadIdx.x == 0) {
      partials[job * 2] = acc;
      partials[job * 2 + 1] = acc2;
    }
  }
}

__global__ void reduce_final(int kind, int64_t n_out, int64_t splits, int64_t R, double correction, const double* __restrict__ partials,
                             float* __restrict__ y) {
  RAVDL_GRID_STRIDE(o, n_out) {
    const bool var = kind == kVar || kind == kStd;
    const int ck = var || kind == kMean ? kSum : kind;
    double a = identity(ck), a2 = 0.0;
    for (int64_t s = 0; s < splits; s++) {
      a = combine(ck, a, partials[(o * splits + s) * 2]);
      a2 += partials[(o * splits + s) * 2 + 1];
    }
    double out = a;
    const double n = static_cast<double>(R);
    if (kind == kMean) out = a / n;  // 0 / 0 = NaN for an empty mean
    if (var) {
      const double denom = fmax(0.0, n - correction);
      double ss = a2 - a * a / n;
      if (ss < 0) ss = 0;  // rounding
      out = ss / denom;
      if (R == 0) out = NAN;
      if (kind == kStd) out = sqrt(out);
    }
    y[o] = static_cast<float>(out);
  }
}

// argmax / argmin: (value, index) pairs; NaN beats everything, then the larger (smaller)
// value, then the lower index: a total order, so any tree gives the same answer.
__device__ __forceinline__ bool better(bool is_max, float a, int64_t ia, float b, int64_t ib) {
  const bool an = a != a, bn = b != b;
  if (an || bn) return an && (!bn || ia < ib);
  if (a != b) return is_max ? a > b : a < b;
  return ia < ib;
}

__global__ void __launch_bounds__(kReduceThreads) argreduce_kernel(bool is_max, int64_t outer, int64_t n, int64_t inner,
                                                                    const float* __restrict__ x, int32_t* __restrict__ y) {
  __shared__ float bv[kReduceThreads];
  __shared__ int64_t bi[kReduceThreads];
  for (int64_t o = blockIdx.x; o < outer * inner; o += gridDim.x) {
    const int64_t base = (o / inner) * n * inner + o % inner;
    float v = 0.0f;
    int64_t idx = -1;
    for (int64_t k = threadIdx.x; k < n; k += blockDim.x) {
      const float xv = x[base + k * inner];
      if (idx < 0 || better(is_max, xv, k, v, idx)) {
        v = xv;
        idx = k;
      }
    }
    bv[threadIdx.x] = v;
    bi[threadIdx.x] = idx;
    __syncthreads();
    for (int half = kReduceThreads / 2; half > 0; half >>= 1) {
      if (threadIdx.x < half) {
        const int64_t j = bi[threadIdx.x + half];
        if (j >= 0 && (bi[threadIdx.x] < 0 || better(is_max, bv[threadIdx.x + half], j, bv[threadIdx.x], bi[threadIdx.x]))) {
          bv[threadIdx.x] = bv[threadIdx.x + half];
          bi[threadIdx.x] = j;
        }
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) y[o] = static_cast<int32_t>(bi[0]);
    __syncthreads();
  }
}

void run_reduce(const Call& c, int kind, const Desc& x, const Desc& y, const bool* reduced, double correction) {
  const int64_t rank = x.rank();
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
  const int64_t n_out = y.numel();
  if (n_out == 0) return;
  if (R == 0 && (kind == kMax || kind == kMin))
    fail(kShape, c.op + ": cannot reduce an empty set of elements, x is " + shape_str(x.shape));
  cudaStream_t s = stream_of(c.dev);
  // Enough blocks to fill the GPU when there are few outputs; about 4096 elements per block.
  int64_t splits = (R + 4095) / 4096;
  const int64_t target = 1 << 14;
  if (splits * n_out > target) splits = std::max<int64_t>(1, target / n_out);
  splits = std::max<int64_t>(1, splits);
  Scratch partials(c.dev, static_cast<size_t>(n_out * splits) * 2 * sizeof(double));
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(n_out * splits, 65536));
  reduce_partial<<<blocks, kReduceThreads, 0, s>>>(kind, m, R, splits, n_out, x.f(), partials.as<double>());
  reduce_final<<<grid_for(n_out), kThreads, 0, s>>>(kind, n_out, splits, R, correction, partials.as<double>(), y.fw());
}

}  // namespace

// sum / mean / max / min / prod / variance / std: attrs axis (list; absent = all axes; the
// older name `axes` is accepted too), keepdims, correction (variance, std; default 1).
// sum_to: reduces x to the output's shape (which must broadcast to x's shape).
void launch_reduce(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &x = c.in[0], &y = c.out[0];
  expect_dtype(c, x, kF32, "x");
  expect_dtype(c, y, kF32, "output");
  const int64_t rank = x.rank();
  if (rank > kMaxDims) fail(kShape, c.op + ": at most 8 dimensions on cuda");
  bool reduced[kMaxDims] = {false};
  if (c.op == "sum_to") {
    const int64_t yr = y.rank();
    bool ok = yr <= rank;
    for (int64_t d = 0; ok && d < rank; d++) {
      const int64_t yd = d - (rank - yr);
      const int64_t ys = yd < 0 ? 1 : y.shape[yd];
      if (ys != x.shape[d] && ys != 1) ok = false;
      reduced[d] = ys == 1 && x.shape[d] != 1;
    }
    if (!ok) fail(kShape, "sum_to: shape " + shape_str(y.shape) + " does not broadcast to the input's " + shape_str(x.shape));
    run_reduce(c, kSum, x, y, reduced, 0);
    return;
  }
  static const std::pair<const char*, int> kinds[] = {{"sum", kSum}, {"mean", kMean}, {"max", kMax}, {"min", kMin},
                                                      {"prod", kProd}, {"variance", kVar}, {"std", kStd}};
  int kind = -1;
  for (auto& [name, k] : kinds)
    if (c.op == name) kind = k;
  if (kind < 0) fail(kDevice, c.op + ": no kernel for device 'cuda'");
  const bool keep = c.flag("keepdims", false);
  const char* axis_name = c.has("axis") ? "axis" : "axes";
  auto axes = c.ints(axis_name);
  if (!c.has(axis_name))  // absent, null or [] (the CPU kernel's rule): every axis
    for (int64_t d = 0; d < rank; d++) reduced[d] = true;
  for (auto ax : axes) {
    const int64_t a = ax < 0 ? ax + rank : ax;
    if (a < 0 || a >= rank) fail(kIndex, c.op + ": axis " + std::to_string(ax) + " is out of range for rank " + std::to_string(rank));
    if (reduced[a]) fail(kIndex, c.op + ": axis " + std::to_string(ax) + " is repeated");
    reduced[a] = true;
  }
  std::vector<int64_t> want;
  for (int64_t d = 0; d < rank; d++)
    if (!reduced[d]) want.push_back(x.shape[d]);
    else if (keep) want.push_back(1);
  expect_shape(c, y, want, "output");
  const double correction = c.num("correction", 1.0);
  if ((kind == kVar || kind == kStd) && !(correction >= 0)) fail(kAttr, c.op + ": correction must be >= 0");
  run_reduce(c, kind, x, y, reduced, correction);
}

// argmax / argmin: attr axis (absent: the flattened tensor), keepdims; int32 output.
void launch_argreduce(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &x = c.in[0], &y = c.out[0];
  expect_dtype(c, x, kF32, "x");
  expect_dtype(c, y, kI32, "output");
  const int64_t rank = x.rank();
  const bool keep = c.flag("keepdims", false);
  int64_t outer = 1, n = 1, inner = 1;
  std::vector<int64_t> want;
  if (!c.has("axis")) {
    n = x.numel();
    if (keep) want.assign(static_cast<size_t>(rank), 1);
  } else {
    const int64_t ax = c.integer("axis", 0);
    const int64_t a = ax < 0 ? ax + std::max<int64_t>(rank, 1) : ax;
    if (a < 0 || a >= std::max<int64_t>(rank, 1))
      fail(kIndex, c.op + ": axis " + std::to_string(ax) + " is out of range for rank " + std::to_string(rank));
    for (int64_t d = 0; d < rank; d++) {
      if (d < a) outer *= x.shape[d];
      else if (d > a) inner *= x.shape[d];
      if (d != a) want.push_back(x.shape[d]);
      else if (keep) want.push_back(1);
    }
    n = rank == 0 ? 1 : x.shape[a];
  }
  expect_shape(c, y, want, "output");
  if (n == 0) fail(kShape, c.op + ": cannot reduce an empty set of elements, x is " + shape_str(x.shape));
  if (n > 2147483647LL) fail(kShape, c.op + ": the reduced length must fit int32");
  const int64_t n_out = outer * inner;
  if (n_out == 0) return;
  argreduce_kernel<<<static_cast<unsigned>(std::min<int64_t>(n_out, 65536)), kReduceThreads, 0, stream_of(c.dev)>>>(
      c.op == "argmax", outer, n, inner, x.f(), y.iw());
}

}  // namespace ravdl_cuda

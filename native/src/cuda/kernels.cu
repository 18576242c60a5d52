// Elementwise and softmax kernels: broadcasting binary ops (arithmetic, maximum/minimum,
// comparisons), the hot-path unary ops and their backward ops, softmax / log_softmax along
// any axis and their backward ops. Each host launcher checks the call as the CPU kernel does
// (shapes, attributes) before it launches anything; results follow the CPU kernels'
// definitions (NaN propagation of maximum/minimum/relu included).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "common.cuh"

namespace ravdl_cuda {
namespace {

constexpr int kMaxDims = RAVDL_CUDA_MAX_DIMS;

int64_t norm_axis(const Call& c, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + (rank == 0 ? 1 : rank) : axis;
  if (a < 0 || a >= (rank == 0 ? 1 : rank))
    fail(kIndex, c.op + ": axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return a;
}

// ---------------- binary ----------------
struct Strides {
  int ndim;
  int64_t dims[kMaxDims];  // of the output
  int64_t a[kMaxDims];     // element strides of each input (0 along broadcast dims)
  int64_t b[kMaxDims];
};

enum BinOp { kAdd, kSub, kMul, kDiv, kPow, kMax, kMin, kEq, kNe, kLt, kLe, kGt, kGe };

__device__ __forceinline__ float bin(int op, float a, float b) {
  switch (op) {
    case kAdd: return a + b;
    case kSub: return a - b;
    case kMul: return a * b;
    case kDiv: return a / b;
    case kPow: return powf(a, b);
    case kMax: return (a > b || a != a) ? a : b;  // NaN from either side propagates (torch.maximum)
    case kMin: return (a < b || a != a) ? a : b;
    case kEq: return a == b ? 1.0f : 0.0f;
    case kNe: return a != b ? 1.0f : 0.0f;
    case kLt: return a < b ? 1.0f : 0.0f;
    case kLe: return a <= b ? 1.0f : 0.0f;
    case kGt: return a > b ? 1.0f : 0.0f;
    default: return a >= b ? 1.0f : 0.0f;
  }
}

__global__ void binary_same(int op, int64_t n, const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(i, n) y[i] = bin(op, a[i], b[i]);
}

__global__ void binary_bcast(int op, int64_t n, Strides s, const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(i, n) {
    int64_t rest = i, oa = 0, ob = 0;
    for (int d = s.ndim - 1; d >= 0; d--) {
      const int64_t k = rest % s.dims[d];
      rest /= s.dims[d];
      oa += k * s.a[d];
      ob += k * s.b[d];
    }
    y[i] = bin(op, a[oa], b[ob]);
  }
}

// ---------------- unary ----------------
enum UnOp { kRelu, kExp, kLog, kTanh, kSigmoid, kNeg, kSqrt, kAbs, kSign, kLeakyRelu };

__global__ void unary_kernel(int op, int64_t n, float p, const float* __restrict__ x, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(i, n) {
    const float v = x[i];
    float r;
    switch (op) {
      case kRelu: r = v > 0.0f ? v : (v != v ? v : 0.0f); break;
      case kExp: r = expf(v); break;
      case kLog: r = logf(v); break;
      case kTanh: r = tanhf(v); break;
      case kSigmoid: r = 1.0f / (1.0f + expf(-v)); break;
      case kNeg: r = -v; break;
      case kSqrt: r = sqrtf(v); break;
      case kAbs: r = fabsf(v); break;
      case kSign: r = static_cast<float>((v > 0.0f) - (v < 0.0f)); break;  // sign(NaN) = 0, like the CPU
      default: r = v > 0.0f ? v : __fmul_rn(v, p); break;
    }
    y[i] = r;
  }
}

// Backward ops: (saved, dy) -> dx with saved = x or y as the catalog says. Every operation
// rounds separately (no fused multiply-add), as the CPU's, so the results match it exactly.
__global__ void unary_backward_kernel(int op, int64_t n, float p, const float* __restrict__ s, const float* __restrict__ g,
                                      float* __restrict__ gx) {
  RAVDL_GRID_STRIDE(i, n) {
    const float v = s[i], gi = g[i];
    float r;
    switch (op) {
      case kRelu: r = v > 0.0f ? gi : 0.0f; break;                                  // s = x
      case kExp: r = __fmul_rn(gi, v); break;                                       // s = y
      case kTanh: r = __fmul_rn(gi, __fsub_rn(1.0f, __fmul_rn(v, v))); break;       // s = y
      case kSigmoid: r = __fmul_rn(__fmul_rn(gi, v), __fsub_rn(1.0f, v)); break;   // s = y
      case kNeg: r = -gi; break;
      case kSqrt: r = __fdiv_rn(gi, __fmul_rn(2.0f, v)); break;                     // s = y
      case kLog: r = __fdiv_rn(gi, v); break;                                       // s = x
      case kAbs: r = v > 0.0f ? gi : (v < 0.0f ? -gi : 0.0f); break;                // s = x
      default: r = v > 0.0f ? gi : __fmul_rn(gi, p); break;                         // leaky_relu, s = x
    }
    gx[i] = r;
  }
}

struct UnaryName {
  const char* name;
  int op;
};
// Catalog names (natlog and square_root are the catalog's log and sqrt).
const UnaryName kUnary[] = {{"relu", kRelu}, {"exp", kExp}, {"natlog", kLog}, {"tanh", kTanh}, {"sigmoid", kSigmoid},
                            {"neg", kNeg}, {"square_root", kSqrt}, {"abs", kAbs}, {"sign", kSign}, {"leaky_relu", kLeakyRelu}};

int unary_code(const std::string& name) {
  for (auto& u : kUnary)
    if (name == u.name) return u.op;
  fail(kDevice, name + ": no kernel for device 'cuda'");
}

// ---------------- softmax ----------------
// x viewed as [outer, n, inner] with the axis in the middle.
constexpr int kSoftmaxThreads = 256;

__device__ __forceinline__ float block_reduce_max(float v) {
  __shared__ float buf[kSoftmaxThreads / 32];
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, off));
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
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
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
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

// The last axis: one block per row (grid-stride over rows). fmaxf drops NaN from the max, but
// a NaN in the row still makes its sum, hence every output of the row, NaN.
__global__ void softmax_rows(bool log, int64_t rows, int64_t n, const float* __restrict__ x, float* __restrict__ y) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* xr = x + row * n;
    float* yr = y + row * n;
    float m = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, xr[i]);
    m = block_reduce_max(m);
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += expf(xr[i] - m);
    s = block_reduce_sum(s);
    if (log) {
      const float ls = logf(s);
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = (xr[i] - m) - ls;
    } else {
      const float inv = 1.0f / s;
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = expf(xr[i] - m) * inv;
    }
  }
}

// An inner axis: one thread per (outer, inner) column (coalesced along inner).
__global__ void softmax_cols(bool log, int64_t outer, int64_t n, int64_t inner, const float* __restrict__ x, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(c, outer * inner) {
    const int64_t o = c / inner, i = c % inner, base = o * n * inner + i;
    float m = -INFINITY;
    for (int64_t k = 0; k < n; k++) m = fmaxf(m, x[base + k * inner]);
    float s = 0.0f;
    for (int64_t k = 0; k < n; k++) s += expf(x[base + k * inner] - m);
    if (log) {
      const float ls = logf(s);
      for (int64_t k = 0; k < n; k++) y[base + k * inner] = (x[base + k * inner] - m) - ls;
    } else {
      const float inv = 1.0f / s;
      for (int64_t k = 0; k < n; k++) y[base + k * inner] = expf(x[base + k * inner] - m) * inv;
    }
  }
}

// softmax: gx = y (g - sum(g y)); log_softmax: gx = g - exp(y) sum(g).
__global__ void softmax_backward_rows(bool log, int64_t rows, int64_t n, const float* __restrict__ y, const float* __restrict__ g,
                                      float* __restrict__ gx) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float *yr = y + row * n, *gr = g + row * n;
    float* out = gx + row * n;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += log ? gr[i] : gr[i] * yr[i];
    s = block_reduce_sum(s);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) out[i] = log ? gr[i] - expf(yr[i]) * s : yr[i] * (gr[i] - s);
  }
}

__global__ void softmax_backward_cols(bool log, int64_t outer, int64_t n, int64_t inner, const float* __restrict__ y,
                                      const float* __restrict__ g, float* __restrict__ gx) {
  RAVDL_GRID_STRIDE(c, outer * inner) {
    const int64_t o = c / inner, i = c % inner, base = o * n * inner + i;
    float s = 0.0f;
    for (int64_t k = 0; k < n; k++) {
      const int64_t p = base + k * inner;
      s += log ? g[p] : g[p] * y[p];
    }
    for (int64_t k = 0; k < n; k++) {
      const int64_t p = base + k * inner;
      gx[p] = log ? g[p] - expf(y[p]) * s : y[p] * (g[p] - s);
    }
  }
}

struct AxisView {
  int64_t outer = 1, n = 1, inner = 1;
};
AxisView axis_view(const Call& c, const Desc& x) {
  const int64_t rank = x.rank();
  const int64_t axis = norm_axis(c, c.integer("axis", -1), rank);
  AxisView v;
  v.n = rank == 0 ? 1 : x.shape[axis];
  for (int64_t d = 0; d < axis && d < rank; d++) v.outer *= x.shape[d];
  for (int64_t d = axis + 1; d < rank; d++) v.inner *= x.shape[d];
  return v;
}

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(std::min<int64_t>(rows, 65536)); }

}  // namespace

void launch_binary(const Call& c) {
  expect_io(c, 2, 2, 1);
  const Desc &a = c.in[0], &b = c.in[1], &y = c.out[0];
  for (auto* d : {&a, &b, &y}) expect_dtype(c, *d, kF32, d == &y ? "output" : d == &a ? "a" : "b");
  // NumPy broadcasting, right-aligned.
  const size_t nd = std::max(a.shape.size(), b.shape.size());
  if (nd > kMaxDims) fail(kShape, c.op + ": at most 8 dimensions on cuda");
  std::vector<int64_t> out(nd);
  for (size_t i = 0; i < nd; i++) {
    const int64_t da = i < nd - a.shape.size() ? 1 : a.shape[i - (nd - a.shape.size())];
    const int64_t db = i < nd - b.shape.size() ? 1 : b.shape[i - (nd - b.shape.size())];
    if (da != db && da != 1 && db != 1) fail(kShape, c.op + ": cannot broadcast " + shape_str(a.shape) + " with " + shape_str(b.shape));
    out[i] = da == 1 ? db : da;
  }
  expect_shape(c, y, out, "output");
  static const std::pair<const char*, int> names[] = {{"add", kAdd}, {"sub", kSub}, {"mul", kMul}, {"div", kDiv}, {"pow", kPow},
      {"maximum", kMax}, {"minimum", kMin}, {"equal", kEq}, {"not_equal", kNe}, {"less", kLt}, {"less_equal", kLe},
      {"greater", kGt}, {"greater_equal", kGe}};
  int op = -1;
  for (auto& [name, code] : names)
    if (c.op == name) op = code;
  if (op < 0) fail(kDevice, c.op + ": no kernel for device 'cuda'");
  const int64_t n = y.numel();
  if (n == 0) return;
  cudaStream_t s = stream_of(c.dev);
  if (a.shape == y.shape && b.shape == y.shape) {
    binary_same<<<grid_for(n), kThreads, 0, s>>>(op, n, a.f(), b.f(), y.fw());
    return;
  }
  Strides st{};
  st.ndim = static_cast<int>(nd);
  int64_t sa = 1, sb = 1;
  for (int i = static_cast<int>(nd) - 1; i >= 0; i--) {
    const int ia = i - static_cast<int>(nd - a.shape.size()), ib = i - static_cast<int>(nd - b.shape.size());
    const int64_t da = ia < 0 ? 1 : a.shape[ia], db = ib < 0 ? 1 : b.shape[ib];
    st.dims[i] = out[i];
    st.a[i] = da == 1 ? 0 : sa;
    st.b[i] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
  binary_bcast<<<grid_for(n), kThreads, 0, s>>>(op, n, st, a.f(), b.f(), y.fw());
}

// Forward ops (x) -> y and backward ops "<name>_backward" (saved, dy) -> dx.
void launch_unary(const Call& c) {
  const std::string suffix = "_backward";
  const bool backward = c.op.size() > suffix.size() && c.op.compare(c.op.size() - suffix.size(), suffix.size(), suffix) == 0;
  const std::string base = backward ? c.op.substr(0, c.op.size() - suffix.size()) : c.op;
  const int op = unary_code(base);
  const float p = op == kLeakyRelu ? static_cast<float>(c.num("negative_slope", 0.01)) : 0.0f;
  expect_io(c, backward ? 2 : 1, backward ? 2 : 1, 1);
  for (auto& d : c.in) expect_dtype(c, d, kF32, "input");
  expect_dtype(c, c.out[0], kF32, "output");
  for (auto& d : c.in) expect_shape(c, d, c.out[0].shape, "input");
  const int64_t n = c.out[0].numel();
  if (n == 0) return;
  cudaStream_t s = stream_of(c.dev);
  if (backward) {
    if (op == kSign) fail(kDevice, c.op + ": no kernel for device 'cuda'");
    unary_backward_kernel<<<grid_for(n), kThreads, 0, s>>>(op, n, p, c.in[0].f(), c.in[1].f(), c.out[0].fw());
  } else {
    unary_kernel<<<grid_for(n), kThreads, 0, s>>>(op, n, p, c.in[0].f(), c.out[0].fw());
  }
}

// softmax / log_softmax: attr axis (default -1).
void launch_softmax(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &x = c.in[0], &y = c.out[0];
  expect_dtype(c, x, kF32, "x");
  expect_dtype(c, y, kF32, "output");
  expect_shape(c, y, x.shape, "output");
  const bool log = c.op == "log_softmax";
  const AxisView v = axis_view(c, x);
  if (v.outer * v.n * v.inner == 0) return;
  cudaStream_t s = stream_of(c.dev);
  if (v.inner == 1) softmax_rows<<<row_grid(v.outer), kSoftmaxThreads, 0, s>>>(log, v.outer, v.n, x.f(), y.fw());
  else softmax_cols<<<grid_for(v.outer * v.inner), kThreads, 0, s>>>(log, v.outer, v.n, v.inner, x.f(), y.fw());
}

// softmax_backward / log_softmax_backward: (y, gy) -> gx, attr axis.
void launch_softmax_backward(const Call& c) {
  expect_io(c, 2, 2, 1);
  const Desc &y = c.in[0], &g = c.in[1], &gx = c.out[0];
  for (auto* d : {&y, &g, &gx}) expect_dtype(c, *d, kF32, d == &y ? "y" : d == &g ? "gy" : "output");
  expect_shape(c, g, y.shape, "gy");
  expect_shape(c, gx, y.shape, "output");
  const bool log = c.op == "log_softmax_backward";
  const AxisView v = axis_view(c, y);
  if (v.outer * v.n * v.inner == 0) return;
  cudaStream_t s = stream_of(c.dev);
  if (v.inner == 1) softmax_backward_rows<<<row_grid(v.outer), kSoftmaxThreads, 0, s>>>(log, v.outer, v.n, y.f(), g.f(), gx.fw());
  else softmax_backward_cols<<<grid_for(v.outer * v.inner), kThreads, 0, s>>>(log, v.outer, v.n, v.inner, y.f(), g.f(), gx.fw());
}

}  // namespace ravdl_cuda

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

enum BinOp { kAdd, kSub, kMul, kDiv, kPow, kMax, kMin, kEq, kNe, kLt, kLe, kGt, kGe, kAnd, kOr, kXor };

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
    case kGe: return a >= b ? 1.0f : 0.0f;
    // Logical ops: nonzero (NaN included) is true.
    case kAnd: return (a != 0.0f && b != 0.0f) ? 1.0f : 0.0f;
    case kOr: return (a != 0.0f || b != 0.0f) ? 1.0f : 0.0f;
    default: return ((a != 0.0f) != (b != 0.0f)) ? 1.0f : 0.0f;
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
// The CPU's unary ops (elementwise.h) with their parameters p0, p1 (as the catalog's
// attributes; see kUnary). Forward ops built on exp/log/tanh/pow use CUDA's libm (an ulp or two
// from the CPU's polynomials); the others, and every backward formula on its inputs, round each
// operation separately (no fused multiply-add) and so match the CPU exactly.
enum UnOp {
  kRelu, kExp, kLog, kTanh, kSigmoid, kNeg, kSqrt, kAbs, kSign, kLeakyRelu, kElu, kSelu, kSoftplus, kSoftsign, kTanhshrink,
  kLogsigmoid, kHardshrink, kHardtanh, kSoftshrink, kThreshold, kPowScalar, kClip, kLogicalNot
};

__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float sigm(float z) { return 1.0f / (1.0f + expf(-z)); }
// log(1 + e^z) without overflow: max(z, 0) + log1p(e^-|z|).
__device__ __forceinline__ float softplus1(float z) { return fmaxf(z, 0.0f) + log1pf(expf(-fabsf(z))); }
constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
constexpr float kSeluScale = 1.0507009873554804934193349852946f;

__device__ float unary_fwd(int op, float v, float p0, float p1) {
  switch (op) {
    case kRelu: return v > 0.0f ? v : (v != v ? v : 0.0f);
    case kExp: return expf(v);
    case kLog: return logf(v);
    case kTanh: return tanhf(v);
    case kSigmoid: return sigm(v);
    case kNeg: return -v;
    case kSqrt: return sqrtf(v);
    case kAbs: return fabsf(v);
    case kSign: return static_cast<float>((v > 0.0f) - (v < 0.0f));  // sign(NaN) = 0, like the CPU
    case kLeakyRelu: return v > 0.0f ? v : mul(v, p0);
    case kElu: return v > 0.0f ? v : p0 * expm1f(v);
    case kSelu: return v > 0.0f ? kSeluScale * v : (kSeluScale * kSeluAlpha) * expm1f(v);
    case kSoftplus: {
      const float z = mul(v, p0);
      return z > p1 ? v : softplus1(z) / p0;
    }
    case kSoftsign: return v / (1.0f + fabsf(v));
    case kTanhshrink: return v - tanhf(v);
    case kLogsigmoid: return -softplus1(-v);
    case kHardshrink: return (v >= -p0 && v <= p0) ? 0.0f : v;
    case kHardtanh: {
      const float y = v < p0 ? p0 : v;
      return y > p1 ? p1 : y;
    }
    case kSoftshrink: {
      float y = v > p0 ? sub(v, p0) : 0.0f;
      y = v < -p0 ? add(v, p0) : y;
      return v != v ? v : y;
    }
    case kThreshold: return v > p0 ? v : (v != v ? v : p1);
    case kPowScalar: return p0 == 2.0f ? mul(v, v) : powf(v, p0);
    case kClip: {
      const float y = v < p0 ? p0 : v;
      return y > p1 ? p1 : y;
    }
    default: return v == 0.0f ? 1.0f : 0.0f;  // logical_not
  }
}

// (saved, g) -> dx, saved = x or y as the catalog says.
__device__ float unary_bwd(int op, float v, float g, float p0, float p1) {
  switch (op) {
    case kRelu: return v > 0.0f ? g : 0.0f;                           // x
    case kExp: return mul(g, v);                                       // y
    case kTanh: return mul(g, sub(1.0f, mul(v, v)));                   // y
    case kSigmoid: return mul(mul(g, v), sub(1.0f, v));                // y
    case kNeg: return -g;
    case kSqrt: return __fdiv_rn(g, mul(2.0f, v));                     // y
    case kLog: return __fdiv_rn(g, v);                                 // x
    case kAbs: return v > 0.0f ? g : (v < 0.0f ? -g : 0.0f);           // x
    case kLeakyRelu: return v > 0.0f ? g : mul(g, p0);                 // x
    case kElu: return v > 0.0f ? g : g * p0 * expf(v);                 // x
    case kSelu: return v > 0.0f ? g * kSeluScale : g * (kSeluScale * kSeluAlpha) * expf(v);
    case kSoftplus: {
      const float z = mul(v, p0);
      return z > p1 ? g : g * sigm(z);
    }
    case kSoftsign: {
      const float d = add(1.0f, fabsf(v));
      return __fdiv_rn(g, mul(d, d));
    }
    case kTanhshrink: {
      const float t = tanhf(v);
      return g * t * t;
    }
    case kLogsigmoid: return g * sigm(-v);
    case kHardshrink: return (v >= -p0 && v <= p0) ? 0.0f : g;
    case kHardtanh: return (v <= p0 || v >= p1) ? 0.0f : g;
    case kSoftshrink: return (v >= -p0 && v <= p0) ? 0.0f : g;
    case kThreshold: return v <= p0 ? 0.0f : g;
    case kPowScalar: return p0 == 0.0f ? 0.0f : g * p0 * powf(v, p0 - 1.0f);
    case kClip: return (v >= p0 && v <= p1) ? g : 0.0f;
    default: return 0.0f;  // sign, logical_not: no gradient
  }
}

__global__ void unary_kernel(int op, int64_t n, float p0, float p1, const float* __restrict__ x, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(i, n) y[i] = unary_fwd(op, x[i], p0, p1);
}

__global__ void unary_backward_kernel(int op, int64_t n, float p0, float p1, const float* __restrict__ s, const float* __restrict__ g,
                                      float* __restrict__ gx) {
  RAVDL_GRID_STRIDE(i, n) gx[i] = unary_bwd(op, s[i], g[i], p0, p1);
}

// Catalog names (natlog and square_root are the catalog's log and sqrt), their parameters'
// attribute names and defaults (NaN: required; clip's bounds: absent = unbounded).
struct UnaryName {
  const char* name;
  int op;
  const char* attr[2];
  float fallback[2];
  bool backward;
};
const UnaryName kUnary[] = {
    {"relu", kRelu, {}, {}, true}, {"exp", kExp, {}, {}, true}, {"natlog", kLog, {}, {}, true}, {"tanh", kTanh, {}, {}, true},
    {"sigmoid", kSigmoid, {}, {}, true}, {"neg", kNeg, {}, {}, true}, {"square_root", kSqrt, {}, {}, true}, {"abs", kAbs, {}, {}, true},
    {"sign", kSign, {}, {}, false}, {"leaky_relu", kLeakyRelu, {"negative_slope"}, {0.01f}, true}, {"elu", kElu, {"alpha"}, {1.0f}, true},
    {"selu", kSelu, {}, {}, true}, {"softplus", kSoftplus, {"beta", "threshold"}, {1.0f, 20.0f}, true},
    {"softsign", kSoftsign, {}, {}, true}, {"tanhshrink", kTanhshrink, {}, {}, true}, {"logsigmoid", kLogsigmoid, {}, {}, true},
    {"hardshrink", kHardshrink, {"lambd"}, {0.5f}, true}, {"hardtanh", kHardtanh, {"min_val", "max_val"}, {-1.0f, 1.0f}, true},
    {"softshrink", kSoftshrink, {"lambd"}, {0.5f}, true}, {"threshold", kThreshold, {"threshold", "value"}, {NAN, NAN}, true},
    {"pow_scalar", kPowScalar, {"exponent"}, {NAN}, true}, {"clip", kClip, {"min", "max"}, {-INFINITY, INFINITY}, true},
    {"logical_not", kLogicalNot, {}, {}, false}};

const UnaryName& unary_entry(const std::string& name) {
  for (auto& u : kUnary)
    if (name == u.name) return u;
  fail(kDevice, name + ": no kernel for device 'cuda'");
}

// ---------------- where, broadcast_to, permute, full ----------------
// Element offsets of up to three inputs broadcast to an output of ndim dims.
struct Bcast3 {
  int ndim;
  int64_t dims[kMaxDims];
  int64_t s[3][kMaxDims];
};

__device__ __forceinline__ void offsets3(const Bcast3& b, int64_t i, int64_t* off) {
  off[0] = off[1] = off[2] = 0;
  for (int d = b.ndim - 1; d >= 0; d--) {
    const int64_t k = i % b.dims[d];
    i /= b.dims[d];
    off[0] += k * b.s[0][d];
    off[1] += k * b.s[1][d];
    off[2] += k * b.s[2][d];
  }
}

__global__ void where_kernel(int64_t n, Bcast3 b, const float* __restrict__ c, const float* __restrict__ x, const float* __restrict__ y,
                             float* __restrict__ out) {
  RAVDL_GRID_STRIDE(i, n) {
    int64_t off[3];
    offsets3(b, i, off);
    out[i] = c[off[0]] != 0.0f ? x[off[1]] : y[off[2]];  // NaN != 0: true
  }
}

// out[i] = x[offset of i] (broadcast_to, and permute with permuted strides): 4-byte elements.
__global__ void gather_copy(int64_t n, Bcast3 b, const uint32_t* __restrict__ x, uint32_t* __restrict__ out) {
  RAVDL_GRID_STRIDE(i, n) {
    int64_t off[3];
    offsets3(b, i, off);
    out[i] = x[off[0]];
  }
}

__global__ void fill_kernel(int64_t n, uint32_t bits, uint32_t* __restrict__ out) { RAVDL_GRID_STRIDE(i, n) out[i] = bits; }

// The strides of `in` (right-aligned) broadcast to `out`; ERR_SHAPE when it does not broadcast.
void bcast_strides(const Call& c, const std::vector<int64_t>& in, const std::vector<int64_t>& out, int64_t* s) {
  const size_t nd = out.size();
  if (in.size() > nd) fail(kShape, c.op + ": " + shape_str(in) + " does not broadcast to " + shape_str(out));
  int64_t st = 1;
  for (int64_t i = static_cast<int64_t>(nd) - 1; i >= 0; i--) {
    const int64_t ii = i - static_cast<int64_t>(nd - in.size());
    const int64_t d = ii < 0 ? 1 : in[ii];
    if (d != out[i] && d != 1) fail(kShape, c.op + ": " + shape_str(in) + " does not broadcast to " + shape_str(out));
    s[i] = d == 1 ? 0 : st;
    st *= d;
  }
}

std::vector<int64_t> bcast_shape(const Call& c, const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const size_t nd = std::max(a.size(), b.size());
  std::vector<int64_t> out(nd);
  for (size_t i = 0; i < nd; i++) {
    const int64_t da = i < nd - a.size() ? 1 : a[i - (nd - a.size())];
    const int64_t db = i < nd - b.size() ? 1 : b[i - (nd - b.size())];
    if (da != db && da != 1 && db != 1) fail(kShape, c.op + ": cannot broadcast " + shape_str(a) + " with " + shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
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
// sgn = -1: softmin (softmax of -x).
__global__ void softmax_rows(bool log, float sgn, int64_t rows, int64_t n, const float* __restrict__ x, float* __restrict__ y) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* xr = x + row * n;
    float* yr = y + row * n;
    float m = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, sgn * xr[i]);
    m = block_reduce_max(m);
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += expf(sgn * xr[i] - m);
    s = block_reduce_sum(s);
    if (log) {
      const float ls = logf(s);
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = (sgn * xr[i] - m) - ls;
    } else {
      const float inv = 1.0f / s;
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = expf(sgn * xr[i] - m) * inv;
    }
  }
}

// An inner axis: one thread per (outer, inner) column (coalesced along inner).
__global__ void softmax_cols(bool log, float sgn, int64_t outer, int64_t n, int64_t inner, const float* __restrict__ x, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(c, outer * inner) {
    const int64_t o = c / inner, i = c % inner, base = o * n * inner + i;
    float m = -INFINITY;
    for (int64_t k = 0; k < n; k++) m = fmaxf(m, sgn * x[base + k * inner]);
    float s = 0.0f;
    for (int64_t k = 0; k < n; k++) s += expf(sgn * x[base + k * inner] - m);
    if (log) {
      const float ls = logf(s);
      for (int64_t k = 0; k < n; k++) y[base + k * inner] = (sgn * x[base + k * inner] - m) - ls;
    } else {
      const float inv = 1.0f / s;
      for (int64_t k = 0; k < n; k++) y[base + k * inner] = expf(sgn * x[base + k * inner] - m) * inv;
    }
  }
}

// softmax: gx = y (g - sum(g y)); log_softmax: gx = g - exp(y) sum(g); softmin (sgn = -1):
// gx = -(y (g - sum(g y))).
__global__ void softmax_backward_rows(bool log, float sgn, int64_t rows, int64_t n, const float* __restrict__ y, const float* __restrict__ g,
                                      float* __restrict__ gx) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float *yr = y + row * n, *gr = g + row * n;
    float* out = gx + row * n;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += log ? gr[i] : gr[i] * yr[i];
    s = block_reduce_sum(s);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) out[i] = log ? gr[i] - expf(yr[i]) * s : sgn * (yr[i] * (gr[i] - s));
  }
}

__global__ void softmax_backward_cols(bool log, float sgn, int64_t outer, int64_t n, int64_t inner, const float* __restrict__ y,
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
      gx[p] = log ? g[p] - expf(y[p]) * s : sgn * (y[p] * (g[p] - s));
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
      {"greater", kGt}, {"greater_equal", kGe}, {"logical_and", kAnd}, {"logical_or", kOr}, {"logical_xor", kXor}};
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
  const UnaryName& u = unary_entry(backward ? c.op.substr(0, c.op.size() - suffix.size()) : c.op);
  if (backward && !u.backward) fail(kDevice, c.op + ": no kernel for device 'cuda'");
  float p[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    if (!u.attr[k]) continue;
    const double v = c.num(u.attr[k], std::isnan(u.fallback[k]) ? NAN : u.fallback[k]);
    if (std::isnan(v)) fail(kAttr, c.op + ": attribute '" + u.attr[k] + "' is required (a number)");
    p[k] = static_cast<float>(v);
  }
  if ((u.op == kHardshrink || u.op == kSoftshrink) && p[0] < 0) fail(kAttr, c.op + ": lambd must be >= 0");
  expect_io(c, backward ? 2 : 1, backward ? 2 : 1, 1);
  for (auto& d : c.in) expect_dtype(c, d, kF32, "input");
  expect_dtype(c, c.out[0], kF32, "output");
  for (auto& d : c.in) expect_shape(c, d, c.out[0].shape, "input");
  const int64_t n = c.out[0].numel();
  if (n == 0) return;
  cudaStream_t s = stream_of(c.dev);
  if (backward) unary_backward_kernel<<<grid_for(n), kThreads, 0, s>>>(u.op, n, p[0], p[1], c.in[0].f(), c.in[1].f(), c.out[0].fw());
  else unary_kernel<<<grid_for(n), kThreads, 0, s>>>(u.op, n, p[0], p[1], c.in[0].f(), c.out[0].fw());
}

// where: (cond, a, b) -> out, three-way broadcasting; cond != 0 (NaN too) picks a.
void launch_where(const Call& c) {
  expect_io(c, 3, 3, 1);
  for (auto& d : c.in) expect_dtype(c, d, kF32, "every input");
  expect_dtype(c, c.out[0], kF32, "output");
  const auto shape = bcast_shape(c, bcast_shape(c, c.in[0].shape, c.in[1].shape), c.in[2].shape);
  if (shape.size() > kMaxDims) fail(kShape, c.op + ": at most 8 dimensions on cuda");
  expect_shape(c, c.out[0], shape, "output");
  Bcast3 b{};
  b.ndim = static_cast<int>(shape.size());
  for (size_t i = 0; i < shape.size(); i++) b.dims[i] = shape[i];
  for (int k = 0; k < 3; k++) bcast_strides(c, c.in[k].shape, shape, b.s[k]);
  const int64_t n = c.out[0].numel();
  if (n == 0) return;
  where_kernel<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(n, b, c.in[0].f(), c.in[1].f(), c.in[2].f(), c.out[0].fw());
}

// broadcast_to: x -> the output's shape (attr shape, when given, must equal it).
// permute: x -> dims reordered by attr perm (output dim k = input dim perm[k]); any 4-byte dtype.
void launch_copy_view(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &x = c.in[0], &y = c.out[0];
  if (x.dtype != y.dtype) fail(kDtype, c.op + ": the output must have the input's dtype");
  if (c.op == "broadcast_to") expect_dtype(c, x, kF32, "x");
  const int64_t rank = static_cast<int64_t>(y.shape.size());
  if (rank > kMaxDims) fail(kShape, c.op + ": at most 8 dimensions on cuda");
  Bcast3 b{};
  b.ndim = static_cast<int>(rank);
  for (int64_t i = 0; i < rank; i++) b.dims[i] = y.shape[i];
  if (c.op == "broadcast_to") {
    if (c.has("shape") && c.ints("shape") != y.shape) fail(kShape, c.op + ": the output must have the attribute's shape");
    bcast_strides(c, x.shape, y.shape, b.s[0]);
  } else {  // permute
    auto perm = c.ints("perm");
    if (static_cast<int64_t>(perm.size()) != x.rank()) fail(kAttr, c.op + ": perm must list every dim of x " + shape_str(x.shape));
    std::vector<int64_t> xs(static_cast<size_t>(x.rank()), 1), want;
    for (int64_t d = x.rank() - 2; d >= 0; d--) xs[d] = xs[d + 1] * x.shape[d + 1];
    std::vector<bool> seen(perm.size(), false);
    for (size_t k = 0; k < perm.size(); k++) {
      int64_t p = perm[k] < 0 ? perm[k] + x.rank() : perm[k];
      if (p < 0 || p >= x.rank() || seen[p]) fail(kAttr, c.op + ": perm is not a permutation of the dims of x " + shape_str(x.shape));
      seen[p] = true;
      want.push_back(x.shape[p]);
      b.s[0][k] = xs[p];
    }
    expect_shape(c, y, want, "output");
  }
  const int64_t n = y.numel();
  if (n == 0) return;
  gather_copy<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(n, b, static_cast<const uint32_t*>(x.data), static_cast<uint32_t*>(y.data));
}

// full: () -> the output filled with attr value (float32 or int32 output).
void launch_full(const Call& c) {
  expect_io(c, 0, 0, 1);
  const Desc& y = c.out[0];
  const double v = c.num("value", 0);
  uint32_t bits;
  if (y.dtype == kF32) {
    const float f = static_cast<float>(v);
    std::memcpy(&bits, &f, 4);
  } else {
    expect_dtype(c, y, kI32, "output");
    if (!(v >= -2147483648.0 && v <= 2147483647.0) || std::trunc(v) != v) fail(kAttr, c.op + ": value must be an int32 for an int32 output");
    const int32_t i = static_cast<int32_t>(v);
    std::memcpy(&bits, &i, 4);
  }
  const int64_t n = y.numel();
  if (n == 0) return;
  fill_kernel<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(n, bits, static_cast<uint32_t*>(y.data));
}

// softmax / log_softmax: attr axis (default -1).
void launch_softmax(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &x = c.in[0], &y = c.out[0];
  expect_dtype(c, x, kF32, "x");
  expect_dtype(c, y, kF32, "output");
  expect_shape(c, y, x.shape, "output");
  const bool log = c.op == "log_softmax";
  const float sgn = c.op == "softmin" ? -1.0f : 1.0f;
  const AxisView v = axis_view(c, x);
  if (v.outer * v.n * v.inner == 0) return;
  cudaStream_t s = stream_of(c.dev);
  if (v.inner == 1) softmax_rows<<<row_grid(v.outer), kSoftmaxThreads, 0, s>>>(log, sgn, v.outer, v.n, x.f(), y.fw());
  else softmax_cols<<<grid_for(v.outer * v.inner), kThreads, 0, s>>>(log, sgn, v.outer, v.n, v.inner, x.f(), y.fw());
}

// softmax_backward / log_softmax_backward: (y, gy) -> gx, attr axis.
void launch_softmax_backward(const Call& c) {
  expect_io(c, 2, 2, 1);
  const Desc &y = c.in[0], &g = c.in[1], &gx = c.out[0];
  for (auto* d : {&y, &g, &gx}) expect_dtype(c, *d, kF32, d == &y ? "y" : d == &g ? "gy" : "output");
  expect_shape(c, g, y.shape, "gy");
  expect_shape(c, gx, y.shape, "output");
  const bool log = c.op == "log_softmax_backward";
  const float sgn = c.op == "softmin_backward" ? -1.0f : 1.0f;
  const AxisView v = axis_view(c, y);
  if (v.outer * v.n * v.inner == 0) return;
  cudaStream_t s = stream_of(c.dev);
  if (v.inner == 1) softmax_backward_rows<<<row_grid(v.outer), kSoftmaxThreads, 0, s>>>(log, sgn, v.outer, v.n, y.f(), g.f(), gx.fw());
  else softmax_backward_cols<<<grid_for(v.outer * v.inner), kThreads, 0, s>>>(log, sgn, v.outer, v.n, v.inner, y.f(), g.f(), gx.fw());
}

}  // namespace ravdl_cuda

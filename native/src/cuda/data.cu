// Data-movement and indexing ops: concat, split, slice and slice_backward, pad and
// pad_backward (constant / reflect / replicate / circular, negative pads crop), gather and
// gather_backward, one_hot_encoding, arange, astype; and conv1d on the conv2d kernels. Same
// rules as the CPU kernels (native/src/cpu/shape_ops.cpp, pad.cpp) and the catalog (lib/ops/
// join.ts, indexing.ts, creation.ts, shape.ts). Every backward op gathers (each output element
// is written by one thread, sums in a fixed order): deterministic, no atomics.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "common.cuh"

namespace ravdl_cuda {
namespace {

constexpr int kMaxDims = RAVDL_CUDA_MAX_DIMS;

int64_t norm_axis(const Call& c, int64_t axis, int64_t rank) {
  const int64_t r = std::max<int64_t>(rank, 1);
  const int64_t a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r) fail(kIndex, c.op + ": axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return a;
}

// A tensor as [outer, n, inner] around axis a.
void around(const std::vector<int64_t>& s, int64_t a, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = inner = 1;
  n = s.empty() ? 1 : s[a];
  for (int64_t d = 0; d < a && d < static_cast<int64_t>(s.size()); d++) outer *= s[d];
  for (int64_t d = a + 1; d < static_cast<int64_t>(s.size()); d++) inner *= s[d];
}

// ---- concat / split: one launch per piece, 4-byte elements ----
// dst[o][off + j][i] = src[o][j][i] (concat), or the reverse (split).
__global__ void copy_slab(int64_t outer, int64_t n, int64_t inner, int64_t total, int64_t off, bool into, const uint32_t* __restrict__ piece,
                          uint32_t* __restrict__ whole, const uint32_t* __restrict__ whole_in, uint32_t* __restrict__ piece_out) {
  RAVDL_GRID_STRIDE(k, outer * n * inner) {
    const int64_t i = k % inner, j = (k / inner) % n, o = k / (inner * n);
    const int64_t w = (o * total + off + j) * inner + i;
    if (into) whole[w] = piece[k];
    else piece_out[k] = whole_in[w];
  }
}

// ---- slice ----
struct SliceMap {
  int ndim;
  int64_t out[kMaxDims], start[kMaxDims], step[kMaxDims], xstride[kMaxDims];
};

// y[idx] = x[start + idx * step] (4-byte elements).
__global__ void slice_kernel(int64_t n, SliceMap m, const uint32_t* __restrict__ x, uint32_t* __restrict__ y) {
  RAVDL_GRID_STRIDE(i, n) {
    int64_t rest = i, off = 0;
    for (int d = m.ndim - 1; d >= 0; d--) {
      const int64_t k = rest % m.out[d];
      rest /= m.out[d];
      off += (m.start[d] + k * m.step[d]) * m.xstride[d];
    }
    y[i] = x[off];
  }
}

// gx[idx] = dy[(idx - start) / step] where that is a sliced position, else 0. m.out holds x's
// dims here and m.xstride dy's strides; count[d] = dy's dims.
__global__ void slice_backward_kernel(int64_t n, SliceMap m, SliceMap count, const float* __restrict__ dy, float* __restrict__ gx) {
  RAVDL_GRID_STRIDE(i, n) {
    int64_t rest = i, off = 0;
    bool hit = true;
    for (int d = m.ndim - 1; d >= 0; d--) {
      const int64_t k = rest % m.out[d];
      rest /= m.out[d];
      const int64_t t = k - m.start[d];
      if (t < 0 || t % m.step[d] != 0 || t / m.step[d] >= count.out[d]) {
        hit = false;
        break;
      }
      off += (t / m.step[d]) * m.xstride[d];
    }
    gx[i] = hit ? dy[off] : 0.0f;
  }
}

// Python slicing of one dim: the start index and the count of a slice [s:e:step], step >= 1.
void slice_dim(int64_t dim, int64_t s, int64_t e, int64_t step, int64_t& start, int64_t& count) {
  auto clampi = [&](int64_t v) { return v < 0 ? std::max<int64_t>(v + dim, 0) : std::min(v, dim); };
  start = clampi(s);
  const int64_t stop = clampi(e);
  count = stop > start ? (stop - start + step - 1) / step : 0;
}

void slice_map(const Call& c, const std::vector<int64_t>& xs, SliceMap& m) {
  const auto starts = c.ints("starts"), ends = c.ints("ends"), steps = c.ints("steps");
  const size_t r = xs.size();
  if (r > kMaxDims) fail(kShape, c.op + ": at most 8 dimensions on cuda");
  if (starts.size() != r || ends.size() != r || steps.size() != r)
    fail(kAttr, c.op + ": starts, ends and steps need one entry per dim of x " + shape_str(xs));
  m.ndim = static_cast<int>(r);
  for (size_t d = 0; d < r; d++) {
    if (steps[d] < 1) fail(kAttr, c.op + ": steps must be >= 1, got " + std::to_string(steps[d]));
    slice_dim(xs[d], starts[d], ends[d], steps[d], m.start[d], m.out[d]);
    m.step[d] = steps[d];
  }
  int64_t st = 1;
  for (int64_t d = static_cast<int64_t>(r) - 1; d >= 0; d--) {
    m.xstride[d] = st;
    st *= xs[d];
  }
}

// ---- pad: the CPU's source-index rule (detail::pad_source), per padded dim ----
enum PadMode { kConstant = 0, kReflect = 1, kReplicate = 2, kCircular = 3 };

__host__ __device__ __forceinline__ int64_t pad_source(int64_t o, int64_t before, int64_t after, int64_t n, int mode) {
  if (mode == kCircular) {
    const int64_t start = before < 0 ? -before : 0;
    const int64_t kept = n - start - (after < 0 ? -after : 0);
    int64_t k = o - (before > 0 ? before : 0);
    if (k < 0) k += kept;
    else if (k >= kept) k -= kept;
    return start + k;
  }
  const int64_t i = o - before;
  if (i >= 0 && i < n) return i;
  if (mode == kConstant) return -1;
  if (mode == kReflect) return i < 0 ? -i : 2 * (n - 1) - i;
  return i < 0 ? 0 : n - 1;  // replicate
}

struct PadMap {
  int ndim, k;  // rank, padded (trailing) dims
  int mode;
  int64_t xs[kMaxDims], ys[kMaxDims], before[kMaxDims], after[kMaxDims];
};

__global__ void pad_kernel(int64_t n, PadMap m, float value, const float* __restrict__ x, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(i, n) {
    int64_t rest = i, off = 0, stride = 1;
    bool constant = false;
    for (int d = m.ndim - 1; d >= 0; d--) {
      const int64_t o = rest % m.ys[d];
      rest /= m.ys[d];
      int64_t s = o;
      if (d >= m.ndim - m.k) {
        s = pad_source(o, m.before[d], m.after[d], m.xs[d], m.mode);
        if (s < 0) constant = true;
      }
      off += s * stride;
      stride *= m.xs[d];
    }
    y[i] = constant ? value : x[off];
  }
}

// One fold of pad_backward along dim d: out (t's shape with dim d = xs[d]) gets, for each source
// index s, the sum over padded positions o of dim d with pad_source(o) == s, in ascending o.
// The candidates: o = s + before, the two mirror images (reflect), the edge runs (replicate),
// the wrapped copies (circular); each is checked against pad_source, so none counts twice.
__global__ void pad_fold(int64_t n, int64_t outer, int64_t inner, int64_t len_in, int64_t len_out, int64_t before, int64_t after, int mode,
                         const float* __restrict__ t, float* __restrict__ out) {
  RAVDL_GRID_STRIDE(idx, n) {
    const int64_t i = idx % inner, s = (idx / inner) % len_out, o_ = idx / (inner * len_out);
    const float* row = t + o_ * len_in * inner + i;
    int64_t cand[8];
    int nc = 0;
    cand[nc++] = s + before;
    if (mode == kReflect) {
      cand[nc++] = before - s;
      cand[nc++] = before + 2 * (len_out - 1) - s;
    } else if (mode == kCircular) {
      const int64_t start = before < 0 ? -before : 0;
      const int64_t kept = len_out - start - (after < 0 ? -after : 0);
      const int64_t base = s - start + (before > 0 ? before : 0);
      cand[nc++] = base - kept;
      cand[nc++] = base + kept;
    }
    // Sorted, distinct, in range and mapping back to s.
    for (int a = 1; a < nc; a++)
      for (int b = a; b > 0 && cand[b] < cand[b - 1]; b--) {
        const int64_t tmp = cand[b];
        cand[b] = cand[b - 1];
        cand[b - 1] = tmp;
      }
    float acc = 0.0f;
    int64_t last = -1;
    // Replicate's edge runs come before (s == 0) or after (s == len_out - 1) the main position.
    if (mode == kReplicate && s == 0)
      for (int64_t o = 0; o < before && o < len_in; o++) acc += row[o * inner];
    for (int a = 0; a < nc; a++) {
      const int64_t o = cand[a];
      if (o <= last || o < 0 || o >= len_in) continue;
      if (pad_source(o, before, after, len_out, mode) != s) continue;
      if (mode == kReplicate && (o < before || o >= before + len_out)) continue;  // counted in the runs
      acc += row[o * inner];
      last = o;
    }
    if (mode == kReplicate && s == len_out - 1)
      for (int64_t o = max(before + len_out, int64_t{0}); o < len_in; o++) acc += row[o * inner];
    out[idx] = acc;
  }
}

// ---- gather (x [P, A, Q] indexed along A) and its backward ----
__global__ void gather_kernel(int64_t P, int64_t A, int64_t Q, int64_t I, const int32_t* __restrict__ idx, const uint32_t* __restrict__ x,
                              uint32_t* __restrict__ y) {
  RAVDL_GRID_STRIDE(k, P * I * Q) {
    const int64_t q = k % Q, i = (k / Q) % I, p = k / (Q * I);
    y[k] = x[(p * A + idx[i]) * Q + q];
  }
}

// Thread (chunk, column p*Q + q) owns rows [a0, a1) of column (p, q) of gx and walks the
// indices in order (the embedding backward's scheme): each sum in index order.
__global__ void gather_backward_kernel(int64_t P, int64_t A, int64_t Q, int64_t I, int64_t chunks, const int32_t* __restrict__ idx,
                                       const float* __restrict__ dy, float* __restrict__ gx) {
  const int64_t rows = (A + chunks - 1) / chunks, cols = P * Q;
  RAVDL_GRID_STRIDE(t, chunks * cols) {
    const int64_t col = t % cols, chunk = t / cols, p = col / Q, q = col % Q;
    const int64_t a0 = chunk * rows, a1 = min(A, a0 + rows);
    for (int64_t a = a0; a < a1; a++) gx[(p * A + a) * Q + q] = 0.0f;
    for (int64_t i = 0; i < I; i++) {
      const int64_t a = idx[i];
      if (a < a0 || a >= a1) continue;
      gx[(p * A + a) * Q + q] += dy[(p * I + i) * Q + q];
    }
  }
}

__global__ void one_hot_kernel(int64_t n, int64_t depth, const int32_t* __restrict__ idx, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(k, n * depth) y[k] = idx[k / depth] == k % depth ? 1.0f : 0.0f;
}

// start + i * step in double, rounded once to the output's dtype (as the catalog's JS kernel).
__global__ void arange_kernel(int64_t n, double start, double step, bool as_int, void* y) {
  RAVDL_GRID_STRIDE(i, n) {
    const double v = __dadd_rn(start, __dmul_rn(static_cast<double>(i), step));
    if (as_int) static_cast<int32_t*>(y)[i] = static_cast<int32_t>(v);
    else static_cast<float*>(y)[i] = static_cast<float>(v);
  }
}

// float32 -> int32 truncating toward zero; the first element that is NaN, infinite or outside
// int32 is recorded in *bad (and nothing else is promised about the output then).
__global__ void to_int_kernel(int64_t n, const float* __restrict__ x, int32_t* __restrict__ y, unsigned long long* bad) {
  RAVDL_GRID_STRIDE(i, n) {
    const float v = truncf(x[i]);
    if (!(v >= -2147483648.0f && v < 2147483648.0f)) {  // NaN fails both
      atomicMin(bad, static_cast<unsigned long long>(i));
      y[i] = 0;
    } else {
      y[i] = static_cast<int32_t>(v);
    }
  }
}
__global__ void to_float_kernel(int64_t n, const int32_t* __restrict__ x, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(i, n) y[i] = static_cast<float>(x[i]);
}

}  // namespace

// concat: (tensors...) -> y along attr axis; every input of y's dtype (4-byte elements).
void launch_concat(const Call& c) {
  if (c.in.empty() || c.out.size() != 1) fail(kArg, "concat: expected at least one input and one output");
  const Desc& y = c.out[0];
  const int64_t a = norm_axis(c, c.integer("axis", 0), y.rank());
  std::vector<int64_t> want = c.in[0].shape;
  int64_t total = 0;
  for (size_t k = 0; k < c.in.size(); k++) {
    const Desc& x = c.in[k];
    if (x.dtype != y.dtype) fail(kDtype, "concat: tensor " + std::to_string(k) + " has another dtype than the output");
    if (x.rank() != y.rank()) fail(kShape, "concat: tensor " + std::to_string(k) + " " + shape_str(x.shape) + " has another rank than tensor 0");
    for (int64_t d = 0; d < x.rank(); d++)
      if (d != a && x.shape[d] != want[d])
        fail(kShape, "concat: tensor " + std::to_string(k) + " " + shape_str(x.shape) + " differs from tensor 0 in dim " + std::to_string(d));
    total += x.rank() ? x.shape[a] : 1;
  }
  if (y.rank() == 0) fail(kShape, "concat: cannot join 0-d tensors");
  want[a] = total;
  expect_shape(c, y, want, "output");
  cudaStream_t s = stream_of(c.dev);
  int64_t off = 0;
  for (auto& x : c.in) {
    int64_t outer, n, inner;
    around(x.shape, a, outer, n, inner);
    if (x.numel() > 0)
      copy_slab<<<grid_for(x.numel()), kThreads, 0, s>>>(outer, n, inner, total, off, true, static_cast<const uint32_t*>(x.data),
                                                          static_cast<uint32_t*>(y.data), nullptr, nullptr);
    off += n;
  }
}

// split: x -> pieces along attr axis of attr sizes (each output's dim; any 4-byte dtype).
void launch_split(const Call& c) {
  expect_io(c, 1, 1, c.out.size());
  const Desc& x = c.in[0];
  if (c.out.empty()) fail(kShape, "split: sizes must list at least one piece");
  const int64_t a = norm_axis(c, c.integer("axis", 0), x.rank());
  if (x.rank() == 0) fail(kShape, "split: cannot split a 0-d tensor");
  const auto sizes = c.ints("sizes");
  if (!sizes.empty() && sizes.size() != c.out.size()) fail(kArg, "split: one output per entry of sizes");
  int64_t off = 0;
  cudaStream_t s = stream_of(c.dev);
  for (size_t k = 0; k < c.out.size(); k++) {
    const Desc& y = c.out[k];
    if (y.dtype != x.dtype) fail(kDtype, "split: the outputs must have x's dtype");
    std::vector<int64_t> want = x.shape;
    want[a] = sizes.empty() ? (y.rank() == x.rank() ? y.shape[a] : -1) : sizes[k];
    expect_shape(c, y, want, "every output");
    off += want[a];
  }
  if (off != x.shape[a]) fail(kShape, "split: the pieces do not add up to dim " + std::to_string(a) + " of x " + shape_str(x.shape));
  int64_t total = x.shape[a];
  off = 0;
  for (auto& y : c.out) {
    int64_t outer, n, inner;
    around(y.shape, a, outer, n, inner);
    if (y.numel() > 0)
      copy_slab<<<grid_for(y.numel()), kThreads, 0, s>>>(outer, n, inner, total, off, false, nullptr, nullptr,
                                                          static_cast<const uint32_t*>(x.data), static_cast<uint32_t*>(y.data));
    off += n;
  }
}

// slice: x -> x[s0:e0:k0, ...] (attrs starts, ends, steps: one per dim; Python rules).
void launch_slice(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &x = c.in[0], &y = c.out[0];
  if (x.dtype != y.dtype) fail(kDtype, "slice: the output must have x's dtype");
  SliceMap m{};
  slice_map(c, x.shape, m);
  expect_shape(c, y, std::vector<int64_t>(m.out, m.out + m.ndim), "output");
  const int64_t n = y.numel();
  if (n == 0) return;
  slice_kernel<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(n, m, static_cast<const uint32_t*>(x.data), static_cast<uint32_t*>(y.data));
}

// slice_backward: dy -> gx of attr shape (zeros outside the slice).
void launch_slice_backward(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &dy = c.in[0], &gx = c.out[0];
  expect_dtype(c, dy, kF32, "dy");
  expect_dtype(c, gx, kF32, "output");
  const auto xs = c.has("shape") ? c.ints("shape") : gx.shape;
  expect_shape(c, gx, xs, "output");
  SliceMap m{};
  slice_map(c, xs, m);
  SliceMap count = m;
  expect_shape(c, dy, std::vector<int64_t>(m.out, m.out + m.ndim), "dy");
  // m.out: x's dims (the threads' index space); m.xstride: dy's strides.
  int64_t st = 1;
  for (int d = m.ndim - 1; d >= 0; d--) {
    m.out[d] = xs[d];
    m.xstride[d] = st;
    st *= count.out[d];
  }
  const int64_t n = gx.numel();
  if (n == 0) return;
  slice_backward_kernel<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(n, m, count, dy.f(), gx.fw());
}

namespace {
// Checks pads against x's shape like the CPU (checked_padded_shape); fills the map.
PadMap pad_map(const Call& c, const std::vector<int64_t>& xs) {
  const auto pads = c.ints("pads");
  const int64_t mode = c.integer("mode", kConstant);
  if (mode < 0 || mode > 3) fail(kAttr, c.op + ": mode must be 0 (constant), 1 (reflect), 2 (replicate) or 3 (circular)");
  if (pads.size() % 2 != 0) fail(kAttr, c.op + ": pads must hold [before, after] pairs");
  const size_t k = pads.size() / 2;
  if (k > xs.size()) fail(kAttr, c.op + ": more [before, after] pairs than dims of x " + shape_str(xs));
  if (xs.size() > kMaxDims) fail(kShape, c.op + ": at most 8 dimensions on cuda");
  PadMap m{};
  m.ndim = static_cast<int>(xs.size());
  m.k = static_cast<int>(k);
  m.mode = static_cast<int>(mode);
  for (size_t d = 0; d < xs.size(); d++) m.xs[d] = m.ys[d] = xs[d];
  for (size_t j = 0; j < k; j++) {
    const size_t d = xs.size() - k + j;
    const int64_t n = xs[d], b = pads[2 * j], a = pads[2 * j + 1];
    const int64_t kept = n - std::max<int64_t>(-b, 0) - std::max<int64_t>(-a, 0);
    if (kept < 0) fail(kAttr, c.op + ": negative pads crop more than dim " + std::to_string(d) + " holds");
    for (int64_t p : {b, a}) {
      if (p <= 0) continue;
      if (mode == kReflect && p >= n) fail(kAttr, c.op + ": reflect padding must be < the dim size");
      if (mode == kCircular && p > kept) fail(kAttr, c.op + ": circular padding must be <= the dim size");
      if (mode == kReplicate && n == 0) fail(kAttr, c.op + ": replicate padding needs a non-empty dim");
    }
    m.before[d] = b;
    m.after[d] = a;
    m.ys[d] = n + b + a;
  }
  return m;
}
}  // namespace

// pad: x -> y (attrs pads: [before, after] pairs for the trailing dims, mode 0..3, value).
void launch_pad(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &x = c.in[0], &y = c.out[0];
  expect_dtype(c, x, kF32, "x");
  expect_dtype(c, y, kF32, "output");
  const PadMap m = pad_map(c, x.shape);
  expect_shape(c, y, std::vector<int64_t>(m.ys, m.ys + m.ndim), "output");
  const int64_t n = y.numel();
  if (n == 0) return;
  pad_kernel<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(n, m, static_cast<float>(c.num("value", 0)), x.f(), y.fw());
}

// pad_backward: dy -> gx of attr shape: every dy element summed into the x element it was
// copied from; one fold per padded dim (scratch between folds).
void launch_pad_backward(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &dy = c.in[0], &gx = c.out[0];
  expect_dtype(c, dy, kF32, "dy");
  expect_dtype(c, gx, kF32, "output");
  const auto xs = c.has("shape") ? c.ints("shape") : gx.shape;
  expect_shape(c, gx, xs, "output");
  const PadMap m = pad_map(c, xs);
  std::vector<int64_t> cur(m.ys, m.ys + m.ndim);
  expect_shape(c, dy, cur, "dy");
  cudaStream_t s = stream_of(c.dev);
  if (gx.numel() == 0) return;
  if (m.k == 0) {
    check_cuda(cudaMemcpyAsync(gx.data, dy.data, static_cast<size_t>(gx.numel()) * 4, cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync");
    return;
  }
  // Fold the padded dims from the last to the first; the last fold writes gx.
  const float* src = dy.f();
  std::vector<std::unique_ptr<Scratch>> tmp;
  for (int d = m.ndim - 1; d >= m.ndim - m.k; d--) {
    int64_t outer = 1, inner = 1;
    for (int e = 0; e < d; e++) outer *= cur[e];
    for (int e = d + 1; e < m.ndim; e++) inner *= cur[e];
    const int64_t len_in = cur[d], len_out = xs[d];
    cur[d] = len_out;
    const int64_t n = outer * len_out * inner;
    float* dst = gx.fw();
    if (d > m.ndim - m.k) {
      tmp.push_back(std::make_unique<Scratch>(c.dev, static_cast<size_t>(std::max<int64_t>(n, 1)) * 4));
      dst = tmp.back()->as<float>();
    }
    if (n > 0) pad_fold<<<grid_for(n), kThreads, 0, s>>>(n, outer, inner, len_in, len_out, m.before[d], m.after[d], m.mode, src, dst);
    src = dst;
  }
}

// gather: (x, indices int32) -> x.shape[:axis] + indices.shape + x.shape[axis+1:] (4-byte x).
void launch_gather(const Call& c) {
  expect_io(c, 2, 2, 1);
  const Desc &x = c.in[0], &idx = c.in[1], &y = c.out[0];
  expect_dtype(c, idx, kI32, "indices");
  if (x.dtype != y.dtype) fail(kDtype, "gather: the output must have x's dtype");
  const int64_t a = norm_axis(c, c.integer("axis", 0), x.rank());
  int64_t P, A, Q;
  around(x.shape, a, P, A, Q);
  std::vector<int64_t> want(x.shape.begin(), x.shape.begin() + std::min<int64_t>(a, x.rank()));
  want.insert(want.end(), idx.shape.begin(), idx.shape.end());
  if (x.rank() > 0) want.insert(want.end(), x.shape.begin() + a + 1, x.shape.end());
  expect_shape(c, y, want, "output");
  const int64_t bad = first_bad_index(c.dev, idx.i(), idx.numel(), 0, A, INT64_MIN);
  if (bad >= 0)
    fail(kIndex, "gather: the index at position " + std::to_string(bad) + " is out of range [0, " + std::to_string(A) + ") for axis " +
                     std::to_string(a) + " of x " + shape_str(x.shape));
  const int64_t n = y.numel();
  if (n == 0) return;
  gather_kernel<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(P, A, Q, idx.numel(), idx.i(), static_cast<const uint32_t*>(x.data),
                                                                static_cast<uint32_t*>(y.data));
}

// gather_backward: (dy, indices) -> gx of attr shape (repeated indices accumulate, in order).
void launch_gather_backward(const Call& c) {
  expect_io(c, 2, 2, 1);
  const Desc &dy = c.in[0], &idx = c.in[1], &gx = c.out[0];
  expect_dtype(c, dy, kF32, "dy");
  expect_dtype(c, idx, kI32, "indices");
  expect_dtype(c, gx, kF32, "output");
  const auto xs = c.has("shape") ? c.ints("shape") : gx.shape;
  expect_shape(c, gx, xs, "output");
  const int64_t a = norm_axis(c, c.integer("axis", 0), static_cast<int64_t>(xs.size()));
  int64_t P, A, Q;
  around(xs, a, P, A, Q);
  std::vector<int64_t> want(xs.begin(), xs.begin() + std::min<int64_t>(a, static_cast<int64_t>(xs.size())));
  want.insert(want.end(), idx.shape.begin(), idx.shape.end());
  if (!xs.empty()) want.insert(want.end(), xs.begin() + a + 1, xs.end());
  expect_shape(c, dy, want, "dy");
  const int64_t bad = first_bad_index(c.dev, idx.i(), idx.numel(), 0, A, INT64_MIN);
  if (bad >= 0) fail(kIndex, "gather_backward: the index at position " + std::to_string(bad) + " is out of range [0, " + std::to_string(A) + ")");
  if (gx.numel() == 0) return;
  const int64_t cols = P * Q;
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(A, (65536 + cols - 1) / std::max<int64_t>(cols, 1)));
  gather_backward_kernel<<<grid_for(chunks * cols), kThreads, 0, stream_of(c.dev)>>>(P, A, Q, idx.numel(), chunks, idx.i(), dy.f(), gx.fw());
}

// one_hot_encoding: indices int32 -> float32 indices.shape + [depth]; every index in [0, depth).
void launch_one_hot(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &idx = c.in[0], &y = c.out[0];
  expect_dtype(c, idx, kI32, "indices");
  expect_dtype(c, y, kF32, "output");
  const int64_t depth = c.integer("depth", 0);
  if (depth < 1) fail(kAttr, "one_hot_encoding: depth must be >= 1");
  std::vector<int64_t> want = idx.shape;
  want.push_back(depth);
  expect_shape(c, y, want, "output");
  const int64_t bad = first_bad_index(c.dev, idx.i(), idx.numel(), 0, depth, INT64_MIN);
  if (bad >= 0)
    fail(kIndex, "one_hot_encoding: the index at position " + std::to_string(bad) + " is out of range [0, " + std::to_string(depth) + ")");
  if (y.numel() == 0) return;
  one_hot_kernel<<<grid_for(y.numel()), kThreads, 0, stream_of(c.dev)>>>(idx.numel(), depth, idx.i(), y.fw());
}

// arange: () -> start, start + step, ... (attrs start, stop, step; the output's length and dtype).
void launch_arange(const Call& c) {
  expect_io(c, 0, 0, 1);
  const Desc& y = c.out[0];
  const double start = c.num("start", 0), stop = c.num("stop", NAN), step = c.num("step", 1);
  if (!std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step) || step == 0)
    fail(kAttr, "arange: start, stop and a non-zero step must be finite numbers");
  const int64_t n = static_cast<int64_t>(std::max(0.0, std::ceil((stop - start) / step)));
  expect_shape(c, y, {n}, "output");
  if (y.dtype != kF32 && y.dtype != kI32) fail(kDtype, "arange: float32 or int32 output");
  if (n == 0) return;
  arange_kernel<<<grid_for(n), kThreads, 0, stream_of(c.dev)>>>(n, start, step, y.dtype == kI32, y.data);
}

// astype: float32 <-> int32 (float32 -> int32 truncates; NaN, infinities and values outside
// int32 are ERR_DTYPE, checked before returning: a sync). Same dtype: a copy.
void launch_astype(const Call& c) {
  expect_io(c, 1, 1, 1);
  const Desc &x = c.in[0], &y = c.out[0];
  expect_shape(c, y, x.shape, "output");
  const int64_t n = x.numel();
  if (n == 0) return;
  cudaStream_t s = stream_of(c.dev);
  if (x.dtype == y.dtype) {
    check_cuda(cudaMemcpyAsync(y.data, x.data, static_cast<size_t>(n) * 4, cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync");
  } else if (y.dtype == kF32) {
    to_float_kernel<<<grid_for(n), kThreads, 0, s>>>(n, x.i(), y.fw());
  } else {
    Scratch flag(c.dev, sizeof(unsigned long long));
    check_cuda(cudaMemsetAsync(flag.ptr, 0xff, sizeof(unsigned long long), s), "cudaMemsetAsync");
    to_int_kernel<<<grid_for(n), kThreads, 0, s>>>(n, x.f(), y.iw(), flag.as<unsigned long long>());
    unsigned long long bad = ~0ull;
    check_cuda(cudaMemcpyAsync(&bad, flag.ptr, sizeof bad, cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync");
    check_cuda(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    if (bad != ~0ull) fail(kDtype, "astype: the value at flat index " + std::to_string(bad) + " is NaN, infinite or outside int32");
  }
}

// conv1d: (x (N, C, L), w (Cout, C/groups, k), bias?) -> y (N, Cout, L') on the conv2d kernel
// with a unit height (attrs stride, padding (one number or [left, right]), dilation, groups,
// padding_mode, as single numbers).
void launch_conv1d(const Call& c) {
  expect_io(c, 2, 3, 1);
  Call c2 = c;
  for (auto* list : {&c2.in, &c2.out})
    for (size_t i = 0; i < list->size(); i++) {
      Desc& d = (*list)[i];
      if (list == &c2.in && i == 2) continue;  // bias stays 1-D
      if (d.rank() != 3) fail(kShape, "conv1d: x, w and the output must be 3-D, got " + shape_str(d.shape));
      d.shape.insert(d.shape.begin() + 2, 1);
    }
  c2.attrs.clear();
  for (auto& a : c.attrs) {
    const std::string& k = a.name;
    if (k == "stride" || k == "dilation") {
      if (a.values.size() != 1) fail(kAttr, "conv1d: attribute '" + k + "' must be one number");
      c2.attrs.push_back({k, {1, a.values[0]}});
    } else if (k == "padding") {
      if (a.values.size() == 1) c2.attrs.push_back({k, {0, 0, a.values[0], a.values[0]}});
      else if (a.values.size() == 2) c2.attrs.push_back({k, {0, 0, a.values[0], a.values[1]}});
      else fail(kAttr, "conv1d: padding must be one number or [left, right]");
    } else {
      c2.attrs.push_back(a);
    }
  }
  c2.op = "conv1d";
  launch_conv2d(c2);
}

}  // namespace ravdl_cuda

// Padding of the last k dims and its gradient, through per-dim source-index tables.
#include "ravdl/pad.h"

#include <algorithm>
#include <cstring>

#include "ravdl/parallel.h"

namespace ravdl {

// Source index of output position o along one dim of size n, or -1 for constant padding.
// Negative pads crop. constant/reflect/replicate follow torch's index rule i = o - before on
// the uncropped dim; circular (torch's _pad_circular) crops first, then wraps around the
// cropped part. The validity rules of checked_padded_shape make one fold enough.
int64_t detail::pad_source(int64_t o, int64_t before, int64_t after, int64_t n, PadMode m) {
  if (m == PadMode::Circular) {
    const int64_t start = std::max<int64_t>(-before, 0);
    const int64_t kept = n - start - std::max<int64_t>(-after, 0);
    int64_t k = o - std::max<int64_t>(before, 0);
    if (k < 0) k += kept;
    else if (k >= kept) k -= kept;
    return start + k;
  }
  int64_t i = o - before;
  if (i >= 0 && i < n) return i;
  switch (m) {
    case PadMode::Constant: return -1;
    case PadMode::Reflect: return i < 0 ? -i : 2 * (n - 1) - i;
    case PadMode::Replicate: return i < 0 ? 0 : n - 1;
    case PadMode::Circular: break;
  }
  return -1;
}

namespace {

// Checks pads against the unpadded shape xs; returns the padded shape.
Shape checked_padded_shape(const char* op, const Shape& xs, const std::vector<int64_t>& pads,
                           PadMode mode) {
  if (pads.size() % 2 != 0)
    fail(ErrorCode::Attr, op, ": pads must hold [before, after] pairs, got ", pads.size(), " values");
  size_t k = pads.size() / 2;
  if (k > xs.size())
    fail(ErrorCode::Attr, op, ": pads has ", k, " [before, after] pairs but the input ",
         shape_str(xs), " has only ", xs.size(), " dims");
  Shape ys = xs;
  for (size_t j = 0; j < k; ++j) {
    size_t d = xs.size() - k + j;
    int64_t n = xs[d], b = pads[2 * j], a = pads[2 * j + 1];
    for (int64_t p : {b, a})
      if (p > (int64_t{1} << 31) || p < -(int64_t{1} << 31))
        fail(ErrorCode::Attr, op, ": pad ", p, " for dim ", d, " is too large");
    // Negative pads crop; together they may remove at most the whole dim.
    const int64_t kept = n - std::max<int64_t>(-b, 0) - std::max<int64_t>(-a, 0);
    if (kept < 0)
      fail(ErrorCode::Attr, op, ": negative pads [", b, ", ", a, "] crop more than dim ", d,
           " of size ", n, " holds");
    for (int64_t p : {b, a}) {
      if (p <= 0) continue;
      if (mode == PadMode::Reflect && p >= n)
        fail(ErrorCode::Attr, op, ": reflect padding must be < the dim size, got pad ", p,
             " for dim ", d, " of size ", n);
      if (mode == PadMode::Circular && p > kept)
        fail(ErrorCode::Attr, op, ": circular padding must be <= the dim size", kept < n ? " after cropping" : "",
             ", got pad ", p, " for dim ", d, " of size ", kept);
      if (mode == PadMode::Replicate && n == 0)
        fail(ErrorCode::Attr, op, ": replicate padding needs a non-empty dim, got pad ", p,
             " for dim ", d, " of size 0");
    }
    ys[d] = n + b + a;
  }
  numel(ys);  // rejects overflow
  return ys;
}

// x's shape grown by the pads (already validated).
Shape padded_shape(const Shape& xs, const std::vector<int64_t>& pads) {
  Shape ys = xs;
  const size_t k = pads.size() / 2;
  for (size_t j = 0; j < k; ++j) ys[xs.size() - k + j] += pads[2 * j] + pads[2 * j + 1];
  return ys;
}

// Index tables and strides shared by the forward and backward kernels.
struct Plan {
  size_t k = 0;
  int64_t outer = 1;                       // product of the unpadded leading dims
  int64_t xblock = 1;                      // elements of x per outer index
  Shape xs, ys, xstr;
  std::vector<std::vector<int64_t>> maps;  // per padded dim: out index -> src index or -1

  Plan(const Shape& x, const std::vector<int64_t>& pads, PadMode mode) : xs(x) {
    k = pads.size() / 2;
    ys = xs;
    size_t r = xs.size();
    for (size_t d = 0; d + k < r; ++d) outer *= xs[d];
    for (size_t d = r - k; d < r; ++d) xblock *= xs[d];
    maps.resize(k);
    for (size_t j = 0; j < k; ++j) {
      size_t d = r - k + j;
      ys[d] = xs[d] + pads[2 * j] + pads[2 * j + 1];
      maps[j].resize(static_cast<size_t>(ys[d]));
      for (int64_t o = 0; o < ys[d]; ++o)
        maps[j][o] = detail::pad_source(o, pads[2 * j], pads[2 * j + 1], xs[d], mode);
    }
    xstr = contiguous_strides(xs);
  }
  int64_t out_last() const { return ys.back(); }
  // Rows (all dims but the last) of the padded part of one outer block.
  int64_t rows_per_outer() const {
    int64_t n = 1;
    for (size_t j = 0; j + 1 < k; ++j) n *= ys[ys.size() - k + j];
    return n;
  }
  // Source offset (into x) of output row `row` within outer block `o`, or -1 when the row
  // lies in constant padding.
  int64_t src_row(int64_t o, int64_t row) const {
    size_t r = xs.size();
    int64_t off = o * xblock;
    for (size_t j = k - 1; j-- > 0;) {
      size_t d = r - k + j;
      int64_t c = row % ys[d];
      row /= ys[d];
      int64_t s = maps[j][c];
      if (s < 0) return -1;
      off += s * xstr[d];
    }
    return off;
  }
};

}  // namespace

PadMode pad_mode_from(const char* op, const std::string& name) {
  if (name == "constant") return PadMode::Constant;
  if (name == "reflect") return PadMode::Reflect;
  if (name == "replicate") return PadMode::Replicate;
  if (name == "circular") return PadMode::Circular;
  fail(ErrorCode::Attr, op, ": mode must be 'constant', 'reflect', 'replicate' or 'circular', got '",
       name, "'");
}

const char* pad_mode_name(PadMode m) {
  switch (m) {
    case PadMode::Constant: return "constant";
    case PadMode::Reflect: return "reflect";
    case PadMode::Replicate: return "replicate";
    case PadMode::Circular: return "circular";
  }
  return "?";
}

Shape pad_shape(const char* op, const Shape& x, const std::vector<int64_t>& pads, PadMode mode) {
  numel(x);
  return checked_padded_shape(op, x, pads, mode);
}

Shape pad_backward_shape(const char* op, const Shape& gy, const std::vector<int64_t>& pads,
                         PadMode mode) {
  numel(gy);
  if (pads.size() % 2 != 0 || pads.size() / 2 > gy.size()) return checked_padded_shape(op, gy, pads, mode);
  Shape xs = gy;
  size_t k = pads.size() / 2;
  for (size_t j = 0; j < k; ++j) {
    size_t d = gy.size() - k + j;
    const int64_t b = pads[2 * j], a = pads[2 * j + 1];
    constexpr int64_t kMax = int64_t{1} << 31;
    if (b > kMax || b < -kMax || a > kMax || a < -kMax) return checked_padded_shape(op, gy, pads, mode);
    xs[d] = gy[d] - b - a;
    if (xs[d] < 0)
      fail(ErrorCode::Shape, op, ": gy ", shape_str(gy), " is smaller than the pads along dim ", d);
  }
  checked_padded_shape(op, xs, pads, mode);
  return xs;
}

void pad(CFView x, const std::vector<int64_t>& pads, PadMode mode, float value, FSpan out) {
  Shape ys = pad_shape("pad", x.shape, pads, mode);
  FView y = out_view("pad", "out", out, ys);
  check_no_alias("pad", "out", y.data, static_cast<size_t>(y.numel()), "x", x.data,
                 static_cast<size_t>(x.numel()));
  detail::pad_raw(x.data, x.shape, pads, mode, value, y.data, true);
}

void pad_backward(CFView gy, const std::vector<int64_t>& pads, PadMode mode, FSpan gx) {
  Shape xs = pad_backward_shape("pad_backward", gy.shape, pads, mode);
  FView g = out_view("pad_backward", "gx", gx, xs);
  check_no_alias("pad_backward", "gx", g.data, static_cast<size_t>(g.numel()), "gy", gy.data,
                 static_cast<size_t>(gy.numel()));
  detail::pad_backward_raw(gy.data, xs, pads, mode, g.data, true);
}

namespace detail {

void pad_raw(const float* x, const Shape& xs, const std::vector<int64_t>& pads, PadMode mode,
             float value, float* y, bool parallel) {
  int64_t total = numel(xs);
  if (pads.empty()) {
    if (total) std::memcpy(y, x, static_cast<size_t>(total) * sizeof(float));
    return;
  }
  // No output: return before the index tables, whose size follows the (maybe huge) padded dims.
  if (numel(padded_shape(xs, pads)) == 0) return;
  Plan p(xs, pads, mode);
  const int64_t L = p.out_last(), rows = p.rows_per_outer();
  if (L == 0 || rows == 0 || p.outer == 0) return;
  const std::vector<int64_t>& last = p.maps.back();
  auto body = [&](int64_t r0, int64_t r1) {
    for (int64_t ri = r0; ri < r1; ++ri) {
      float* yr = y + ri * L;
      int64_t src = p.src_row(ri / rows, ri % rows);
      if (src < 0) {
        std::fill(yr, yr + L, value);
        continue;
      }
      const float* xr = x + src;
      for (int64_t o = 0; o < L; ++o) yr[o] = last[o] < 0 ? value : xr[last[o]];
    }
  };
  int64_t n = p.outer * rows;
  if (parallel) parallel_for(n, std::max<int64_t>(1, 16384 / L), body);
  else body(0, n);
}

void pad_backward_raw(const float* gy, const Shape& xs, const std::vector<int64_t>& pads,
                      PadMode mode, float* gx, bool parallel) {
  int64_t total = numel(xs);
  if (pads.empty()) {
    if (total) std::memcpy(gx, gy, static_cast<size_t>(total) * sizeof(float));
    return;
  }
  if (total == 0) return;
  if (numel(padded_shape(xs, pads)) == 0) {  // everything cropped or empty: no gradient reaches x
    std::fill(gx, gx + total, 0.0f);
    return;
  }
  Plan p(xs, pads, mode);
  const int64_t L = p.out_last(), rows = p.rows_per_outer();
  const int64_t xblock = p.xblock;
  const std::vector<int64_t>& last = p.maps.back();
  // Rows of one outer block may fold onto the same source row, so only blocks run in parallel.
  auto body = [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      std::fill(gx + o * xblock, gx + (o + 1) * xblock, 0.0f);
      for (int64_t row = 0; row < rows; ++row) {
        int64_t src = p.src_row(o, row);
        if (src < 0) continue;
        const float* gr = gy + (o * rows + row) * L;
        float* xr = gx + src;
        for (int64_t i = 0; i < L; ++i)
          if (last[i] >= 0) xr[last[i]] += gr[i];
      }
    }
  };
  int64_t per = std::max<int64_t>(1, rows * L);
  if (parallel) parallel_for(p.outer, std::max<int64_t>(1, 16384 / per), body);
  else body(0, p.outer);
}

}  // namespace detail
}  // namespace ravdl

// Broadcasting binary ops, where and broadcast_to. Shapes are first collapsed (size-1 output
// dims dropped, dims that are contiguous for every operand merged), so the common cases
// become one inner loop: same shape (vector-vector), scalar operand (scalar-vector), row
// broadcast (vector-vector per row) and column broadcast (vector-scalar per row).
#include <array>
#include <cmath>
#include <vector>

#include "ravdl/elementwise.h"
#include "ravdl/parallel.h"

namespace ravdl {
namespace {

constexpr int64_t kGrain = 32768;  // elements per chunk: ~30 µs of memory-bound work

// Output dims after collapsing, each with the element stride of every input (0 = broadcast).
template <int N>
struct Plan {
  std::vector<int64_t> dims;
  std::vector<std::array<int64_t, N>> strides;
};

template <int N>
Plan<N> make_plan(const Shape& out, const std::array<const Shape*, N>& ins) {
  std::array<Shape, N> st;
  for (int k = 0; k < N; ++k) st[k] = broadcast_strides(*ins[k], out);
  Plan<N> p;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 1) continue;
    std::array<int64_t, N> s;
    for (int k = 0; k < N; ++k) s[k] = st[k][i];
    if (!p.dims.empty()) {
      // Merge into the previous dim when every input walks both dims as one run.
      bool merge = true;
      for (int k = 0; k < N; ++k) merge = merge && p.strides.back()[k] == s[k] * out[i];
      if (merge) {
        p.dims.back() *= out[i];
        p.strides.back() = s;
        continue;
      }
    }
    p.dims.push_back(out[i]);
    p.strides.push_back(s);
  }
  if (p.dims.empty()) {  // a single element
    p.dims.push_back(1);
    p.strides.push_back({});
  }
  return p;
}

// Calls seg(offsets, out_pos, len, inner_strides) for the rows of output range [begin, end).
template <int N, class Seg>
void for_segments(const Plan<N>& p, int64_t begin, int64_t end, Seg seg) {
  const int r = static_cast<int>(p.dims.size());
  const int64_t inner = p.dims[r - 1];
  const auto& is = p.strides[r - 1];
  std::vector<int64_t> coord(r, 0);
  std::array<int64_t, N> off{};
  int64_t row = begin / inner, col = begin % inner;
  for (int d = r - 2; d >= 0; --d) {
    coord[d] = row % p.dims[d];
    row /= p.dims[d];
    for (int k = 0; k < N; ++k) off[k] += coord[d] * p.strides[d][k];
  }
  int64_t pos = begin;
  while (pos < end) {
    int64_t len = std::min(inner - col, end - pos);
    std::array<int64_t, N> o;
    for (int k = 0; k < N; ++k) o[k] = off[k] + col * is[k];
    seg(o, pos, len, is);
    pos += len;
    col = 0;
    for (int d = r - 2; d >= 0; --d) {  // odometer step over the outer dims
      for (int k = 0; k < N; ++k) off[k] += p.strides[d][k];
      if (++coord[d] < p.dims[d]) break;
      for (int k = 0; k < N; ++k) off[k] -= coord[d] * p.strides[d][k];
      coord[d] = 0;
    }
  }
}

inline bool truthy(float v) { return v != 0.0f; }  // NaN is true, like torch's bool()

#define RAVDL_BIN(E, expr)                                   \
  struct E {                                                 \
    float operator()(float a, float b) const { return expr; } \
  };
RAVDL_BIN(Add, a + b)
RAVDL_BIN(Sub, a - b)
RAVDL_BIN(Mul, a * b)
RAVDL_BIN(Div, a / b)
RAVDL_BIN(Pow, std::pow(a, b))
// torch.maximum/minimum propagate NaN from either side.
RAVDL_BIN(Maximum, (a > b || a != a) ? a : b)
RAVDL_BIN(Minimum, (a < b || a != a) ? a : b)
RAVDL_BIN(Eq, a == b ? 1.0f : 0.0f)
RAVDL_BIN(Ne, a != b ? 1.0f : 0.0f)
RAVDL_BIN(Lt, a < b ? 1.0f : 0.0f)
RAVDL_BIN(Le, a <= b ? 1.0f : 0.0f)
RAVDL_BIN(Gt, a > b ? 1.0f : 0.0f)
RAVDL_BIN(Ge, a >= b ? 1.0f : 0.0f)
RAVDL_BIN(LogicalAnd, (truthy(a) && truthy(b)) ? 1.0f : 0.0f)
RAVDL_BIN(LogicalOr, (truthy(a) || truthy(b)) ? 1.0f : 0.0f)
RAVDL_BIN(LogicalXor, (truthy(a) != truthy(b)) ? 1.0f : 0.0f)
#undef RAVDL_BIN

// One row: inner strides are 0 or 1 after collapsing; each combination gets its own loop.
template <class F>
inline void binary_row(F f, const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
  } else if (sa == 0 && sb == 1) {
    const float av = *a;
    for (int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = *b;
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i * sa], b[i * sb]);
  }
}

template <class F>
void run_binary(const Plan<2>& p, const float* a, const float* b, float* o, int64_t n) {
  F f;
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    for_segments<2>(p, begin, end, [&](const std::array<int64_t, 2>& off, int64_t pos, int64_t len,
                                       const std::array<int64_t, 2>& is) {
      binary_row(f, a + off[0], is[0], b + off[1], is[1], o + pos, len);
    });
  });
}

// out may be exactly an input of the output's own shape; any other overlap is refused.
void check_operand_alias(const char* op, const FView& out, const char* name, const float* in,
                         const Shape& in_shape) {
  auto n = static_cast<size_t>(out.numel());
  if (in == out.data && numel(in_shape) == out.numel()) return;
  check_no_alias(op, "out", out.data, n, name, in, static_cast<size_t>(numel(in_shape)));
}

// The output shape must be exactly the broadcast of the inputs.
void check_out_shape(const char* op, const Shape& want, const FView& out) {
  if (want != out.shape)
    fail(ErrorCode::Shape, op, ": out has shape ", shape_str(out.shape), " but the inputs broadcast to ",
         shape_str(want));
}

template <class C>
void where_impl(View<const C> cond, CFView a, CFView b, FView out) {
  const char* op = "where";
  Shape s = broadcast_shapes(op, broadcast_shapes(op, cond.shape, a.shape), b.shape);
  check_out_shape(op, s, out);
  check_operand_alias(op, out, "a", a.data, a.shape);
  check_operand_alias(op, out, "b", b.data, b.shape);
  check_no_alias(op, "out", out.data, static_cast<size_t>(out.numel()), "cond", cond.data,
                 static_cast<size_t>(cond.numel()));
  Plan<3> p = make_plan<3>(out.shape, {&cond.shape, &a.shape, &b.shape});
  const C* c = cond.data;
  float* o = out.data;
  parallel_for(out.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for_segments<3>(p, begin, end, [&](const std::array<int64_t, 3>& off, int64_t pos, int64_t len,
                                       const std::array<int64_t, 3>& is) {
      const C* cr = c + off[0];
      const float* ar = a.data + off[1];
      const float* br = b.data + off[2];
      float* orow = o + pos;
      if (is[0] == 1 && is[1] == 1 && is[2] == 1) {
        for (int64_t i = 0; i < len; ++i) orow[i] = cr[i] != C(0) ? ar[i] : br[i];
      } else {
        for (int64_t i = 0; i < len; ++i) orow[i] = cr[i * is[0]] != C(0) ? ar[i * is[1]] : br[i * is[2]];
      }
    });
  });
}

}  // namespace

const char* binary_name(BinaryOp op) {
  switch (op) {
#define RAVDL_CASE(name, E) \
  case BinaryOp::E: return #name;
    RAVDL_BINARY_OPS(RAVDL_CASE)
#undef RAVDL_CASE
  }
  return "binary";
}

template <class F>
void run_flat(const float* a, const float* b, float* o, int64_t n) {
  F f;
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    binary_row(f, a + begin, 1, b + begin, 1, o + begin, end - begin);
  });
}

void binary_flat(BinaryOp op, Span<const float> a, Span<const float> b, FSpan out) {
  const char* name = binary_name(op);
  if (a.size != out.size || b.size != out.size)
    fail(ErrorCode::Shape, name, ": flat operands need one length, got a ", a.size, ", b ", b.size, ", out ",
         out.size);
  if (a.data != out.data) check_no_alias(name, "out", out.data, out.size, "a", a.data, a.size);
  if (b.data != out.data) check_no_alias(name, "out", out.data, out.size, "b", b.data, b.size);
  auto n = static_cast<int64_t>(out.size);
  if (n == 0) return;
  switch (op) {
#define RAVDL_CASE(name, E) \
  case BinaryOp::E: return run_flat<E>(a.data, b.data, out.data, n);
    RAVDL_BINARY_OPS(RAVDL_CASE)
#undef RAVDL_CASE
  }
}

void binary(BinaryOp op, CFView a, CFView b, FView out) {
  const char* name = binary_name(op);
  if (a.shape == b.shape && a.shape == out.shape) {
    // Equal shapes, the common case: no broadcasting plan (its allocations dominate small calls).
    auto n = static_cast<size_t>(out.numel());
    return binary_flat(op, {a.data, n}, {b.data, n}, {out.data, n});
  }
  Shape s = broadcast_shapes(name, a.shape, b.shape);
  check_out_shape(name, s, out);
  check_operand_alias(name, out, "a", a.data, a.shape);
  check_operand_alias(name, out, "b", b.data, b.shape);
  int64_t n = out.numel();
  if (n == 0) return;
  Plan<2> p = make_plan<2>(out.shape, {&a.shape, &b.shape});
  switch (op) {
#define RAVDL_CASE(name, E) \
  case BinaryOp::E: return run_binary<E>(p, a.data, b.data, out.data, n);
    RAVDL_BINARY_OPS(RAVDL_CASE)
#undef RAVDL_CASE
  }
}

void where(View<const float> cond, CFView a, CFView b, FView out) { where_impl(cond, a, b, out); }
void where(View<const uint8_t> cond, CFView a, CFView b, FView out) { where_impl(cond, a, b, out); }

void broadcast_to(CFView x, FView out) {
  const char* op = "broadcast_to";
  if (x.shape.size() > out.shape.size() || broadcast_shapes(op, x.shape, out.shape) != out.shape)
    fail(ErrorCode::Shape, op, ": shape ", shape_str(x.shape), " cannot be broadcast to ",
         shape_str(out.shape));
  check_no_alias(op, "out", out.data, static_cast<size_t>(out.numel()), "x", x.data,
                 static_cast<size_t>(x.numel()));
  Plan<1> p = make_plan<1>(out.shape, {&x.shape});
  float* o = out.data;
  parallel_for(out.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for_segments<1>(p, begin, end, [&](const std::array<int64_t, 1>& off, int64_t pos, int64_t len,
                                       const std::array<int64_t, 1>& is) {
      const float* xr = x.data + off[0];
      float* orow = o + pos;
      if (is[0] == 1) {
        for (int64_t i = 0; i < len; ++i) orow[i] = xr[i];
      } else {
        for (int64_t i = 0; i < len; ++i) orow[i] = xr[i * is[0]];
      }
    });
  });
}

}  // namespace ravdl

// Reductions over any set of axes. The input's dims are classified kept/reduced, size-1 dims
// dropped and neighbours of the same class merged, leaving two layouts:
//   A) the innermost run is reduced: each output reduces contiguous runs (8-lane accumulators);
//   B) the innermost run is kept: each output column accumulates one element per reduced row.
// Accumulators are double. Work splits depend only on the shape, never on the thread count,
// so results are bitwise reproducible across thread counts.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ravdl/parallel.h"
#include "ravdl/reduce.h"

namespace ravdl {
namespace {

constexpr int64_t kGrain = 32768;   // elements per parallel task (~30 µs)
constexpr int64_t kChunk = 65536;   // reduced elements per partial when outputs are few
constexpr int64_t kFewOutputs = 16;  // below this many outputs, split the reduction itself
constexpr int64_t kTile = 512;      // output columns per task in layout B

// Accumulators: init, step(acc, x, center) and combine(acc, acc), all in double.
struct SumAcc {
  static constexpr bool kCentered = false;
  static double init() { return 0.0; }
  static double step(double a, float x, double) { return a + x; }
  static double combine(double a, double b) { return a + b; }
};
struct ProdAcc {
  static constexpr bool kCentered = false;
  static double init() { return 1.0; }
  static double step(double a, float x, double) { return a * x; }
  static double combine(double a, double b) { return a * b; }
};
struct MaxAcc {  // NaN wins, like torch
  static constexpr bool kCentered = false;
  static double init() { return -std::numeric_limits<double>::infinity(); }
  // Bitwise | (not ||): one select without a branch, so the lanes vectorize.
  static double step(double a, float x, double) { return ((x > a) | (x != x)) ? x : a; }
  static double combine(double a, double b) { return ((b > a) | (b != b)) ? b : a; }
};
struct MinAcc {
  static constexpr bool kCentered = false;
  static double init() { return std::numeric_limits<double>::infinity(); }
  static double step(double a, float x, double) { return ((x < a) | (x != x)) ? x : a; }
  static double combine(double a, double b) { return ((b < a) | (b != b)) ? b : a; }
};
struct SqDevAcc {  // sum of (x - mean)^2, the second pass of var/std
  static constexpr bool kCentered = true;
  static double init() { return 0.0; }
  static double step(double a, float x, double c) {
    double d = x - c;
    return a + d * d;
  }
  static double combine(double a, double b) { return a + b; }
};

struct Dim {
  int64_t size, stride;
};

// Offset of linear index `idx` over `dims` (row-major).
inline int64_t offset_of(const std::vector<Dim>& dims, int64_t idx) {
  int64_t off = 0;
  for (size_t d = dims.size(); d-- > 0;) {
    off += (idx % dims[d].size) * dims[d].stride;
    idx /= dims[d].size;
  }
  return off;
}

// Walks the offsets of `dims` in row-major order starting at linear index `start`.
struct Odometer {
  const std::vector<Dim>& dims;
  std::vector<int64_t> coord;
  int64_t off = 0;
  Odometer(const std::vector<Dim>& d, int64_t start) : dims(d), coord(d.size(), 0) {
    for (size_t k = dims.size(); k-- > 0;) {
      coord[k] = start % dims[k].size;
      start /= dims[k].size;
      off += coord[k] * dims[k].stride;
    }
  }
  void next() {
    for (size_t k = dims.size(); k-- > 0;) {
      off += dims[k].stride;
      if (++coord[k] < dims[k].size) return;
      off -= coord[k] * dims[k].stride;
      coord[k] = 0;
    }
  }
};

struct Plan {
  bool inner_reduced = false;  // layout A
  int64_t inner = 1;           // innermost run length (stride 1)
  std::vector<Dim> kept, red;  // the other dims of each class, outer to inner
  int64_t n_out = 1, n_red = 1;
};

Plan make_plan(const Shape& shape, const std::vector<int64_t>& axes) {
  std::vector<bool> is_red(shape.size(), false);
  for (int64_t a : axes) is_red[static_cast<size_t>(a)] = true;
  Shape st = contiguous_strides(shape);
  struct G {
    int64_t size, stride;
    bool red;
  };
  std::vector<G> groups;
  Plan p;
  for (size_t i = 0; i < shape.size(); ++i) {
    (is_red[i] ? p.n_red : p.n_out) *= shape[i];
    if (shape[i] == 1) continue;
    if (!groups.empty() && groups.back().red == is_red[i]) {  // contiguous input: always mergeable
      groups.back().size *= shape[i];
      groups.back().stride = st[i];
    } else {
      groups.push_back({shape[i], st[i], is_red[i]});
    }
  }
  if (groups.empty()) groups.push_back({1, 1, false});
  p.inner_reduced = groups.back().red;
  p.inner = groups.back().size;
  groups.pop_back();
  for (const G& g : groups) (g.red ? p.red : p.kept).push_back({g.size, g.stride});
  return p;
}

// 8 independent lanes over a contiguous run, so the loop vectorizes and the dependency
// chain of the double adds is broken.
template <class A>
inline double reduce_run(const float* x, int64_t n, double c) {
  if (n < 32) {  // short runs (many small outputs): lanes would cost more than they save
    double a = A::init();
    for (int64_t i = 0; i < n; ++i) a = A::step(a, x[i], c);
    return a;
  }
  double acc[8];
  for (double& a : acc) a = A::init();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] = A::step(acc[k], x[i + k], c);
  for (; i < n; ++i) acc[0] = A::step(acc[0], x[i], c);
  for (int w = 4; w >= 1; w /= 2)
    for (int k = 0; k < w; ++k) acc[k] = A::combine(acc[k], acc[k + w]);
  return acc[0];
}

// Layout A, reduced elements [r0, r1) of the output whose kept offset is `base`.
template <class A>
double reduce_a_range(const Plan& p, const float* x, int64_t base, int64_t r0, int64_t r1, double c) {
  if (p.red.empty()) return reduce_run<A>(x + base + r0, r1 - r0, c);  // one contiguous run
  double acc = A::init();
  int64_t s = r0 / p.inner, l = r0 % p.inner;
  Odometer od(p.red, s);
  for (int64_t r = r0; r < r1;) {
    int64_t len = std::min(p.inner - l, r1 - r);
    acc = A::combine(acc, reduce_run<A>(x + base + od.off + l, len, c));
    r += len;
    l = 0;
    od.next();
  }
  return acc;
}

template <class A>
void layout_a(const Plan& p, const float* x, const double* center, double* res) {
  auto c_of = [&](int64_t o) { return A::kCentered ? center[o] : 0.0; };
  if (p.n_out >= kFewOutputs) {
    parallel_for(p.n_out, std::max<int64_t>(1, kGrain / p.n_red), [&](int64_t b, int64_t e) {
      int64_t o = b;
      if (p.red.empty() && p.inner < 32) {
        // Short rows: 8 outputs at a time, so 8 independent add chains overlap. Each output
        // still adds its elements in order, exactly as reduce_run does for short runs.
        for (; o + 8 <= e; o += 8) {
          int64_t base[8];
          double acc[8];
          for (int k = 0; k < 8; ++k) {
            base[k] = offset_of(p.kept, o + k);
            acc[k] = A::init();
          }
          for (int64_t i = 0; i < p.inner; ++i)
            for (int k = 0; k < 8; ++k) acc[k] = A::step(acc[k], x[base[k] + i], c_of(o + k));
          for (int k = 0; k < 8; ++k) res[o + k] = acc[k];
        }
      }
      for (; o < e; ++o) res[o] = reduce_a_range<A>(p, x, offset_of(p.kept, o), 0, p.n_red, c_of(o));
    });
    return;
  }
  int64_t chunks = (p.n_red + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<size_t>(chunks));
  for (int64_t o = 0; o < p.n_out; ++o) {
    int64_t base = offset_of(p.kept, o);
    parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k)
        part[k] = reduce_a_range<A>(p, x, base, k * kChunk, std::min(p.n_red, (k + 1) * kChunk), c_of(o));
    });
    double acc = A::init();
    for (double v : part) acc = A::combine(acc, v);
    res[o] = acc;
  }
}

// Layout B: outputs are blocks of `inner` contiguous columns; each reduced row adds one
// element per column. Tasks are (block, column tile, row split) triples.
template <class A>
void layout_b(const Plan& p, const float* x, const double* center, double* res) {
  const int64_t L = p.inner, blocks = p.n_out / L, S = p.n_red;
  const int64_t tiles = (L + kTile - 1) / kTile;
  // Split the rows too when there are few tasks, into a shape-determined number of parts.
  int64_t splits = 1;
  if (blocks * tiles < kFewOutputs)
    splits = std::clamp<int64_t>(S * L * blocks / (4 * kChunk), 1, std::min<int64_t>(S, 32));
  const int64_t rows_per = (S + splits - 1) / splits;
  std::vector<double> part(splits > 1 ? static_cast<size_t>(splits * p.n_out) : 0);
  double* dst0 = splits > 1 ? part.data() : res;
  const int64_t tasks = blocks * tiles * splits;
  const int64_t work = std::min(L, kTile) * std::max<int64_t>(1, rows_per);
  parallel_for(tasks, std::max<int64_t>(1, kGrain / work), [&](int64_t tb, int64_t te) {
    double acc[kTile];
    for (int64_t t = tb; t < te; ++t) {
      int64_t sp = t % splits, tile = (t / splits) % tiles, blk = t / (splits * tiles);
      int64_t c0 = tile * kTile, w = std::min(kTile, L - c0);
      int64_t o0 = blk * L + c0;
      int64_t s0 = sp * rows_per, s1 = std::min(S, s0 + rows_per);
      const float* base = x + offset_of(p.kept, blk) + c0;
      for (int64_t j = 0; j < w; ++j) acc[j] = A::init();
      if (s0 < s1) {
        Odometer od(p.red, s0);
        for (int64_t s = s0; s < s1; ++s, od.next()) {
          const float* row = base + od.off;
          for (int64_t j = 0; j < w; ++j) acc[j] = A::step(acc[j], row[j], A::kCentered ? center[o0 + j] : 0.0);
        }
      }
      double* dst = dst0 + sp * (splits > 1 ? p.n_out : 0) + o0;
      for (int64_t j = 0; j < w; ++j) dst[j] = acc[j];
    }
  });
  if (splits > 1) {
    for (int64_t o = 0; o < p.n_out; ++o) {
      double acc = part[static_cast<size_t>(o)];
      for (int64_t sp = 1; sp < splits; ++sp) acc = A::combine(acc, part[static_cast<size_t>(sp * p.n_out + o)]);
      res[o] = acc;
    }
  }
}

// res[o] = accumulation of output o (double), for any layout.
template <class A>
void run(const Plan& p, const float* x, const double* center, double* res) {
  if (p.n_out == 0) return;
  if (p.n_red == 0) {
    std::fill(res, res + p.n_out, A::init());
    return;
  }
  if (p.inner_reduced) layout_a<A>(p, x, center, res);
  else layout_b<A>(p, x, center, res);
}

// argmax/argmin: `better(v, best)` is true when v replaces best (strictly, NaN first);
// Acc finds the extreme value itself (NaN-propagating, vectorized).
struct ArgMaxCmp {
  using Acc = MaxAcc;
  static bool better(float v, float best) { return v > best || (v != v && best == best); }
};
struct ArgMinCmp {
  using Acc = MinAcc;
  static bool better(float v, float best) { return v < best || (v != v && best == best); }
};

// Index of the first extreme of a contiguous run: the extreme by a lane-parallel pass, then
// the first element equal to it (or the first NaN), which is where a sequential scan would stop.
template <class C>
int64_t arg_run(const float* x, int64_t n) {
  const double m = reduce_run<typename C::Acc>(x, n, 0.0);
  int64_t i = 0;
  if (m != m) {
    while (x[i] == x[i]) ++i;
  } else {
    const auto mf = static_cast<float>(m);
    while (x[i] != mf) ++i;
  }
  return i;
}

template <class C>
void arg_impl(const char* op, CFView x, std::optional<int64_t> axis, bool keepdims, ISpan out) {
  Shape oshape = argreduce_shape(op, x.shape, axis, keepdims);
  out_view(op, "out", out, oshape);
  int64_t outer = 1, n = x.numel(), inner = 1;
  if (axis) {
    int64_t a = normalize_axis(op, *axis, x.rank());
    if (x.rank() == 0) {
      n = 1;
    } else {
      n = x.shape[static_cast<size_t>(a)];
      for (int64_t i = 0; i < a; ++i) outer *= x.shape[static_cast<size_t>(i)];
      for (int64_t i = a + 1; i < x.rank(); ++i) inner *= x.shape[static_cast<size_t>(i)];
    }
  }
  if (outer * inner == 0) return;
  if (n == 0) fail(ErrorCode::Shape, op, ": cannot reduce over a zero-size dimension of shape ", shape_str(x.shape));
  if (n > std::numeric_limits<int32_t>::max())
    fail(ErrorCode::Shape, op, ": the reduced length ", n, " does not fit an int32 index");
  const float* xd = x.data;
  int32_t* od = out.data;
  if (inner == 1 && outer < kFewOutputs && n >= 2 * kChunk) {
    // Few long rows: scan fixed chunks in parallel, then keep the first best chunk by chunk.
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    std::vector<int64_t> at(static_cast<size_t>(chunks));
    for (int64_t o = 0; o < outer; ++o) {
      const float* row = xd + o * n;
      parallel_for(chunks, 1, [&](int64_t cb, int64_t ce) {
        for (int64_t c = cb; c < ce; ++c) {
          int64_t i0 = c * kChunk;
          at[static_cast<size_t>(c)] = i0 + arg_run<C>(row + i0, std::min(n, i0 + kChunk) - i0);
        }
      });
      int64_t best = at[0];
      for (int64_t i : at)
        if (C::better(row[i], row[best])) best = i;
      od[o] = static_cast<int32_t>(best);
    }
    return;
  }
  if (inner == 1) {  // rows
    parallel_for(outer, std::max<int64_t>(1, kGrain / n), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) od[o] = static_cast<int32_t>(arg_run<C>(xd + o * n, n));
    });
    return;
  }
  // Tasks are (outer row, column tile); each scans n rows of up to kTile columns.
  const int64_t tiles = (inner + kTile - 1) / kTile;
  const int64_t work = n * std::min(inner, kTile);
  parallel_for(outer * tiles, std::max<int64_t>(1, kGrain / work), [&](int64_t tb, int64_t te) {
    float best[kTile];
    for (int64_t t = tb; t < te; ++t) {
      int64_t o = t / tiles, c0 = (t % tiles) * kTile, w = std::min(kTile, inner - c0);
      const float* base = xd + o * n * inner + c0;
      int32_t* idx = od + o * inner + c0;
      for (int64_t j = 0; j < w; ++j) {
        best[j] = base[j];
        idx[j] = 0;
      }
      for (int64_t r = 1; r < n; ++r) {
        const float* row = base + r * inner;
        for (int64_t j = 0; j < w; ++j) {
          if (C::better(row[j], best[j])) {
            best[j] = row[j];
            idx[j] = static_cast<int32_t>(r);
          }
        }
      }
    }
  });
}

}  // namespace

const char* reduce_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Mean: return "mean";
    case ReduceOp::Max: return "max";
    case ReduceOp::Min: return "min";
    case ReduceOp::Prod: return "prod";
    case ReduceOp::Var: return "var";
    case ReduceOp::Std: return "std";
  }
  return "reduce";
}

Shape reduce_shape(const char* op, const Shape& x, const std::vector<int64_t>& axes, bool keepdims) {
  numel(x);  // rejects negative dims and overflow
  std::vector<int64_t> ax = normalize_axes(op, axes, static_cast<int64_t>(x.size()));
  Shape out;
  for (size_t i = 0; i < x.size(); ++i) {
    bool red = std::binary_search(ax.begin(), ax.end(), static_cast<int64_t>(i));
    if (!red) out.push_back(x[i]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

void reduce(ReduceOp op, CFView x, const std::vector<int64_t>& axes, bool keepdims, FSpan out,
            double correction) {
  const char* name = reduce_name(op);
  Shape oshape = reduce_shape(name, x.shape, axes, keepdims);
  out_view(name, "out", out, oshape);
  check_no_alias(name, "out", out.data, out.size, "x", x.data, static_cast<size_t>(x.numel()));
  if ((op == ReduceOp::Var || op == ReduceOp::Std) && !(correction >= 0 && std::isfinite(correction)))
    fail(ErrorCode::Attr, name, ": correction must be a finite number >= 0, got ", correction);
  Plan p = make_plan(x.shape, normalize_axes(name, axes, x.rank()));
  if ((op == ReduceOp::Max || op == ReduceOp::Min) && p.n_red == 0 && p.n_out > 0)
    fail(ErrorCode::Shape, name, ": cannot reduce over a zero-size dimension of shape ", shape_str(x.shape));
  if (p.n_red == 0) {  // nothing to read: the empty reduction's value, without a double buffer
    const float v = op == ReduceOp::Sum ? 0.0f : op == ReduceOp::Prod ? 1.0f : std::nanf("");
    std::fill(out.data, out.data + p.n_out, v);  // mean, var, std of nothing: NaN, like torch
    return;
  }
  std::vector<double> res(static_cast<size_t>(p.n_out));
  const auto n = static_cast<double>(p.n_red);
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: run<SumAcc>(p, x.data, nullptr, res.data()); break;
    case ReduceOp::Prod: run<ProdAcc>(p, x.data, nullptr, res.data()); break;
    case ReduceOp::Max: run<MaxAcc>(p, x.data, nullptr, res.data()); break;
    case ReduceOp::Min: run<MinAcc>(p, x.data, nullptr, res.data()); break;
    case ReduceOp::Var:
    case ReduceOp::Std: {
      // Two passes (mean, then squared deviations): exact enough in double, no cancellation.
      std::vector<double> mean(res.size());
      run<SumAcc>(p, x.data, nullptr, mean.data());
      for (double& m : mean) m /= n;
      run<SqDevAcc>(p, x.data, mean.data(), res.data());
      const double denom = std::max(0.0, n - correction);
      for (size_t o = 0; o < res.size(); ++o) {
        double v = p.n_red == 0 ? std::nan("") : res[o] / denom;
        res[o] = op == ReduceOp::Std ? std::sqrt(v) : v;
      }
      break;
    }
  }
  if (op == ReduceOp::Mean)
    for (double& v : res) v /= n;  // 0/0 = NaN for an empty reduction, like torch
  for (size_t o = 0; o < res.size(); ++o) out.data[o] = static_cast<float>(res[o]);
}

Shape argreduce_shape(const char* op, const Shape& x, std::optional<int64_t> axis, bool keepdims) {
  numel(x);
  if (!axis) return keepdims ? Shape(x.size(), 1) : Shape{};
  int64_t a = normalize_axis(op, *axis, static_cast<int64_t>(x.size()));
  Shape out = x;
  if (out.empty()) return out;
  if (keepdims) out[static_cast<size_t>(a)] = 1;
  else out.erase(out.begin() + a);
  return out;
}

void argmax(CFView x, std::optional<int64_t> axis, bool keepdims, ISpan out) {
  arg_impl<ArgMaxCmp>("argmax", std::move(x), axis, keepdims, out);
}
void argmin(CFView x, std::optional<int64_t> axis, bool keepdims, ISpan out) {
  arg_impl<ArgMinCmp>("argmin", std::move(x), axis, keepdims, out);
}

void sum_to(CFView x, FView out) {
  const char* op = "sum_to";
  const Shape& t = out.shape;
  if (t.size() > x.shape.size() || broadcast_shapes(op, t, x.shape) != x.shape)
    fail(ErrorCode::Shape, op, ": shape ", shape_str(t), " does not broadcast to ", shape_str(x.shape));
  check_no_alias(op, "out", out.data, static_cast<size_t>(out.numel()), "x", x.data,
                 static_cast<size_t>(x.numel()));
  const size_t lead = x.shape.size() - t.size();
  std::vector<int64_t> axes;
  for (size_t i = 0; i < x.shape.size(); ++i)
    if (i < lead || (t[i - lead] == 1 && x.shape[i] != 1)) axes.push_back(static_cast<int64_t>(i));
  if (axes.empty()) {  // nothing was broadcast: a copy
    std::copy(x.data, x.data + x.numel(), out.data);
    return;
  }
  // The keepdims result has out's elements in out's order (only size-1/leading dims differ).
  Plan p = make_plan(x.shape, axes);
  std::vector<double> res(static_cast<size_t>(p.n_out));
  run<SumAcc>(p, x.data, nullptr, res.data());
  for (size_t o = 0; o < res.size(); ++o) out.data[o] = static_cast<float>(res[o]);
}

}  // namespace ravdl

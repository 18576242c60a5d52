// concat / split / slice / permute: pure data movement, parallel over output chunks.
#include "ravdl/shape_ops.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "ravdl/parallel.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ravdl {
namespace {

constexpr int64_t kCopyGrain = 32768;  // elements per parallel chunk of plain copies

// Walks a multi-index over `size` in row-major order, tracking two strided offsets.
struct Odometer {
  std::vector<int64_t> size, sa, sb, idx;
  int64_t a = 0, b = 0;
  Odometer(std::vector<int64_t> sz, std::vector<int64_t> a_str, std::vector<int64_t> b_str)
      : size(std::move(sz)), sa(std::move(a_str)), sb(std::move(b_str)), idx(size.size(), 0) {}
  void seek(int64_t lin) {
    a = b = 0;
    for (size_t k = size.size(); k-- > 0;) {
      idx[k] = lin % size[k];
      lin /= size[k];
      a += idx[k] * sa[k];
      b += idx[k] * sb[k];
    }
  }
  void next() {
    for (size_t k = size.size(); k-- > 0;) {
      ++idx[k];
      a += sa[k];
      b += sb[k];
      if (idx[k] < size[k]) return;
      a -= idx[k] * sa[k];
      b -= idx[k] * sb[k];
      idx[k] = 0;
    }
  }
};

// dst[i0*ds0 + ...] = src[i0*ss0 + ...] over `shape` (rank >= 1, no zero dims).
template <class T>
void copy_strided(const Shape& shape, const T* src, const Shape& ss, T* dst, const Shape& ds) {
  const size_t r = shape.size();
  const int64_t len = shape[r - 1], s_last = ss[r - 1], d_last = ds[r - 1];
  Shape outer(shape.begin(), shape.end() - 1);
  const int64_t rows = numel(outer);
  parallel_for(rows, std::max<int64_t>(1, kCopyGrain / len), [&](int64_t b, int64_t e) {
    Odometer od(outer, Shape(ss.begin(), ss.end() - 1), Shape(ds.begin(), ds.end() - 1));
    od.seek(b);
    for (int64_t row = b; row < e; ++row, od.next()) {
      const T* s = src + od.a;
      T* d = dst + od.b;
      if (s_last == 1 && d_last == 1) {
        std::memcpy(d, s, size_t(len) * sizeof(T));
      } else {
        for (int64_t i = 0; i < len; ++i) d[i * d_last] = s[i * s_last];
      }
    }
  });
}

// Copies between one tensor `joined` and its parts along an axis. Each of the `outer` rows of
// `joined` is the concatenation of one row of every part (part k's row has rows[k] elements).
template <class T, bool kToJoined>
void join_rows(int64_t outer, const std::vector<int64_t>& rows, T* joined,
               const std::vector<T*>& parts) {
  std::vector<int64_t> off(rows.size() + 1, 0);
  for (size_t k = 0; k < rows.size(); ++k) off[k + 1] = off[k] + rows[k];
  const int64_t row = off.back(), total = outer * row;
  if (total == 0) return;
  // Flat partition of the joined tensor: balanced whatever the axis and the part sizes.
  parallel_for(total, kCopyGrain, [&](int64_t b, int64_t e) {
    // Locate the chunk start once, then walk the segments in order.
    int64_t i = b, o = b / row;
    size_t k = size_t(std::upper_bound(off.begin(), off.end(), b % row) - off.begin()) - 1;
    int64_t in_part = b % row - off[k];
    while (i < e) {
      const int64_t cnt = std::min(rows[k] - in_part, e - i);
      if (cnt > 0) {  // empty parts may have no buffer at all
        T* part = parts[k] + o * rows[k] + in_part;
        if (kToJoined) std::memcpy(joined + i, part, size_t(cnt) * sizeof(T));
        else std::memcpy(part, joined + i, size_t(cnt) * sizeof(T));
      }
      i += cnt;
      in_part += cnt;
      if (in_part == rows[k]) {  // next part, or next outer row (empty parts are skipped here)
        in_part = 0;
        if (++k == rows.size()) {
          k = 0;
          ++o;
        }
      }
    }
  });
}

struct SliceDims {
  Shape out, start;
  std::vector<int64_t> step;
};

SliceDims slice_dims(const char* op, const Shape& x, const std::vector<int64_t>& starts,
                     const std::vector<int64_t>& ends, const std::vector<int64_t>& steps) {
  const size_t r = x.size();
  if (starts.size() != r || ends.size() != r || steps.size() != r)
    fail(ErrorCode::Attr, op, ": starts, ends and steps need one entry per dim of x ", shape_str(x),
         ", got ", starts.size(), ", ", ends.size(), " and ", steps.size());
  SliceDims s{Shape(r), Shape(r), steps};
  for (size_t i = 0; i < r; ++i) {
    const int64_t d = x[i];
    if (steps[i] < 1) fail(ErrorCode::Attr, op, ": step must be >= 1, got ", steps[i], " for dim ", i);
    auto clamp = [d](int64_t v) { return std::clamp(v < 0 ? v + d : v, int64_t(0), d); };
    const int64_t b = clamp(starts[i]), e = clamp(ends[i]);
    s.start[i] = b;
    s.out[i] = e > b ? (e - b + steps[i] - 1) / steps[i] : 0;
  }
  return s;
}

std::vector<int64_t> normalize_perm(const char* op, const Shape& x, const std::vector<int64_t>& perm) {
  const auto r = static_cast<int64_t>(x.size());
  if (static_cast<int64_t>(perm.size()) != r)
    fail(ErrorCode::Attr, op, ": perm has ", perm.size(), " entries but x ", shape_str(x), " has rank ", r);
  std::vector<int64_t> p(perm.size());
  std::vector<bool> seen(perm.size(), false);
  for (size_t k = 0; k < perm.size(); ++k) {
    if (perm[k] < -r || perm[k] >= r)
      fail(ErrorCode::Index, op, ": perm entry ", perm[k], " is out of range for rank ", r);
    p[k] = perm[k] < 0 ? perm[k] + r : perm[k];
    if (seen[size_t(p[k])]) fail(ErrorCode::Attr, op, ": perm repeats dim ", p[k], ", not a permutation");
    seen[size_t(p[k])] = true;
  }
  return p;
}

// Transpose tiles on 4-byte elements (float and int32 alike): out[c*soc + j] = x[j*sxj + c]
// for j in [j0, j1), c in [c0, c1).
using TileFn = void (*)(const uint32_t*, int64_t, uint32_t*, int64_t, int64_t, int64_t, int64_t, int64_t);

void tile_portable(const uint32_t* x, int64_t sxj, uint32_t* out, int64_t soc, int64_t j0, int64_t j1,
                   int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t j = j0; j < j1; ++j) out[c * soc + j] = x[j * sxj + c];
}

#if defined(__x86_64__)
// 8x8 blocks transposed in AVX2 registers (unpack, shuffle, then swap 128-bit halves).
__attribute__((target("avx2"))) void tile_avx2(const uint32_t* x, int64_t sxj, uint32_t* out, int64_t soc,
                                               int64_t j0, int64_t j1, int64_t c0, int64_t c1) {
  int64_t jv = j0 + (j1 - j0) / 8 * 8, cv = c0 + (c1 - c0) / 8 * 8;
  for (int64_t j = j0; j < jv; j += 8)
    for (int64_t c = c0; c < cv; c += 8) {
      __m256 r[8], t[8], q[8];
      for (int k = 0; k < 8; ++k) r[k] = _mm256_loadu_ps(reinterpret_cast<const float*>(x + (j + k) * sxj + c));
      for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
        t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
      }
      for (int k = 0; k < 8; k += 4) {
        q[k] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(1, 0, 1, 0));
        q[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(3, 2, 3, 2));
        q[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(1, 0, 1, 0));
        q[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(3, 2, 3, 2));
      }
      for (int k = 0; k < 4; ++k) {
        _mm256_storeu_ps(reinterpret_cast<float*>(out + (c + k) * soc + j), _mm256_permute2f128_ps(q[k], q[k + 4], 0x20));
        _mm256_storeu_ps(reinterpret_cast<float*>(out + (c + k + 4) * soc + j), _mm256_permute2f128_ps(q[k], q[k + 4], 0x31));
      }
    }
  // Ragged edges of the tile.
  if (cv < c1) tile_portable(x, sxj, out, soc, j0, j1, cv, c1);
  if (jv < j1) tile_portable(x, sxj, out, soc, jv, j1, c0, cv);
}
#endif

// RAVDL_SIMD=portable (as for the GEMM) forces the scalar tiles.
TileFn pick_transpose_tile() {
#if defined(__x86_64__)
  static const bool avx2 = [] {
    const char* env = std::getenv("RAVDL_SIMD");
    return !(env && std::strcmp(env, "portable") == 0) && __builtin_cpu_supports("avx2");
  }();
  if (avx2) return tile_avx2;
#endif
  return tile_portable;
}

}  // namespace

Shape concat_shape(const std::vector<Shape>& shapes, int64_t axis) {
  const char* op = "concat";
  if (shapes.empty()) fail(ErrorCode::Arg, op, ": needs at least one input");
  const auto r = static_cast<int64_t>(shapes[0].size());
  if (r == 0) fail(ErrorCode::Shape, op, ": zero-dimensional inputs cannot be concatenated");
  const int64_t ax = normalize_axis(op, axis, r);
  Shape out = shapes[0];
  for (size_t k = 1; k < shapes.size(); ++k) {
    const Shape& s = shapes[k];
    if (static_cast<int64_t>(s.size()) != r)
      fail(ErrorCode::Shape, op, ": input ", k, " has shape ", shape_str(s), " but input 0 has rank ", r);
    for (int64_t d = 0; d < r; ++d)
      if (d != ax && s[size_t(d)] != out[size_t(d)])
        fail(ErrorCode::Shape, op, ": input ", k, " has shape ", shape_str(s), ", which differs from ",
             shape_str(shapes[0]), " in dim ", d, " (concat axis ", ax, ")");
    out[size_t(ax)] += s[size_t(ax)];
  }
  numel(out);  // rejects overflow
  return out;
}

template <class T>
void concat(const std::vector<View<const T>>& inputs, int64_t axis, Span<T> out) {
  const char* op = "concat";
  std::vector<Shape> shapes;
  for (auto& v : inputs) shapes.push_back(v.shape);
  const Shape os = concat_shape(shapes, axis);
  const int64_t ax = normalize_axis(op, axis, int64_t(os.size()));
  View<T> o = out_view(op, "out", out, os);
  for (auto& v : inputs) check_no_alias(op, "out", o.data, out.size, "an input", v.data, size_t(v.numel()));
  const int64_t outer = numel(Shape(os.begin(), os.begin() + ax));
  std::vector<int64_t> rows;
  std::vector<T*> parts;
  for (auto& v : inputs) {
    rows.push_back(numel(Shape(v.shape.begin() + ax, v.shape.end())));
    parts.push_back(const_cast<T*>(v.data));  // only read: kToJoined copies parts -> joined
  }
  join_rows<T, true>(outer, rows, o.data, parts);
}

template <class T>
void split(View<const T> x, int64_t axis, const std::vector<int64_t>& sizes,
           const std::vector<Span<T>>& outs) {
  const char* op = "split";
  const auto r = x.rank();
  if (r == 0) fail(ErrorCode::Shape, op, ": a zero-dimensional tensor cannot be split");
  const int64_t ax = normalize_axis(op, axis, r);
  if (outs.size() != sizes.size())
    fail(ErrorCode::Arg, op, ": got ", outs.size(), " outputs for ", sizes.size(), " sizes");
  int64_t sum = 0;
  for (int64_t s : sizes) {
    if (s < 0) fail(ErrorCode::Attr, op, ": sizes must be >= 0, got ", s);
    sum += s;
    if (sum > x.dim(ax)) break;
  }
  if (sum != x.dim(ax))
    fail(ErrorCode::Shape, op, ": sizes do not sum to dim ", ax, " of x ", shape_str(x.shape));
  const int64_t outer = numel(Shape(x.shape.begin(), x.shape.begin() + ax));
  const int64_t inner = numel(Shape(x.shape.begin() + ax + 1, x.shape.end()));
  std::vector<int64_t> rows;
  std::vector<T*> parts;
  for (size_t k = 0; k < sizes.size(); ++k) {
    Shape ps = x.shape;
    ps[size_t(ax)] = sizes[k];
    std::string name = "outs[" + std::to_string(k) + "]";
    View<T> o = out_view(op, name.c_str(), outs[k], ps);
    check_no_alias(op, name.c_str(), o.data, outs[k].size, "x", x.data, size_t(x.numel()));
    for (size_t j = 0; j < k; ++j)
      check_no_alias(op, name.c_str(), o.data, outs[k].size, "another output", outs[j].data, outs[j].size);
    rows.push_back(sizes[k] * inner);
    parts.push_back(o.data);
  }
  join_rows<T, false>(outer, rows, const_cast<T*>(x.data), parts);  // x is only read
}

Shape slice_shape(const Shape& x, const std::vector<int64_t>& starts,
                  const std::vector<int64_t>& ends, const std::vector<int64_t>& steps) {
  return slice_dims("slice", x, starts, ends, steps).out;
}

template <class T>
void slice(View<const T> x, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
           const std::vector<int64_t>& steps, Span<T> out) {
  const char* op = "slice";
  SliceDims s = slice_dims(op, x.shape, starts, ends, steps);
  View<T> o = out_view(op, "out", out, s.out);
  check_no_alias(op, "out", o.data, out.size, "x", x.data, size_t(x.numel()));
  const int64_t n = numel(s.out);
  if (n == 0) return;
  if (s.out.empty()) {
    o.data[0] = x.data[0];
    return;
  }
  const Shape xs = contiguous_strides(x.shape);
  Shape src_str(xs.size());
  int64_t base = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    base += s.start[i] * xs[i];
    src_str[i] = s.step[i] * xs[i];
  }
  copy_strided<T>(s.out, x.data + base, src_str, o.data, contiguous_strides(s.out));
}

void slice_backward(CFView gy, const Shape& x_shape, const std::vector<int64_t>& starts,
                    const std::vector<int64_t>& ends, const std::vector<int64_t>& steps, FSpan gx) {
  const char* op = "slice_backward";
  SliceDims s = slice_dims(op, x_shape, starts, ends, steps);
  if (gy.shape != s.out)
    fail(ErrorCode::Shape, op, ": gy has shape ", shape_str(gy.shape), " but the slice of ",
         shape_str(x_shape), " has shape ", shape_str(s.out));
  FView g = out_view(op, "gx", gx, x_shape);
  check_no_alias(op, "gx", g.data, gx.size, "gy", gy.data, size_t(gy.numel()));
  const int64_t nx = numel(x_shape);
  parallel_for(nx, kCopyGrain * 2, [&](int64_t b, int64_t e) {
    std::memset(g.data + b, 0, size_t(e - b) * sizeof(float));
  });
  if (numel(s.out) == 0) return;
  if (s.out.empty()) {
    g.data[0] = gy.data[0];
    return;
  }
  const Shape xs = contiguous_strides(x_shape);
  Shape dst_str(xs.size());
  int64_t base = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    base += s.start[i] * xs[i];
    dst_str[i] = s.step[i] * xs[i];
  }
  copy_strided<float>(s.out, gy.data, contiguous_strides(s.out), g.data + base, dst_str);
}

Shape permute_shape(const Shape& x, const std::vector<int64_t>& perm) {
  std::vector<int64_t> p = normalize_perm("permute", x, perm);
  Shape out(p.size());
  for (size_t k = 0; k < p.size(); ++k) out[k] = x[size_t(p[k])];
  return out;
}

template <class T>
void permute(View<const T> x, const std::vector<int64_t>& perm, Span<T> out) {
  const char* op = "permute";
  const std::vector<int64_t> p = normalize_perm(op, x.shape, perm);
  View<T> o = out_view(op, "out", out, permute_shape(x.shape, perm));
  check_no_alias(op, "out", o.data, out.size, "x", x.data, size_t(x.numel()));
  const int64_t n = x.numel();
  if (n == 0) return;

  // Collapse: drop size-1 dims, then merge runs of out dims that are consecutive in x.
  std::vector<int64_t> new_index(p.size(), -1);
  Shape xs1;
  for (size_t i = 0; i < x.shape.size(); ++i)
    if (x.shape[i] != 1) {
      new_index[i] = int64_t(xs1.size());
      xs1.push_back(x.shape[i]);
    }
  std::vector<std::pair<int64_t, int64_t>> groups;  // (first x dim, size), in out order
  int64_t last = -2;
  for (int64_t k : p) {
    const int64_t d = new_index[size_t(k)];
    if (d < 0) continue;
    if (d == last + 1 && !groups.empty()) groups.back().second *= xs1[size_t(d)];
    else groups.push_back({d, xs1[size_t(d)]});
    last = d;
  }
  const size_t m = groups.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return groups[a].first < groups[b].first; });
  std::vector<size_t> pm(m);  // collapsed perm: out dim k = collapsed x dim pm[k]
  Shape cx(m);
  for (size_t j = 0; j < m; ++j) {
    pm[order[j]] = j;
    cx[j] = groups[order[j]].second;
  }
  if (m <= 1) {  // the identity on the data
    std::memcpy(o.data, x.data, size_t(n) * sizeof(T));
    return;
  }
  const Shape sx = contiguous_strides(cx);
  Shape co(m), xs_out(m);  // out shape, and the x stride of each out dim
  for (size_t k = 0; k < m; ++k) {
    co[k] = cx[pm[k]];
    xs_out[k] = sx[pm[k]];
  }
  const Shape so = contiguous_strides(co);

  if (pm[m - 1] == m - 1) {  // innermost dim stays innermost: copy rows
    copy_strided<T>(co, x.data, xs_out, o.data, so);
    return;
  }
  // Tiled 2-D transpose between the out innermost dim j (strided in x) and the x innermost
  // dim c (strided in out), batched over the other dims: reads and writes stay in L1 tiles.
  const size_t pc = size_t(std::find(pm.begin(), pm.end(), m - 1) - pm.begin());
  const int64_t Nj = co[m - 1], sxj = xs_out[m - 1], Nc = co[pc], soc = so[pc];
  Shape bs, bxs, bos;
  for (size_t k = 0; k + 1 < m; ++k)
    if (k != pc) {
      bs.push_back(co[k]);
      bxs.push_back(xs_out[k]);
      bos.push_back(so[k]);
    }
  constexpr int64_t kTile = 64;  // 64x64 floats: source and destination tiles fit L1
  const int64_t njt = (Nj + kTile - 1) / kTile;
  const int64_t units = numel(bs) * njt;
  static_assert(sizeof(T) == 4, "the transpose tiles move 4-byte elements");
  const auto tile = pick_transpose_tile();
  const void* xd = x.data;
  void* od = o.data;
  parallel_for(units, std::max<int64_t>(1, kCopyGrain / (kTile * Nc)), [&](int64_t b, int64_t e) {
    Odometer od_b(bs, bxs, bos);
    for (int64_t u = b; u < e; ++u) {
      od_b.seek(u / njt);
      const int64_t j0 = (u % njt) * kTile, j1 = std::min(Nj, j0 + kTile);
      for (int64_t c0 = 0; c0 < Nc; c0 += kTile)
        tile(static_cast<const uint32_t*>(xd) + od_b.a, sxj, static_cast<uint32_t*>(od) + od_b.b, soc, j0, j1,
             c0, std::min(Nc, c0 + kTile));
    }
  });
}

#define RAVDL_SHAPE_OPS(T)                                                                     \
  template void concat<T>(const std::vector<View<const T>>&, int64_t, Span<T>);               \
  template void split<T>(View<const T>, int64_t, const std::vector<int64_t>&,                 \
                         const std::vector<Span<T>>&);                                         \
  template void slice<T>(View<const T>, const std::vector<int64_t>&, const std::vector<int64_t>&, \
                         const std::vector<int64_t>&, Span<T>);                                \
  template void permute<T>(View<const T>, const std::vector<int64_t>&, Span<T>);
RAVDL_SHAPE_OPS(float)
RAVDL_SHAPE_OPS(int32_t)
#undef RAVDL_SHAPE_OPS

}  // namespace ravdl

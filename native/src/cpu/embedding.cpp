// Embedding gather and scatter-add gradient.
#include "ravdl/embedding.h"

#include <algorithm>
#include <cstring>

#include "ravdl/parallel.h"

namespace ravdl {
namespace {

void check_ids(const char* op, Span<const int32_t> ids, int64_t V) {
  for (size_t i = 0; i < ids.size; ++i) {
    int64_t id = ids.data[i];
    if (id < 0 || id >= V)
      fail(ErrorCode::Index, op, ": id ", id, " at position ", i, " is out of range [0, ", V, ")");
  }
}

}  // namespace

void embedding(CFView weight, Span<const int32_t> ids, FSpan out) {
  const char* op = "embedding";
  if (weight.rank() != 2)
    fail(ErrorCode::Shape, op, ": weight must be [V, D], got shape ", shape_str(weight.shape));
  const int64_t V = weight.dim(0), D = weight.dim(1);
  const auto n = static_cast<int64_t>(ids.size);
  FView o = out_view(op, "out", out, {n, D});
  check_no_alias(op, "out", o.data, out.size, "weight", weight.data, size_t(V * D));
  check_no_alias(op, "out", o.data, out.size, "ids", ids.data, ids.size);
  check_ids(op, ids, V);
  if (D == 0) return;
  const float* w = weight.data;
  const int32_t* id = ids.data;
  parallel_for(n, std::max<int64_t>(1, 16384 / D), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      std::memcpy(o.data + i * D, w + int64_t(id[i]) * D, size_t(D) * sizeof(float));
  });
}

void embedding_backward(Span<const float> gy, Span<const int32_t> ids, int64_t V, int64_t D,
                        std::optional<int64_t> padding_idx, FSpan gw) {
  const char* op = "embedding_backward";
  if (V < 0 || D < 0) fail(ErrorCode::Shape, op, ": V and D must be >= 0, got V ", V, ", D ", D);
  const auto n = static_cast<int64_t>(ids.size);
  CFView g = view(op, "gy", gy.data, gy.size, {n, D});
  FView w = out_view(op, "gw", gw, {V, D});
  int64_t pad = -1;
  if (padding_idx) {
    if (*padding_idx < -V || *padding_idx >= V)
      fail(ErrorCode::Index, op, ": padding_idx ", *padding_idx, " is out of range [", -V, ", ", V, ")");
    pad = *padding_idx < 0 ? *padding_idx + V : *padding_idx;
  }
  check_no_alias(op, "gw", w.data, gw.size, "gy", g.data, gy.size);
  check_no_alias(op, "gw", w.data, gw.size, "ids", ids.data, ids.size);
  check_ids(op, ids, V);
  if (D == 0) return;
  parallel_for(V, std::max<int64_t>(1, 32768 / D), [&](int64_t b, int64_t e) {
    std::memset(w.data + b * D, 0, size_t((e - b) * D) * sizeof(float));
  });
  // Threads own disjoint column blocks and walk the ids in order: no races, and the sum
  // order (hence the result) is the same at any thread count.
  constexpr int64_t kCols = 16;
  const int64_t blocks = (D + kCols - 1) / kCols;
  const int32_t* id = ids.data;
  parallel_for(blocks, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, n * kCols)),
               [&](int64_t b, int64_t e) {
                 const int64_t c0 = b * kCols, c1 = std::min(D, e * kCols);
                 for (int64_t i = 0; i < n; ++i) {
                   if (id[i] == pad) continue;
                   const float* src = g.data + i * D;
                   float* dst = w.data + int64_t(id[i]) * D;
                   for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
                 }
               });
}

}  // namespace ravdl

// embedding (row gather) and embedding_backward (row scatter-add), as the CPU kernels
// (embedding.h). The backward is deterministic and bit-identical to the CPU: each thread owns
// one column of a range of vocabulary rows and walks the ids in order, so every row sums its
// gradients in id order, without atomics. Ids outside [0, V) are ERR_INDEX (a sync: checked
// on the host before anything is written).
#include <algorithm>
#include <cstdint>

#include "common.cuh"

namespace ravdl_cuda {
namespace {

__global__ void embedding_kernel(int64_t n, int64_t D, const int32_t* __restrict__ ids, const float* __restrict__ w, float* __restrict__ y) {
  RAVDL_GRID_STRIDE(i, n * D) y[i] = w[static_cast<int64_t>(ids[i / D]) * D + i % D];
}

// Thread (chunk, column): rows [v0, v1) of column d, over all ids in order.
__global__ void embedding_backward_kernel(int64_t n, int64_t V, int64_t D, int64_t chunks, int64_t pad, const int32_t* __restrict__ ids,
                                          const float* __restrict__ gy, float* __restrict__ gw) {
  const int64_t rows = (V + chunks - 1) / chunks;
  RAVDL_GRID_STRIDE(t, chunks * D) {
    const int64_t d = t % D, chunk = t / D;
    const int64_t v0 = chunk * rows, v1 = min(V, v0 + rows);
    for (int64_t v = v0; v < v1; v++) gw[v * D + d] = 0.0f;
    for (int64_t i = 0; i < n; i++) {
      const int64_t id = ids[i];
      if (id < v0 || id >= v1 || id == pad) continue;
      gw[id * D + d] += gy[i * D + d];
    }
  }
}

void check_ids(const Call& c, const Desc& ids, int64_t V) {
  const int64_t bad = first_bad_index(c.dev, ids.i(), ids.numel(), 0, V, INT64_MIN);  // no int32 equals INT64_MIN
  if (bad >= 0) fail(kIndex, c.op + ": the id at position " + std::to_string(bad) + " is out of range [0, " + std::to_string(V) + ")");
}

int64_t padding_of(const Call& c, int64_t V) {
  if (!c.has("padding_idx")) return -1;
  const int64_t p = c.integer("padding_idx", 0);
  if (p < -V || p >= V) fail(kIndex, c.op + ": padding_idx " + std::to_string(p) + " is out of range for " + std::to_string(V) + " embeddings");
  return p < 0 ? p + V : p;
}

}  // namespace

// embedding: (ids int32, weight [V, D]) -> [...ids.shape, D]
void launch_embedding(const Call& c) {
  expect_io(c, 2, 2, 1);
  const Desc &ids = c.in[0], &w = c.in[1], &y = c.out[0];
  expect_dtype(c, ids, kI32, "ids");
  expect_dtype(c, w, kF32, "weight");
  expect_dtype(c, y, kF32, "output");
  if (w.rank() != 2) fail(kShape, "embedding: weight must be [V, D], got " + shape_str(w.shape));
  const int64_t V = w.shape[0], D = w.shape[1];
  padding_of(c, V);
  std::vector<int64_t> want = ids.shape;
  want.push_back(D);
  expect_shape(c, y, want, "output");
  check_ids(c, ids, V);
  if (y.numel() == 0) return;
  embedding_kernel<<<grid_for(y.numel()), kThreads, 0, stream_of(c.dev)>>>(ids.numel(), D, ids.i(), w.f(), y.fw());
}

// embedding_backward: (gy [...ids, D], ids) -> gw [num_weights, D]; attrs num_weights, padding_idx.
void launch_embedding_backward(const Call& c) {
  expect_io(c, 2, 2, 1);
  const Desc &gy = c.in[0], &ids = c.in[1], &gw = c.out[0];
  expect_dtype(c, gy, kF32, "gy");
  expect_dtype(c, ids, kI32, "ids");
  expect_dtype(c, gw, kF32, "output");
  if (gw.rank() != 2) fail(kShape, "embedding_backward: the output must be [num_weights, D], got " + shape_str(gw.shape));
  const int64_t V = c.integer("num_weights", gw.shape[0]), D = gw.shape[1];
  expect_shape(c, gw, {V, D}, "output");
  std::vector<int64_t> want = ids.shape;
  want.push_back(D);
  expect_shape(c, gy, want, "gy");
  const int64_t pad = padding_of(c, V);
  check_ids(c, ids, V);
  if (V == 0 || D == 0) return;
  // About 64K threads: D columns times enough row chunks (each walks all ids).
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(V, (65536 + D - 1) / D));
  embedding_backward_kernel<<<grid_for(chunks * D), kThreads, 0, stream_of(c.dev)>>>(ids.numel(), V, D, chunks, pad, ids.i(), gy.f(), gw.fw());
}

}  // namespace ravdl_cuda

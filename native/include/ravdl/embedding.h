// Embedding lookup (row gather) and its gradient (row scatter-add).
#pragma once
#include <cstdint>
#include <optional>

#include "ravdl/tensor.h"

namespace ravdl {

// out[i, :] = weight[ids[i], :]; weight is [V, D], out holds ids.size * D values (its shape is
// ids' shape + [D]). Every id must be in [0, V) (ERR_INDEX naming the id and its position).
void embedding(CFView weight, Span<const int32_t> ids, FSpan out);

// gw = zeros([V, D]) then gw[ids[i], :] += gy[i, :] (repeated ids accumulate); rows whose id
// is padding_idx (in [-V, V), negative counts from the end) get no gradient. gw is overwritten.
void embedding_backward(Span<const float> gy, Span<const int32_t> ids, int64_t V, int64_t D,
                        std::optional<int64_t> padding_idx, FSpan gw);

}  // namespace ravdl

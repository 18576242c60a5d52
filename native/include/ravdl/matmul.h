// Matrix product with torch.matmul semantics, on caller-owned buffers.
#pragma once
#include "ravdl/shape.h"
#include "ravdl/tensor.h"

namespace ravdl {

// Output shape of matmul(a, b) (torch.matmul rules), after transposing the last two dims
// of a when trans_a and of b when trans_b:
//   a 1-D [k] is read as [1, k] and b 1-D [k] as [k, 1]; the added dim is dropped from the
//   result ([k] @ [k] -> [], [k] @ [.., k, n] -> [.., n], [.., m, k] @ [k] -> [.., m]);
//   otherwise [...A, m, k] @ [...B, k, n] -> [...broadcast(A, B), m, n].
// Throws ERR_SHAPE for rank-0 operands, a mismatched inner dim or unbroadcastable batch
// dims, and ERR_ATTR for a transpose of a 1-D operand.
Shape matmul_shape(const Shape& a, const Shape& b, bool trans_a = false, bool trans_b = false);

// out = op(a) @ op(b). out must hold numel(matmul_shape(...)) elements and must not
// overlap a or b (ERR_ARG). Batches broadcast without copies; many small matrices are
// spread over the pool one per task, large ones use the threaded GEMM.
void matmul(const CFView& a, const CFView& b, bool trans_a, bool trans_b, FSpan out);

}  // namespace ravdl

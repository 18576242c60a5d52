// matmul: torch.matmul semantics on top of sgemm (batched, broadcast, transposes).
#include "ravdl/matmul.h"

#include <algorithm>

#include "ravdl/gemm.h"
#include "ravdl/parallel.h"

namespace ravdl {
namespace {

// Operands seen as [batch..., rows, cols] as stored (before the transpose flag).
struct Operand {
  Shape batch;
  int64_t rows, cols;
};

// a 1-D [k] is [1, k]; b 1-D [k] is [k, 1].
Operand as_matrix(const Shape& s, bool is_a) {
  if (s.size() == 1) return is_a ? Operand{{}, 1, s[0]} : Operand{{}, s[0], 1};
  return {Shape(s.begin(), s.end() - 2), s[s.size() - 2], s[s.size() - 1]};
}

// Below this many flops a matrix is spread over the pool by batch rather than by GEMM.
constexpr double kSmallMatrixFlops = 4e6;

}  // namespace

Shape matmul_shape(const Shape& a, const Shape& b, bool ta, bool tb) {
  numel(a);  // rejects negative dims
  numel(b);
  if (a.empty() || b.empty())
    fail(ErrorCode::Shape, "matmul: both operands need rank >= 1, got ", shape_str(a), " and ",
         shape_str(b));
  if (ta && a.size() == 1)
    fail(ErrorCode::Attr, "matmul: transA needs a with rank >= 2, got ", shape_str(a));
  if (tb && b.size() == 1)
    fail(ErrorCode::Attr, "matmul: transB needs b with rank >= 2, got ", shape_str(b));
  Operand oa = as_matrix(a, true), ob = as_matrix(b, false);
  const int64_t m = ta ? oa.cols : oa.rows, ka = ta ? oa.rows : oa.cols;
  const int64_t kb = tb ? ob.cols : ob.rows, n = tb ? ob.rows : ob.cols;
  if (ka != kb)
    fail(ErrorCode::Shape, "matmul: inner dims differ: ", shape_str(a), (ta ? "^T" : ""), " @ ",
         shape_str(b), (tb ? "^T" : ""), " has ", ka, " vs ", kb);
  Shape out = broadcast_shapes("matmul", oa.batch, ob.batch);
  if (a.size() > 1) out.push_back(m);
  if (b.size() > 1) out.push_back(n);
  numel(out);  // overflow check
  return out;
}

void matmul(const CFView& a, const CFView& b, bool ta, bool tb, FSpan out) {
  const Shape oshape = matmul_shape(a.shape, b.shape, ta, tb);
  FView o = out_view("matmul", "out", out, oshape);
  check_no_alias("matmul", "out", o.data, out.size, "a", a.data, static_cast<size_t>(a.numel()));
  check_no_alias("matmul", "out", o.data, out.size, "b", b.data, static_cast<size_t>(b.numel()));
  Operand oa = as_matrix(a.shape, true), ob = as_matrix(b.shape, false);
  const int64_t m = ta ? oa.cols : oa.rows, k = ta ? oa.rows : oa.cols;
  const int64_t n = tb ? ob.rows : ob.cols;
  const Shape batch = broadcast_shapes("matmul", oa.batch, ob.batch);
  const int64_t nbatch = numel(batch);
  if (nbatch == 0 || m == 0 || n == 0) return;
  // Leading dims stay >= 1 even for k == 0 (BLAS rejects 0).
  const int64_t lda = std::max<int64_t>(1, oa.cols), ldb = std::max<int64_t>(1, ob.cols);
  const int64_t a_mat = oa.rows * oa.cols, b_mat = ob.rows * ob.cols;

  // b shared by every batch and a's batches contiguous: one tall GEMM ([B*m, k] @ [k, n]).
  if (!ta && numel(ob.batch) == 1 && oa.batch.size() == batch.size() && numel(oa.batch) == nbatch) {
    sgemm(false, tb, nbatch * m, n, k, 1.0f, a.data, lda, b.data, ldb, 0.0f, o.data, n);
    return;
  }

  // General case: per batch offsets from broadcast strides (0 along broadcast dims).
  const Shape sa = broadcast_strides(oa.batch, batch), sb = broadcast_strides(ob.batch, batch);
  const int64_t rank = static_cast<int64_t>(batch.size());
  auto run = [&](int64_t b0, int64_t b1) {
    for (int64_t bi = b0; bi < b1; ++bi) {
      int64_t rem = bi, offa = 0, offb = 0;
      for (int64_t d = rank - 1; d >= 0; --d) {
        const int64_t idx = rem % batch[d];
        rem /= batch[d];
        offa += idx * sa[d];
        offb += idx * sb[d];
      }
      sgemm(ta, tb, m, n, k, 1.0f, a.data + offa * a_mat, lda, b.data + offb * b_mat, ldb, 0.0f,
            o.data + bi * m * n, n);
    }
  };
  const double flops = 2.0 * double(m) * double(n) * double(k);
  if (flops < kSmallMatrixFlops && nbatch > 1) {
    // Many small matrices: one batch range per task, each sgemm single-threaded.
    const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kSmallMatrixFlops / std::max(flops, 1.0)));
    parallel_for(nbatch, grain, run);
  } else {
    run(0, nbatch);
  }
}

}  // namespace ravdl

// Matrix-vector kernel built with the avx2 flags (see gemv_impl.h).
#include "gemv_impl.h"
#include "kernels.h"

namespace ravdl::gemm_detail {
GemvKernel gemv_avx2() { return &gemv_impl; }
}  // namespace ravdl::gemm_detail

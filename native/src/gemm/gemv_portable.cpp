// Matrix-vector kernel built with the portable flags (see gemv_impl.h).
#include "gemv_impl.h"
#include "kernels.h"

namespace ravdl::gemm_detail {
GemvKernel gemv_portable() { return &gemv_impl; }
}  // namespace ravdl::gemm_detail

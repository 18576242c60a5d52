#include "ravdl/backend.h"

#include "ravdl/cuda.h"
#include "ravdl/gemm.h"
#include "ravdl/parallel.h"

namespace ravdl {

BackendInfo backend_info() {
  BackendInfo info;
  info.blas = blas_name();
  info.gemm = gemm_backend() == GemmBackend::Blas ? "blas" : "builtin";
  info.simd = simd_level();
  info.threads = get_num_threads();
  info.hardware_threads = hardware_threads();
  info.cuda = cuda_status().available;  // loads the CUDA library on first use
  info.version = "0.1.0";
  return info;
}

}  // namespace ravdl

// Run-time report of what this build and this machine offer.
#pragma once
#include <string>

namespace ravdl {

struct BackendInfo {
  std::string blas;        // "OpenBLAS 0.3.21" or "none"
  std::string gemm;        // backend in use now: "blas" or "builtin"
  std::string simd;        // "avx512" | "avx2" | "portable"
  int threads = 1;         // threads used by the pool (and so by BLAS)
  int hardware_threads = 1;
  bool cuda = false;       // CUDA library loaded and a device found (details: cuda_status())
  std::string version;     // ravdl core version
};

BackendInfo backend_info();

}  // namespace ravdl

// The CUDA backend as the core sees it: whether it was built, whether it loaded and why not,
// its devices, and device memory for callers (tests, later the binding). Plain C++: the core
// never includes a CUDA header and links nothing of CUDA (see cuda_plugin.h for why).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include <utility>

namespace ravdl {

struct KernelCall;

struct CudaDeviceInfo {
  std::string name;
  size_t memory_bytes = 0;
  int cc_major = 0, cc_minor = 0;
};

struct CudaStatus {
  bool built = false;      // compiled with RAVDL_CUDA (nvcc was found)
  bool available = false;  // the library loaded and at least one device answered
  std::string reason;      // why not, when !available
  std::vector<CudaDeviceInfo> devices;
  // The GEMM behind matmul and conv2d: "cuBLAS (libcublas.so.N)", loaded at run time when
  // present, else "built-in tiled SGEMM (why)"; RAVDL_CUDA_GEMM=builtin forces ours.
  std::string gemm;
};

// Loads the CUDA library once (thread-safe) and reports; on success the CUDA kernels are in the
// registry. The library is looked for in $RAVDL_CUDA_LIB, else beside the module holding the
// core (the addon ravdl.node, or a test executable).
const CudaStatus& cuda_status();

// Throws ERR_DEVICE saying why when CUDA device `index` cannot be used.
void cuda_require(const char* where, int index);

// Device memory through the library's caching allocator and the device's stream. Each throws
// ERR_DEVICE when CUDA is not available, and the library's error otherwise.
void* cuda_alloc(int dev, size_t bytes);
void cuda_free(int dev, void* ptr);
void cuda_copy_to_device(int dev, void* dst, const void* src, size_t bytes);
void cuda_copy_to_host(int dev, void* dst, const void* src, size_t bytes);  // synchronises
void cuda_copy_on_device(int dev, void* dst, const void* src, size_t bytes);
void cuda_synchronize(int dev);
size_t cuda_cached_bytes(int dev);
// The GEMM in use now (CudaStatus::gemm is the one chosen at load; cuBLAS may be dropped later
// if it refuses a call).
std::string cuda_gemm_backend(int dev);
void cuda_empty_cache(int dev);
// The ops libravdl_cuda.so lists (its kernels), read without a device; empty with `why` set
// when the library cannot be loaded (not built, or missing). For the coverage table.
std::vector<std::string> cuda_library_ops(std::string& why);
// A call's attributes as the CUDA library reads them (cuda_ops.h): choice codes -(1 + i) become
// i, a convolution's 'same' / 'valid' padding becomes explicit pads. Exposed for its test.
std::vector<std::pair<std::string, std::vector<double>>> cuda_plugin_attrs(const KernelCall& c);

}  // namespace ravdl

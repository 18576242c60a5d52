/* The C interface between the core and the CUDA library (libravdl_cuda.so).
 *
 * Why a separate library loaded with dlopen: the addon must load on machines without a GPU,
 * a driver or the CUDA runtime. Everything that needs CUDA (kernels, the allocator, streams)
 * lives in libravdl_cuda.so, compiled by nvcc with the CUDA runtime linked statically into it
 * (so it needs only the driver, libcuda.so.1, which the runtime itself looks for at run time).
 * The core (native/src/cuda/loader.cpp, plain C++) dlopens it beside the addon; when that fails,
 * or no device answers, backendInfo().cuda says why. Only plain C types cross this boundary.
 */
#ifndef RAVDL_CUDA_PLUGIN_H
#define RAVDL_CUDA_PLUGIN_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RAVDL_CUDA_ABI 2
#define RAVDL_CUDA_MAX_DIMS 8

/* dtype: 0 float32, 1 int32 */
typedef struct RavdlTensorDesc {
  void* data;
  int32_t ndim;
  int32_t dtype;
  int64_t dims[RAVDL_CUDA_MAX_DIMS];
} RavdlTensorDesc;

typedef struct RavdlAttr {
  const char* name;
  const double* values;
  int32_t count;
} RavdlAttr;

/* Return codes of the functions below: 0 = ok, else the core's ErrorCode + 1 (Shape = 1, ...),
 * with a message written into err (errlen bytes, NUL-terminated). */
typedef struct RavdlCudaPlugin {
  int32_t abi; /* RAVDL_CUDA_ABI */
  int32_t n_ops;
  const char* const* ops; /* ops with a CUDA kernel */
  int (*device_count)(int* count, char* err, size_t errlen);
  int (*device_info)(int dev, char* name, size_t namelen, size_t* memory_bytes, int* cc_major,
                     int* cc_minor, char* err, size_t errlen);
  /* Caching allocator (per device): alloc reuses a freed block of the same size class. */
  int (*alloc)(int dev, size_t bytes, void** out, char* err, size_t errlen);
  int (*release)(int dev, void* ptr, char* err, size_t errlen);
  int (*empty_cache)(int dev, char* err, size_t errlen);
  size_t (*cached_bytes)(int dev);
  /* kind: 0 host to device, 1 device to host, 2 device to device; asynchronous on the device's
   * stream (a device-to-host copy synchronises that stream before returning). */
  int (*copy)(int dev, void* dst, const void* src, size_t bytes, int kind, char* err, size_t errlen);
  int (*synchronize)(int dev, char* err, size_t errlen);
  /* Runs `op` on device `dev` (on its stream, asynchronously). */
  int (*run)(int dev, const char* op, const RavdlTensorDesc* inputs, int n_inputs,
             const RavdlTensorDesc* outputs, int n_outputs, const RavdlAttr* attrs, int n_attrs,
             char* err, size_t errlen);
  /* Which GEMM the library uses: "cuBLAS (libcublas.so.12)" or "built-in tiled SGEMM (why)". */
  const char* (*gemm_backend)(int dev);
} RavdlCudaPlugin;

/* The library's one exported symbol. */
const RavdlCudaPlugin* ravdl_cuda_plugin(void);

#ifdef __cplusplus
}
#endif
#endif

// Shared by the CUDA library's sources: errors crossing the C interface, per-device state
// (one stream, the caching allocator), and the tensor descriptors the launchers validate.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ravdl/cuda_plugin.h"

namespace ravdl_cuda {

// The core's ErrorCode order (ravdl/error.h); the C interface returns code + 1.
enum Code { kShape = 0, kDtype = 1, kIndex = 2, kAttr = 3, kArg = 4, kBackend = 5, kDevice = 6, kInternal = 7 };

struct Failure {
  Code code;
  std::string message;
};
[[noreturn]] inline void fail(Code code, const std::string& message) { throw Failure{code, message}; }
// A CUDA runtime error as a Failure naming the call.
void check_cuda(cudaError_t e, const char* what);

// The stream every kernel and copy of device `dev` runs on (created on first use).
cudaStream_t stream_of(int dev);
// Device memory from the caching allocator (stream-ordered reuse: one stream per device).
void* device_alloc(int dev, size_t bytes);
void device_release(int dev, void* ptr);

struct Desc {
  void* data;
  int32_t dtype;
  std::vector<int64_t> shape;
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

struct Attr {
  std::string name;
  std::vector<double> values;
};

struct Call {
  int dev;
  std::string op;
  std::vector<Desc> in, out;
  std::vector<Attr> attrs;
  double num(const char* name, double fallback) const;
  std::vector<int64_t> ints(const char* name) const;
};

std::string shape_str(const std::vector<int64_t>& s);

// Launchers (kernels.cu): validate the call, then launch on the device's stream.
void launch_matmul(const Call& c);
void launch_binary(const Call& c);
void launch_unary(const Call& c);
void launch_sum(const Call& c);
void launch_softmax(const Call& c);

}  // namespace ravdl_cuda

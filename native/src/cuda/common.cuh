// Shared by the CUDA library's sources: errors crossing the C interface, per-device state
// (one stream, the caching allocator), the tensor descriptors the launchers validate, and the
// helpers every kernel file uses (grid-stride loops, attributes, GEMM, index checks).
//
// Attribute encoding (the registry passes every attribute as a list of numbers, see
// native/include/ravdl/cuda_ops.h): booleans are 0/1, pairs are one number or two, an absent
// attribute takes the catalog's default, and an absent optional input is a descriptor with
// data == nullptr and rank 0.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ravdl/cuda_plugin.h"

namespace ravdl_cuda {

// The core's ErrorCode order (ravdl/error.h); the C interface returns code + 1.
enum Code { kShape = 0, kDtype = 1, kIndex = 2, kAttr = 3, kArg = 4, kBackend = 5, kDevice = 6, kInternal = 7 };
enum DTypeCode { kF32 = 0, kI32 = 1 };

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

// Scratch memory for one launcher, given back (stream-ordered) when it goes out of scope.
struct Scratch {
  int dev;
  void* ptr;
  Scratch(int d, size_t bytes) : dev(d), ptr(device_alloc(d, bytes)) {}
  ~Scratch() {
    try {
      device_release(dev, ptr);
    } catch (...) {
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class T>
  T* as() const { return static_cast<T*>(ptr); }
};

struct Desc {
  void* data;
  int32_t dtype;
  std::vector<int64_t> shape;
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  const float* f() const { return static_cast<const float*>(data); }
  float* fw() const { return static_cast<float*>(data); }
  const int32_t* i() const { return static_cast<const int32_t*>(data); }
  int32_t* iw() const { return static_cast<int32_t*>(data); }
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
  bool has(const char* name) const;  // given, with at least one value (an empty list = null = absent)
  double num(const char* name, double fallback) const;
  // An integral scalar (ERR_ATTR when not integral).
  int64_t integer(const char* name, int64_t fallback) const;
  bool flag(const char* name, bool fallback) const { return num(name, fallback ? 1 : 0) != 0; }
  std::vector<int64_t> ints(const char* name) const;
  // A pair attribute: one number (both) or two; `fallback` when absent.
  void pair(const char* name, int64_t fallback, int64_t out[2]) const;
  // Input i is given (optional inputs may be absent or left off the end).
  bool present(size_t i) const { return i < in.size() && !(in[i].data == nullptr && in[i].shape.empty()); }
  bool present_out(size_t i) const { return i < out.size() && !(out[i].data == nullptr && out[i].shape.empty()); }
};

std::string shape_str(const std::vector<int64_t>& s);

// Checks of a call, before anything is launched.
// Inputs [0, min_in) must be present except those whose bit is set in `optional`.
void expect_io(const Call& c, size_t min_in, size_t max_in, size_t n_out, unsigned optional = 0);
void expect_dtype(const Call& c, const Desc& d, int32_t dtype, const char* name);
void expect_shape(const Call& c, const Desc& d, const std::vector<int64_t>& want, const char* name);

// Threads per block of the elementwise kernels and a grid for n elements (grid-stride loops
// cover the rest: at most 64K blocks).
constexpr int kThreads = 256;
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65536 ? 65536 : b));
}
#define RAVDL_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// C = alpha op(A) op(B) + beta C on row-major matrices, `batch` of them at the given element
// strides (0 = shared); cuBLAS when it loaded (see gemm.cu), else our tiled kernel.
void gemm(int dev, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float beta, float* C, int64_t ldc,
          int64_t stride_c, int64_t batch);
// "cuBLAS (libcublas.so.12)" or "built-in tiled SGEMM (why)".
const char* gemm_backend_name(int dev);

// The first position i of p[0..n) with p[i] outside [lo, hi) and != allowed (-1 when none).
// Synchronises the stream (the answer is read on the host).
int64_t first_bad_index(int dev, const int32_t* p, int64_t n, int64_t lo, int64_t hi, int64_t allowed);

// Launchers: validate the call, then launch on the device's stream.
using Launcher = void (*)(const Call&);
struct OpEntry {
  const char* name;
  Launcher launch;
};
// Every op of the library with its launcher (runtime.cu builds the plugin's op list from it).
const std::vector<OpEntry>& op_table();

void launch_matmul(const Call& c);       // gemm.cu
void launch_binary(const Call& c);       // kernels.cu
void launch_unary(const Call& c);
void launch_where(const Call& c);
void launch_copy_view(const Call& c);  // broadcast_to, permute
void launch_full(const Call& c);
void launch_softmax(const Call& c);      // softmax, log_softmax, softmin (kernels.cu)
void launch_softmax_backward(const Call& c);
void launch_reduce(const Call& c);       // reduce.cu: sum, mean, max, min, prod, variance, std
void launch_argreduce(const Call& c);    // argmax, argmin
void launch_conv2d(const Call& c);       // conv.cu
void launch_conv2d_backward_input(const Call& c);
void launch_conv2d_backward_weight(const Call& c);
void launch_conv2d_backward_bias(const Call& c);
void launch_max_pool2d(const Call& c);   // pool.cu
void launch_max_pool2d_backward(const Call& c);
void launch_avg_pool2d(const Call& c);   // avg_pool2d, adaptive_avg_pool2d
void launch_avg_pool2d_backward(const Call& c);
void launch_batch_norm(const Call& c);   // norm.cu
void launch_batch_norm_backward(const Call& c);
void launch_layer_norm(const Call& c);
void launch_layer_norm_backward(const Call& c);
void launch_cross_entropy(const Call& c);  // loss.cu
void launch_cross_entropy_backward(const Call& c);
void launch_mse_loss(const Call& c);
void launch_mse_loss_backward(const Call& c);
void launch_pointwise_loss(const Call& c);  // l1, huber, binary_cross_entropy(_with_logits)
void launch_pointwise_loss_backward(const Call& c);
void launch_embedding(const Call& c);    // embedding.cu
void launch_embedding_backward(const Call& c);
void launch_dropout(const Call& c);      // random.cu
void launch_uniform(const Call& c);
void launch_normal(const Call& c);
void launch_concat(const Call& c);       // data.cu
void launch_split(const Call& c);
void launch_slice(const Call& c);
void launch_slice_backward(const Call& c);
void launch_pad(const Call& c);
void launch_pad_backward(const Call& c);
void launch_gather(const Call& c);
void launch_gather_backward(const Call& c);
void launch_one_hot(const Call& c);
void launch_arange(const Call& c);
void launch_astype(const Call& c);
void launch_conv1d(const Call& c);
void launch_sgd_update(const Call& c);   // optim.cu
void launch_adam_update(const Call& c);
void launch_rmsprop_update(const Call& c);

}  // namespace ravdl_cuda

// The CUDA library's C interface (cuda_plugin.h): device queries, one stream per device, a
// caching allocator, copies, and `run`, which dispatches an op name to its launcher.
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "common.cuh"

namespace ravdl_cuda {

void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail(kInternal, std::string(what) + ": " + cudaGetErrorString(e));
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); i++) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

double Call::num(const char* name, double fallback) const {
  for (auto& a : attrs)
    if (a.name == name) {
      if (a.values.size() != 1) fail(kAttr, op + ": attribute '" + name + "' must be one number");
      return a.values[0];
    }
  return fallback;
}

std::vector<int64_t> Call::ints(const char* name) const {
  std::vector<int64_t> out;
  for (auto& a : attrs)
    if (a.name == name)
      for (double v : a.values) {
        if (static_cast<double>(static_cast<int64_t>(v)) != v) fail(kAttr, op + ": attribute '" + name + "' must hold integers");
        out.push_back(static_cast<int64_t>(v));
      }
  return out;
}

namespace {

constexpr int kMaxDevices = 64;

// Per device: its stream and the free blocks of the caching allocator by rounded size.
struct DeviceState {
  std::mutex mu;
  bool ready = false;
  cudaStream_t stream = nullptr;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  std::unordered_map<void*, size_t> sizes;  // every block handed out or cached
  size_t cached = 0;                        // bytes in free_blocks
};
DeviceState g_dev[kMaxDevices];

DeviceState& state(int dev) {
  int n = 0;
  check_cuda(cudaGetDeviceCount(&n), "cudaGetDeviceCount");
  if (dev < 0 || dev >= n || dev >= kMaxDevices) fail(kDevice, "no device cuda:" + std::to_string(dev));
  DeviceState& s = g_dev[dev];
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.ready) {
    check_cuda(cudaSetDevice(dev), "cudaSetDevice");
    check_cuda(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), "cudaStreamCreate");
    s.ready = true;
  }
  return s;
}

// Size classes: 512-byte steps below 1 MiB, 1 MiB steps above (a block is reused only for
// requests of its class, so a training step's repeated shapes hit the cache).
size_t round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t step = bytes < (1u << 20) ? 512 : (1u << 20);
  return (bytes + step - 1) / step * step;
}

void free_cached_locked(DeviceState& s) {
  for (auto& [size, list] : s.free_blocks)
    for (void* p : list) {
      cudaFree(p);
      s.sizes.erase(p);
    }
  s.free_blocks.clear();
  s.cached = 0;
}

int report(const Failure& f, char* err, size_t errlen) {
  if (err && errlen) std::snprintf(err, errlen, "%s", f.message.c_str());
  return static_cast<int>(f.code) + 1;
}

template <class F>
int guarded(char* err, size_t errlen, F&& f) {
  try {
    f();
    return 0;
  } catch (const Failure& e) {
    return report(e, err, errlen);
  } catch (const std::exception& e) {
    return report(Failure{kInternal, e.what()}, err, errlen);
  }
}

}  // namespace

cudaStream_t stream_of(int dev) { return state(dev).stream; }

void* device_alloc(int dev, size_t bytes) {
  DeviceState& s = state(dev);
  size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.free_blocks.find(size);
  if (it != s.free_blocks.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    s.cached -= size;
    return p;
  }
  check_cuda(cudaSetDevice(dev), "cudaSetDevice");
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, size);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear it, give the cache back, try once more
    check_cuda(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize");
    free_cached_locked(s);
    e = cudaMalloc(&p, size);
  }
  if (e != cudaSuccess) fail(kInternal, "cudaMalloc(" + std::to_string(size) + " bytes) on cuda:" + std::to_string(dev) + ": " + cudaGetErrorString(e));
  s.sizes[p] = size;
  return p;
}

void device_release(int dev, void* ptr) {
  if (!ptr) return;
  DeviceState& s = state(dev);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.sizes.find(ptr);
  if (it == s.sizes.end()) fail(kArg, "release: pointer was not allocated by ravdl on cuda:" + std::to_string(dev));
  // Reuse is safe without a sync: every later use of the block is on the same stream.
  s.free_blocks[it->second].push_back(ptr);
  s.cached += it->second;
}

}  // namespace ravdl_cuda

using namespace ravdl_cuda;

namespace {

const char* const kOps[] = {"matmul", "add", "sub", "mul", "div", "maximum", "minimum", "relu", "exp",
                            "log", "tanh", "sigmoid", "neg", "sqrt", "abs", "sum", "softmax"};

int device_count(int* count, char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) fail(kDevice, cudaGetErrorString(e));
    *count = n;
  });
}

int device_info(int dev, char* name, size_t namelen, size_t* memory_bytes, int* cc_major, int* cc_minor, char* err,
                size_t errlen) {
  return guarded(err, errlen, [&] {
    cudaDeviceProp p;
    check_cuda(cudaGetDeviceProperties(&p, dev), "cudaGetDeviceProperties");
    std::snprintf(name, namelen, "%s", p.name);
    *memory_bytes = p.totalGlobalMem;
    *cc_major = p.major;
    *cc_minor = p.minor;
  });
}

int alloc(int dev, size_t bytes, void** out, char* err, size_t errlen) {
  return guarded(err, errlen, [&] { *out = device_alloc(dev, bytes); });
}
int release(int dev, void* ptr, char* err, size_t errlen) {
  return guarded(err, errlen, [&] { device_release(dev, ptr); });
}
int empty_cache(int dev, char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    DeviceState& s = state(dev);
    check_cuda(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize");
    std::lock_guard<std::mutex> lock(s.mu);
    free_cached_locked(s);
  });
}
size_t cached_bytes(int dev) {
  if (dev < 0 || dev >= kMaxDevices) return 0;
  std::lock_guard<std::mutex> lock(g_dev[dev].mu);
  return g_dev[dev].cached;
}

int copy(int dev, void* dst, const void* src, size_t bytes, int kind, char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    if (kind < 0 || kind > 2) fail(kArg, "copy: kind must be 0, 1 or 2");
    cudaStream_t s = stream_of(dev);
    check_cuda(cudaSetDevice(dev), "cudaSetDevice");
    const cudaMemcpyKind k[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice};
    check_cuda(cudaMemcpyAsync(dst, src, bytes, k[kind], s), "cudaMemcpyAsync");
    if (kind == 1) check_cuda(cudaStreamSynchronize(s), "cudaStreamSynchronize");  // the host reads it next
  });
}

int synchronize(int dev, char* err, size_t errlen) {
  return guarded(err, errlen, [&] { check_cuda(cudaStreamSynchronize(stream_of(dev)), "cudaStreamSynchronize"); });
}

int run(int dev, const char* op, const RavdlTensorDesc* inputs, int n_inputs, const RavdlTensorDesc* outputs,
        int n_outputs, const RavdlAttr* attrs, int n_attrs, char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    Call c;
    c.dev = dev;
    c.op = op;
    auto desc = [](const RavdlTensorDesc& d) {
      if (d.ndim < 0 || d.ndim > RAVDL_CUDA_MAX_DIMS) fail(kShape, "bad rank " + std::to_string(d.ndim));
      Desc out{d.data, d.dtype, std::vector<int64_t>(d.dims, d.dims + d.ndim)};
      for (auto x : out.shape)
        if (x < 0) fail(kShape, "negative dimension in " + shape_str(out.shape));
      return out;
    };
    for (int i = 0; i < n_inputs; i++) c.in.push_back(desc(inputs[i]));
    for (int i = 0; i < n_outputs; i++) c.out.push_back(desc(outputs[i]));
    for (int i = 0; i < n_attrs; i++) c.attrs.push_back({attrs[i].name, std::vector<double>(attrs[i].values, attrs[i].values + attrs[i].count)});
    for (auto* list : {&c.in, &c.out})
      for (auto& d : *list)
        if (d.dtype != 0) fail(kDtype, c.op + ": float32 tensors only on cuda");
    state(dev);  // the device exists and has its stream
    check_cuda(cudaSetDevice(dev), "cudaSetDevice");
    const std::string name = op;
    if (name == "matmul") launch_matmul(c);
    else if (name == "add" || name == "sub" || name == "mul" || name == "div" || name == "maximum" || name == "minimum") launch_binary(c);
    else if (name == "sum") launch_sum(c);
    else if (name == "softmax") launch_softmax(c);
    else {
      bool unary = false;
      for (const char* u : {"relu", "exp", "log", "tanh", "sigmoid", "neg", "sqrt", "abs"}) unary |= name == u;
      if (!unary) fail(kDevice, name + ": no kernel for device 'cuda'");
      launch_unary(c);
    }
    check_cuda(cudaGetLastError(), (name + ": kernel launch").c_str());
  });
}

const RavdlCudaPlugin kPlugin = {
    RAVDL_CUDA_ABI, static_cast<int32_t>(sizeof kOps / sizeof kOps[0]), kOps, device_count, device_info, alloc, release,
    empty_cache, cached_bytes, copy, synchronize, run,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const RavdlCudaPlugin* ravdl_cuda_plugin(void) { return &kPlugin; }

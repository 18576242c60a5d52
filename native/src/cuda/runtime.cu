// The CUDA library's C interface (cuda_plugin.h): device queries, one stream per device, a
// caching allocator, copies, and `run`, which dispatches an op name to its launcher.
#include <cmath>
#include <cstdio>
#include <cstdlib>
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

static const Attr* find_attr(const Call& c, const char* name) {
  for (auto& a : c.attrs)
    if (a.name == name) return &a;
  return nullptr;
}

// An attribute given as an empty list counts as absent: that is how a null (clip's bounds,
// argmax's axis, max_pool2d's stride, ...) may arrive.
bool Call::has(const char* name) const {
  const Attr* a = find_attr(*this, name);
  return a != nullptr && !a->values.empty();
}

double Call::num(const char* name, double fallback) const {
  const Attr* a = find_attr(*this, name);
  if (!a || a->values.empty()) return fallback;
  if (a->values.size() != 1) fail(kAttr, op + ": attribute '" + name + "' must be one number, got " + std::to_string(a->values.size()));
  return a->values[0];
}

static int64_t to_int(const Call& c, const char* name, double v) {
  if (!(std::fabs(v) <= 9007199254740992.0) || std::trunc(v) != v)  // 2^53: Number.MAX_SAFE_INTEGER passes
    fail(kAttr, c.op + ": attribute '" + name + "' must be an integer, got " + std::to_string(v));
  return static_cast<int64_t>(v);
}

int64_t Call::integer(const char* name, int64_t fallback) const {
  return has(name) ? to_int(*this, name, num(name, 0)) : fallback;
}

std::vector<int64_t> Call::ints(const char* name) const {
  std::vector<int64_t> out;
  if (const Attr* a = find_attr(*this, name))
    for (double v : a->values) out.push_back(to_int(*this, name, v));
  return out;
}

void Call::pair(const char* name, int64_t fallback, int64_t out[2]) const {
  auto v = ints(name);
  if (!has(name)) {
    out[0] = out[1] = fallback;
  } else if (v.size() == 1) {
    out[0] = out[1] = v[0];
  } else if (v.size() == 2) {
    out[0] = v[0];
    out[1] = v[1];
  } else {
    fail(kAttr, op + ": attribute '" + name + "' must be one integer or two, got " + std::to_string(v.size()) + " values");
  }
}

void expect_io(const Call& c, size_t min_in, size_t max_in, size_t n_out, unsigned optional) {
  if (c.in.size() < min_in || c.in.size() > max_in || c.out.size() != n_out)
    fail(kArg, c.op + ": expected " + (min_in == max_in ? std::to_string(min_in) : std::to_string(min_in) + " to " + std::to_string(max_in)) +
                   " inputs and " + std::to_string(n_out) + " outputs, got " + std::to_string(c.in.size()) + " and " +
                   std::to_string(c.out.size()));
  for (size_t i = 0; i < min_in; i++)
    if (!(optional & (1u << i)) && !c.present(i)) fail(kArg, c.op + ": input " + std::to_string(i) + " is required");
}

void expect_dtype(const Call& c, const Desc& d, int32_t dtype, const char* name) {
  if (d.dtype != dtype)
    fail(kDtype, c.op + ": " + name + " must be " + (dtype == kF32 ? "float32" : "int32") + " on cuda, got " +
                     (d.dtype == kF32 ? "float32" : d.dtype == kI32 ? "int32" : "dtype " + std::to_string(d.dtype)));
}

void expect_shape(const Call& c, const Desc& d, const std::vector<int64_t>& want, const char* name) {
  if (d.shape != want) fail(kShape, c.op + ": " + name + " must have shape " + shape_str(want) + ", got " + shape_str(d.shape));
}

namespace {
__global__ void bad_index_kernel(const int32_t* p, int64_t n, int64_t lo, int64_t hi, int64_t allowed, unsigned long long* first) {
  RAVDL_GRID_STRIDE(i, n) {
    const int64_t v = p[i];
    if ((v < lo || v >= hi) && v != allowed) atomicMin(first, static_cast<unsigned long long>(i));
  }
}
}  // namespace

int64_t first_bad_index(int dev, const int32_t* p, int64_t n, int64_t lo, int64_t hi, int64_t allowed) {
  if (n == 0) return -1;
  cudaStream_t s = stream_of(dev);
  Scratch flag(dev, sizeof(unsigned long long));
  check_cuda(cudaMemsetAsync(flag.ptr, 0xff, sizeof(unsigned long long), s), "cudaMemsetAsync");
  bad_index_kernel<<<grid_for(n), kThreads, 0, s>>>(p, n, lo, hi, allowed, flag.as<unsigned long long>());
  unsigned long long host = ~0ull;
  check_cuda(cudaMemcpyAsync(&host, flag.ptr, sizeof host, cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync");
  check_cuda(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  return host == ~0ull ? -1 : static_cast<int64_t>(host);
}

const std::vector<OpEntry>& op_table() {
  static const std::vector<OpEntry> table = [] {
    std::vector<OpEntry> t = {
        {"matmul", launch_matmul},
        {"softmax", launch_softmax}, {"log_softmax", launch_softmax},
        {"softmax_backward", launch_softmax_backward}, {"log_softmax_backward", launch_softmax_backward},
        {"argmax", launch_argreduce}, {"argmin", launch_argreduce},
        {"conv2d", launch_conv2d}, {"conv2d_backward_input", launch_conv2d_backward_input},
        {"conv2d_backward_weight", launch_conv2d_backward_weight}, {"conv2d_backward_bias", launch_conv2d_backward_bias},
        {"max_pool2d", launch_max_pool2d}, {"max_pool2d_backward", launch_max_pool2d_backward},
        {"avg_pool2d", launch_avg_pool2d}, {"adaptive_avg_pool2d", launch_avg_pool2d},
        {"avg_pool2d_backward", launch_avg_pool2d_backward}, {"adaptive_avg_pool2d_backward", launch_avg_pool2d_backward},
        {"batch_norm", launch_batch_norm}, {"batch_norm_backward", launch_batch_norm_backward},
        {"layer_norm", launch_layer_norm}, {"layer_norm_backward", launch_layer_norm_backward},
        {"cross_entropy", launch_cross_entropy}, {"cross_entropy_backward", launch_cross_entropy_backward},
        {"mse_loss", launch_mse_loss}, {"mse_loss_backward", launch_mse_loss_backward},
        {"l1_loss", launch_pointwise_loss}, {"l1_loss_backward", launch_pointwise_loss_backward},
        {"huber_loss", launch_pointwise_loss}, {"huber_loss_backward", launch_pointwise_loss_backward},
        {"binary_cross_entropy", launch_pointwise_loss}, {"binary_cross_entropy_backward", launch_pointwise_loss_backward},
        {"binary_cross_entropy_with_logits", launch_pointwise_loss},
        {"binary_cross_entropy_with_logits_backward", launch_pointwise_loss_backward},
        {"embedding", launch_embedding}, {"embedding_backward", launch_embedding_backward},
        {"dropout", launch_dropout}, {"uniform", launch_uniform}, {"normal", launch_normal},
        {"softmin", launch_softmax}, {"softmin_backward", launch_softmax_backward},
        {"concat", launch_concat}, {"split", launch_split}, {"slice", launch_slice}, {"slice_backward", launch_slice_backward},
        {"pad", launch_pad}, {"pad_backward", launch_pad_backward}, {"gather", launch_gather}, {"gather_backward", launch_gather_backward},
        {"one_hot_encoding", launch_one_hot}, {"arange", launch_arange}, {"astype", launch_astype}, {"conv1d", launch_conv1d},
        {"where", launch_where}, {"broadcast_to", launch_copy_view}, {"permute", launch_copy_view}, {"full", launch_full},
        {"sgd_update", launch_sgd_update}, {"adam_update", launch_adam_update}, {"rmsprop_update", launch_rmsprop_update},
    };
    for (const char* b : {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "equal", "not_equal", "less", "less_equal",
                          "greater", "greater_equal", "logical_and", "logical_or", "logical_xor"})
      t.push_back({b, launch_binary});
    const char* unary[] = {"relu", "exp", "natlog", "tanh", "sigmoid", "neg", "square_root", "abs", "leaky_relu", "elu", "selu",
                           "softplus", "softsign", "tanhshrink", "logsigmoid", "hardshrink", "hardtanh", "softshrink", "threshold",
                           "pow_scalar", "clip"};
    for (const char* u : unary) t.push_back({u, launch_unary});
    // Their backward ops ("<name>_backward"); sign and logical_not have none.
    static std::vector<std::string> backward_names;
    for (const char* u : unary) backward_names.push_back(std::string(u) + "_backward");
    for (auto& b : backward_names) t.push_back({b.c_str(), launch_unary});
    t.push_back({"sign", launch_unary});
    t.push_back({"logical_not", launch_unary});
    for (const char* r : {"sum", "mean", "max", "min", "prod", "variance", "std", "sum_to"}) t.push_back({r, launch_reduce});
    return t;
  }();
  return table;
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
  static const int n = [] {  // asked once: state() runs on every launch
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess ? count : 0;
  }();
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
// RAVDL_CUDA_NO_CACHE=1: exact sizes and no reuse (cudaFree on release), so that
// compute-sanitizer sees every out-of-bounds access (scripts/gpu-check.sh sets it there).
bool no_cache() {
  static const bool off = [] {
    const char* e = std::getenv("RAVDL_CUDA_NO_CACHE");
    return e && *e && std::string(e) != "0";
  }();
  return off;
}

size_t round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (no_cache()) return bytes;
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
  if (no_cache()) {  // cudaFree waits for the device: the block's pending uses finish first
    check_cuda(cudaFree(ptr), "cudaFree");
    s.sizes.erase(it);
    return;
  }
  // Reuse is safe without a sync: every later use of the block is on the same stream.
  s.free_blocks[it->second].push_back(ptr);
  s.cached += it->second;
}

}  // namespace ravdl_cuda

using namespace ravdl_cuda;

namespace {

// The plugin's op list, built once from op_table().
const std::vector<const char*>& op_names() {
  static const std::vector<const char*> names = [] {
    std::vector<const char*> n;
    for (auto& e : op_table()) n.push_back(e.name);
    return n;
  }();
  return names;
}

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
    state(dev);  // the device exists and has its stream
    check_cuda(cudaSetDevice(dev), "cudaSetDevice");
    const std::string name = op;
    static const std::unordered_map<std::string, Launcher> launchers = [] {
      std::unordered_map<std::string, Launcher> m;
      for (auto& e : op_table()) m.emplace(e.name, e.launch);
      return m;
    }();
    auto it = launchers.find(name);
    if (it == launchers.end()) fail(kDevice, name + ": no kernel for device 'cuda'");
    it->second(c);
    check_cuda(cudaGetLastError(), (name + ": kernel launch").c_str());
  });
}

const char* gemm_backend(int dev) { return gemm_backend_name(dev); }

RavdlCudaPlugin make_plugin() {
  RavdlCudaPlugin p{};
  p.abi = RAVDL_CUDA_ABI;
  p.n_ops = static_cast<int32_t>(op_names().size());
  p.ops = op_names().data();
  p.device_count = device_count;
  p.device_info = device_info;
  p.alloc = alloc;
  p.release = release;
  p.empty_cache = empty_cache;
  p.cached_bytes = cached_bytes;
  p.copy = copy;
  p.synchronize = synchronize;
  p.run = run;
  p.gemm_backend = gemm_backend;
  return p;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const RavdlCudaPlugin* ravdl_cuda_plugin(void) {
  static const RavdlCudaPlugin plugin = make_plugin();
  return &plugin;
}

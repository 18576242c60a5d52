// libravdl_cuda_mock.so: a stand-in for the CUDA library (cuda_plugin.h) that runs on the CPU,
// so machines without a GPU can test everything above the kernels: device buffers, copies,
// dispatch by device, ERR_DEVICE, model.to(). Tests load it with RAVDL_CUDA_LIB=<path>.
//
// Device memory is host memory behind tagged addresses (bit 62 flipped: not canonical on
// x86-64 or AArch64), so a device address dereferenced by mistake outside this library faults
// instead of silently working, and every address a call gets is checked against the live
// allocations of that device. Kernels are the core's CPU ones (this library links its own copy
// of the core, hidden): attributes are translated back from the plugin's encoding.
// RAVDL_CUDA_MOCK_DEVICES sets the device count (default 2, to test cross-device errors).
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ravdl/cuda_plugin.h"
#include "ravdl/error.h"
#include "ravdl/registry.h"

namespace {

using ravdl::ErrorCode;

constexpr uintptr_t kTag = uintptr_t{1} << 62;

struct Block {
  char* host;
  size_t bytes;
  int dev;
  bool live;  // false: freed into the cache, to be handed out again for the same size
};

std::mutex g_mu;
std::map<uintptr_t, Block> g_blocks;  // by tagged address, live and cached
std::map<std::pair<int, size_t>, std::vector<uintptr_t>> g_cache;  // (device, bytes) -> freed blocks

// At exit, as a driver does when the process ends, every block goes back (live or cached).
struct ReleaseAtExit {
  ~ReleaseAtExit() {
    for (auto& [tagged, b] : g_blocks) std::free(b.host);
    g_blocks.clear();
  }
} g_release_at_exit;

int device_total() {
  const char* env = std::getenv("RAVDL_CUDA_MOCK_DEVICES");
  int n = env ? std::atoi(env) : 2;
  return n < 0 ? 0 : n;
}

int report(char* err, size_t errlen, ErrorCode code, const std::string& msg) {
  if (errlen) {
    std::strncpy(err, msg.c_str(), errlen - 1);
    err[errlen - 1] = 0;
  }
  return static_cast<int>(code) + 1;
}

void check_dev(int dev) {
  if (dev < 0 || dev >= device_total()) ravdl::fail(ErrorCode::Device, "mock: no device ", dev);
}

bool is_tagged(const void* p) { return (reinterpret_cast<uintptr_t>(p) & kTag) != 0; }

// The host address behind device range [p, p + bytes) of `dev`; ERR_DEVICE when it is not inside
// one live allocation of that device (a host pointer, a freed block, another device's memory).
char* resolve(const char* what, int dev, const void* p, size_t bytes) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_blocks.upper_bound(a);
  if (it != g_blocks.begin()) {
    --it;
    const uintptr_t start = it->first;
    if (it->second.live && a >= start && a + bytes <= start + it->second.bytes) {
      if (it->second.dev != dev) ravdl::fail(ErrorCode::Device, "mock: ", what, " is memory of cuda:", it->second.dev, ", not cuda:", dev);
      return it->second.host + (a - start);
    }
  }
  ravdl::fail(ErrorCode::Device, "mock: ", what, " (", p, ", ", bytes, " bytes) is not live memory of cuda:", dev,
              is_tagged(p) ? "" : " (a host address)");
}

template <class F>
int guarded(char* err, size_t errlen, F&& f) {
  try {
    f();
    return 0;
  } catch (const ravdl::Error& e) {
    return report(err, errlen, e.code(), e.what());
  } catch (const std::exception& e) {
    return report(err, errlen, ErrorCode::Internal, std::string("mock: ") + e.what());
  }
}

int device_count(int* count, char*, size_t) {
  *count = device_total();
  return 0;
}

int device_info(int dev, char* name, size_t namelen, size_t* memory_bytes, int* cc_major, int* cc_minor, char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    check_dev(dev);
    std::snprintf(name, namelen, "ravdl CUDA mock %d (host memory, CPU kernels)", dev);
    *memory_bytes = size_t{1} << 30;
    *cc_major = 0;
    *cc_minor = 0;
  });
}

// A caching allocator as the real library's: a freed block is kept and handed out again for the
// same size on the same device, until empty_cache.
int alloc(int dev, size_t bytes, void** out, char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    check_dev(dev);
    {
      std::lock_guard<std::mutex> lock(g_mu);
      auto& cached = g_cache[{dev, bytes}];
      if (!cached.empty()) {
        const uintptr_t tagged = cached.back();
        cached.pop_back();
        g_blocks[tagged].live = true;
        *out = reinterpret_cast<void*>(tagged);
        return;
      }
    }
    char* host = static_cast<char*>(std::malloc(bytes ? bytes : 1));
    if (!host) ravdl::fail(ErrorCode::Internal, "mock: out of memory allocating ", bytes, " bytes");
    const uintptr_t tagged = reinterpret_cast<uintptr_t>(host) ^ kTag;
    std::lock_guard<std::mutex> lock(g_mu);
    g_blocks[tagged] = Block{host, bytes, dev, true};
    *out = reinterpret_cast<void*>(tagged);
  });
}

int release(int dev, void* ptr, char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_blocks.find(reinterpret_cast<uintptr_t>(ptr));
    if (it == g_blocks.end() || it->second.dev != dev || !it->second.live)
      ravdl::fail(ErrorCode::Arg, "mock: release of ", ptr, ", not a live allocation of cuda:", dev);
    it->second.live = false;
    g_cache[{dev, it->second.bytes}].push_back(it->first);
  });
}

int empty_cache(int dev, char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    check_dev(dev);
    std::lock_guard<std::mutex> lock(g_mu);
    for (auto& [key, blocks] : g_cache) {
      if (key.first != dev) continue;
      for (uintptr_t tagged : blocks) {
        std::free(g_blocks[tagged].host);
        g_blocks.erase(tagged);
      }
      blocks.clear();
    }
  });
}

size_t cached_bytes(int dev) {
  std::lock_guard<std::mutex> lock(g_mu);
  size_t total = 0;
  for (auto& [key, blocks] : g_cache)
    if (key.first == dev) total += key.second * blocks.size();
  return total;
}

int copy(int dev, void* dst, const void* src, size_t bytes, int kind, char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    check_dev(dev);
    if (kind < 0 || kind > 2) ravdl::fail(ErrorCode::Arg, "mock: copy kind ", kind);
    if (kind == 0 && is_tagged(src)) ravdl::fail(ErrorCode::Device, "mock: a host-to-device copy from device memory");
    if (kind == 1 && is_tagged(dst)) ravdl::fail(ErrorCode::Device, "mock: a device-to-host copy into device memory");
    char* d = kind == 1 ? static_cast<char*>(dst) : resolve("copy destination", dev, dst, bytes);
    const char* s = kind == 0 ? static_cast<const char*>(src) : resolve("copy source", dev, src, bytes);
    if (bytes) std::memmove(d, s, bytes);
  });
}

int synchronize(int dev, char* err, size_t errlen) {
  return guarded(err, errlen, [&] { check_dev(dev); });
}

// The plugin's attribute encoding back into the registry's: a choice index i becomes -(1 + i);
// a convolution's explicit [top, bottom, left, right] pads (how the loader sends 'same' and
// 'valid') become [top, left] when symmetric, else the 'same' choice they came from.
void registry_attrs(const std::string& op, const RavdlAttr* attrs, int n, ravdl::Attrs& out) {
  const auto& decls = ravdl::op_attrs(op);
  for (int i = 0; i < n; i++) {
    std::vector<double> v(attrs[i].values, attrs[i].values + attrs[i].count);
    const std::string name = attrs[i].name;
    const ravdl::AttrDecl* decl = nullptr;
    for (const auto& d : decls)
      if (d.name == name) decl = &d;
    const bool conv = op.rfind("conv", 0) == 0 && name == "padding";
    if (conv && v.size() == 4) {
      if (v[0] == v[1] && v[2] == v[3]) v = {v[0], v[2]};
      else v = {-1.0};  // 'same'
    } else if (conv && op == "conv1d" && v.size() == 2 && v[0] != v[1]) {
      v = {-1.0};
    } else if (conv && op == "conv1d" && v.size() == 2) {
      v = {v[0]};
    } else if (decl && !decl->choices.empty() && v.size() == 1 && !conv) {
      v = {-1.0 - v[0]};
    }
    out.set(name, std::move(v));
  }
}

int run(int dev, const char* op, const RavdlTensorDesc* inputs, int n_inputs, const RavdlTensorDesc* outputs, int n_outputs,
        const RavdlAttr* attrs, int n_attrs, char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    check_dev(dev);
    ravdl::KernelCall call;
    call.op = op;
    auto take = [&](const RavdlTensorDesc* ds, int n, std::vector<ravdl::TensorArg>& side, const char* what) {
      side.resize(static_cast<size_t>(n));
      for (int i = 0; i < n; i++) {
        ravdl::TensorArg& t = side[static_cast<size_t>(i)];
        t.dtype = static_cast<ravdl::DType>(ds[i].dtype);
        t.shape.assign(ds[i].dims, ds[i].dims + ds[i].ndim);
        // An optional tensor left out: dtype Absent, or no data and no shape (cuda_ops.h).
        if (t.dtype == ravdl::DType::Absent || (ds[i].data == nullptr && ds[i].ndim == 0)) {
          t = ravdl::TensorArg{nullptr, {}, ravdl::DType::Absent};
          continue;
        }
        const size_t bytes = static_cast<size_t>(t.numel()) * 4;
        t.data = bytes ? resolve((std::string(op) + " " + what + " " + std::to_string(i)).c_str(), dev, ds[i].data, bytes) : nullptr;
      }
    };
    take(inputs, n_inputs, call.inputs, "input");
    take(outputs, n_outputs, call.outputs, "output");
    registry_attrs(op, attrs, n_attrs, call.attrs);
    ravdl::run_kernel(call);
  });
}

const char* gemm_backend(int) { return "the CPU GEMM (ravdl CUDA mock)"; }

struct Table {
  std::vector<std::string> names;
  std::vector<const char*> ptrs;
  RavdlCudaPlugin plugin{};
  Table() {
    names = ravdl::kernel_ops(ravdl::DeviceType::CPU);
    for (const auto& n : names) ptrs.push_back(n.c_str());
    plugin.abi = RAVDL_CUDA_ABI;
    plugin.n_ops = static_cast<int32_t>(ptrs.size());
    plugin.ops = ptrs.data();
    plugin.device_count = device_count;
    plugin.device_info = device_info;
    plugin.alloc = alloc;
    plugin.release = release;
    plugin.empty_cache = empty_cache;
    plugin.cached_bytes = cached_bytes;
    plugin.copy = copy;
    plugin.synchronize = synchronize;
    plugin.run = run;
    plugin.gemm_backend = gemm_backend;
  }
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const RavdlCudaPlugin* ravdl_cuda_plugin(void) {
  static Table table;
  return &table.plugin;
}

// Loads the CUDA library (libravdl_cuda.so, see cuda_plugin.h for why it is separate) at run
// time, reports why when it cannot, and registers its kernels in the kernel registry. Plain
// C++ compiled into the core in every build; without RAVDL_CUDA_BUILT it only reports that.
#include <dlfcn.h>

#include <cmath>
#include <cstdlib>
#include <mutex>
#include <string>

#include "ravdl/cuda.h"
#include "ravdl/cuda_plugin.h"
#include "ravdl/error.h"
#include "ravdl/registry.h"

namespace ravdl {
namespace {

const RavdlCudaPlugin* g_plugin = nullptr;

// The library beside the module that holds this code (ravdl.node, or a test executable).
std::string library_path() {
  if (const char* env = std::getenv("RAVDL_CUDA_LIB"); env && *env) return env;
  Dl_info info{};
  std::string dir = ".";
  if (dladdr(reinterpret_cast<void*>(&library_path), &info) && info.dli_fname) {
    std::string self = info.dli_fname;
    auto slash = self.rfind('/');
    if (slash != std::string::npos) dir = self.substr(0, slash);
  }
  return dir + "/libravdl_cuda.so";
}

// The library's plugin table (its static op list needs no device); null with `why` set when it
// cannot be loaded or is of another version.
const RavdlCudaPlugin* open_plugin(std::string& why) {
  const std::string path = library_path();
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    why = e ? e : path;
    return nullptr;
  }
  using Entry = const RavdlCudaPlugin* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(h, "ravdl_cuda_plugin"));
  const RavdlCudaPlugin* p = entry ? entry() : nullptr;
  if (!p || p->abi != RAVDL_CUDA_ABI) {
    why = path + " is not a ravdl CUDA library of this version";
    return nullptr;
  }
  return p;  // the library stays loaded
}

[[noreturn]] void throw_plugin(int rc, const char* err) {
  int code = rc - 1;
  if (code < 0 || code > static_cast<int>(ErrorCode::Internal)) code = static_cast<int>(ErrorCode::Internal);
  throw Error(static_cast<ErrorCode>(code), err);
}

// A convolution's 'valid' or 'same' padding as explicit pads (stride 1 only for 'same', as on the CPU).
std::vector<double> conv_pads(const KernelCall& c, const std::string& kind) {
  const bool one_d = c.op == "conv1d";
  if (kind == "valid") return one_d ? std::vector<double>{0, 0} : std::vector<double>{0, 0, 0, 0};
  for (int64_t s : c.attrs.ints(c.op.c_str(), "stride"))
    if (s != 1) fail(ErrorCode::Attr, c.op, ": padding='same' is not supported for strided convolutions");
  // The weight: an input of conv2d, conv1d and conv2d_backward_input, the output of conv2d_backward_weight.
  const bool w_out = c.op == "conv2d_backward_weight";
  const std::vector<TensorArg>& side = w_out ? c.outputs : c.inputs;
  const size_t at = w_out ? 0 : 1, rank = one_d ? 3 : 4;
  if (side.size() <= at || side[at].shape.size() != rank) fail(ErrorCode::Shape, c.op, ": padding='same' needs a ", rank, "-D weight");
  const Shape& w = side[at].shape;
  std::vector<int64_t> dil = c.attrs.ints(c.op.c_str(), "dilation");
  if (dil.empty()) dil = {1};
  auto split = [](int64_t k, int64_t d) {  // the total dilated extent minus one, the odd element at the end
    const int64_t total = d * (k - 1);
    return std::pair<double, double>(static_cast<double>(total / 2), static_cast<double>(total - total / 2));
  };
  if (one_d) {
    auto [l, r] = split(w[2], dil[0]);
    return {l, r};
  }
  auto [t, b] = split(w[2], dil[0]);
  auto [l, r] = split(w[3], dil.size() > 1 ? dil[1] : dil[0]);
  return {t, b, l, r};
}

// The registry's attribute encodings (registry.h) into the CUDA library's (cuda_ops.h): a
// choice attribute arrives as -(1 + its index) and leaves as its index; a convolution's
// 'same' / 'valid' padding leaves as explicit [top, bottom, left, right] pads ([left, right]
// for conv1d), split as the CPU kernel splits them (the odd element at the bottom/right).
}  // namespace

std::vector<std::pair<std::string, std::vector<double>>> cuda_plugin_attrs(const KernelCall& c) {
  std::vector<std::pair<std::string, std::vector<double>>> out;
  const std::vector<AttrDecl>* decls = op_known(c.op) ? &op_attrs(c.op) : nullptr;
  for (const auto& [name, values] : c.attrs.items()) {
    const AttrDecl* decl = nullptr;
    if (decls)
      for (const AttrDecl& d : *decls)
        if (d.name == name && !d.choices.empty()) decl = &d;
    if (!decl || !c.attrs.is_choice(name)) {
      out.emplace_back(name, values);
      continue;
    }
    const double code = values[0];
    if (code != std::floor(code) || -code - 1 >= static_cast<double>(decl->choices.size()))
      fail(ErrorCode::Attr, c.op, ": attribute '", name, "' has no choice code ", code);
    const int idx = static_cast<int>(-code) - 1;
    if (name == "padding" && c.op.rfind("conv", 0) == 0) {
      out.emplace_back(name, conv_pads(c, decl->choices[static_cast<size_t>(idx)]));
      continue;
    }
    out.emplace_back(name, std::vector<double>{static_cast<double>(idx)});
  }
  return out;
}

namespace {

void forward(KernelCall& c) {
  auto descs = [&](const std::vector<TensorArg>& ts) {
    std::vector<RavdlTensorDesc> out(ts.size());
    for (size_t i = 0; i < ts.size(); i++) {
      if (ts[i].shape.size() > RAVDL_CUDA_MAX_DIMS)
        fail(ErrorCode::Shape, c.op, ": at most ", RAVDL_CUDA_MAX_DIMS, " dimensions on cuda, got ", shape_str(ts[i].shape));
      out[i].data = ts[i].data;
      out[i].ndim = static_cast<int32_t>(ts[i].shape.size());
      out[i].dtype = static_cast<int32_t>(ts[i].dtype);
      for (size_t d = 0; d < ts[i].shape.size(); d++) out[i].dims[d] = ts[i].shape[d];
    }
    return out;
  };
  auto in = descs(c.inputs), out = descs(c.outputs);
  const auto translated = cuda_plugin_attrs(c);
  std::vector<RavdlAttr> attrs;
  for (auto& [name, values] : translated)
    attrs.push_back({name.c_str(), values.data(), static_cast<int32_t>(values.size())});
  char err[512] = {0};
  int rc = g_plugin->run(c.device_index, c.op.c_str(), in.data(), static_cast<int>(in.size()), out.data(),
                         static_cast<int>(out.size()), attrs.data(), static_cast<int>(attrs.size()), err, sizeof err);
  if (rc != 0) throw_plugin(rc, err);
}

CudaStatus load() {
  CudaStatus s;
  // A library named by RAVDL_CUDA_LIB is loaded in any build (the tests' CPU stand-in).
  [[maybe_unused]] const char* named = std::getenv("RAVDL_CUDA_LIB");
#ifndef RAVDL_CUDA_BUILT
  if (!named || !*named) {
    s.reason = "ravdl was built without CUDA (nvcc was not found when the addon was compiled, or RAVDL_CUDA=OFF)";
    return s;
  }
#endif
  s.built = true;
  std::string why;
  const RavdlCudaPlugin* p = open_plugin(why);
  if (!p) {
    s.reason = "the CUDA runtime could not be loaded: " + why;
    return s;
  }
  char err[512] = {0};
  int n = 0;
  if (p->device_count(&n, err, sizeof err) != 0) {
    s.reason = std::string("no CUDA device (cudaGetDeviceCount: ") + err + ")";
    return s;
  }
  if (n <= 0) {
    s.reason = "no CUDA device (cudaGetDeviceCount: 0 devices)";
    return s;
  }
  for (int d = 0; d < n; d++) {
    char name[256] = {0};
    CudaDeviceInfo info;
    if (p->device_info(d, name, sizeof name, &info.memory_bytes, &info.cc_major, &info.cc_minor, err, sizeof err) != 0) {
      s.reason = std::string("CUDA device ") + std::to_string(d) + " did not answer (cudaGetDeviceProperties: " + err + ")";
      s.devices.clear();
      return s;
    }
    info.name = name;
    s.devices.push_back(info);
  }
  g_plugin = p;
  s.gemm = p->gemm_backend(0);
  for (int i = 0; i < p->n_ops; i++) register_kernel(p->ops[i], DeviceType::CUDA, forward);
  s.available = true;
  return s;
}

const RavdlCudaPlugin& plugin(const char* where, int dev) {
  cuda_require(where, dev);
  return *g_plugin;
}

void check(int rc, const char* err) {
  if (rc != 0) throw_plugin(rc, err);
}

}  // namespace

std::vector<std::string> cuda_library_ops(std::string& why) {
  const RavdlCudaPlugin* p = open_plugin(why);
  if (!p) {
    why = "the CUDA library could not be loaded: " + why;
    return {};
  }
  return std::vector<std::string>(p->ops, p->ops + p->n_ops);
}

const CudaStatus& cuda_status() {
  static CudaStatus status = load();  // thread-safe one-time initialisation
  return status;
}

void cuda_require(const char* where, int index) {
  const CudaStatus& s = cuda_status();
  if (!s.available) fail(ErrorCode::Device, where, ": CUDA is not available: ", s.reason);
  if (index < 0 || index >= static_cast<int>(s.devices.size()))
    fail(ErrorCode::Device, where, ": no device 'cuda:", index, "' (this machine has ", s.devices.size(), ")");
}

void* cuda_alloc(int dev, size_t bytes) {
  char err[512] = {0};
  void* p = nullptr;
  check(plugin("cuda_alloc", dev).alloc(dev, bytes, &p, err, sizeof err), err);
  return p;
}
void cuda_free(int dev, void* ptr) {
  char err[512] = {0};
  check(plugin("cuda_free", dev).release(dev, ptr, err, sizeof err), err);
}
void cuda_copy_to_device(int dev, void* dst, const void* src, size_t bytes) {
  char err[512] = {0};
  check(plugin("cuda_copy", dev).copy(dev, dst, src, bytes, 0, err, sizeof err), err);
}
void cuda_copy_to_host(int dev, void* dst, const void* src, size_t bytes) {
  char err[512] = {0};
  check(plugin("cuda_copy", dev).copy(dev, dst, src, bytes, 1, err, sizeof err), err);
}
void cuda_copy_on_device(int dev, void* dst, const void* src, size_t bytes) {
  char err[512] = {0};
  check(plugin("cuda_copy", dev).copy(dev, dst, src, bytes, 2, err, sizeof err), err);
}
void cuda_synchronize(int dev) {
  char err[512] = {0};
  check(plugin("cuda_synchronize", dev).synchronize(dev, err, sizeof err), err);
}
std::string cuda_gemm_backend(int dev) { return plugin("cuda_gemm_backend", dev).gemm_backend(dev); }
size_t cuda_cached_bytes(int dev) { return plugin("cuda_cached_bytes", dev).cached_bytes(dev); }
void cuda_empty_cache(int dev) {
  char err[512] = {0};
  check(plugin("cuda_empty_cache", dev).empty_cache(dev, err, sizeof err), err);
}

}  // namespace ravdl

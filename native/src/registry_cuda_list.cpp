// The ops the CUDA library has kernels for, read from its static list (cuda_plugin.h) without
// touching a device: the coverage table (scripts/kernel-coverage.ts) is made on machines
// without a GPU. The library is looked for where the loader looks (native/src/cuda/loader.cpp).
#include <dlfcn.h>

#include <cstdlib>

#include "ravdl/cuda_plugin.h"
#include "ravdl/registry.h"

namespace ravdl {

std::vector<std::string> cuda_library_ops(std::string& why) {
  std::string path;
  if (const char* env = std::getenv("RAVDL_CUDA_LIB"); env && *env) {
    path = env;
  } else {
    Dl_info info{};
    std::string dir = ".";
    if (dladdr(reinterpret_cast<void*>(&cuda_library_ops), &info) && info.dli_fname) {
      std::string self = info.dli_fname;
      auto slash = self.rfind('/');
      if (slash != std::string::npos) dir = self.substr(0, slash);
    }
    path = dir + "/libravdl_cuda.so";
  }
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    why = std::string("the CUDA library could not be loaded: ") + (e ? e : path.c_str());
    return {};
  }
  using Entry = const RavdlCudaPlugin* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(h, "ravdl_cuda_plugin"));
  const RavdlCudaPlugin* p = entry ? entry() : nullptr;
  if (!p || p->abi != RAVDL_CUDA_ABI) {
    why = path + " is not a ravdl CUDA library of this version";
    return {};
  }
  std::vector<std::string> ops(p->ops, p->ops + p->n_ops);  // the library stays loaded (as the loader keeps it)
  return ops;
}

}  // namespace ravdl

// Entry point of the Node addon: every kernel group registers its functions.
#include <napi.h>

#include "common.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace ravdl::node;
  register_core(env, exports);
  register_elementwise(env, exports);
  register_matmul(env, exports);
  register_conv(env, exports);
  register_nn(env, exports);
  register_misc(env, exports);
  register_kernel_entry(env, exports);
  register_device(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(ravdl, Init)

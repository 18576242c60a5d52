// Binding of the nn kernel group.
#include "common.h"

namespace ravdl::node {

void register_nn(Napi::Env env, Napi::Object exports) {}

}  // namespace ravdl::node

// Binding of the elementwise kernel group.
#include "common.h"

namespace ravdl::node {

void register_elementwise(Napi::Env env, Napi::Object exports) {}

}  // namespace ravdl::node

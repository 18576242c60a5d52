// Binding of the conv kernel group.
#include "common.h"

namespace ravdl::node {

void register_conv(Napi::Env env, Napi::Object exports) {}

}  // namespace ravdl::node

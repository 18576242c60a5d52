// Binding of the matmul kernel group.
#include "common.h"

namespace ravdl::node {

void register_matmul(Napi::Env env, Napi::Object exports) {}

}  // namespace ravdl::node

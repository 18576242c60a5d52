// Binding of the misc kernel group.
#include "common.h"

namespace ravdl::node {

void register_misc(Napi::Env env, Napi::Object exports) {}

}  // namespace ravdl::node

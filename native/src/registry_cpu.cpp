// CPU kernels in the registry: thin wrappers of the checked CPU kernels (same validation, same
// results as calling them directly), registered by group from native/src/registry_<group>.cpp
// under the op catalog's names and attribute names (lib/ops/*).
#include "ravdl/registry.h"

namespace ravdl::detail {

void register_elementwise_kernels();  // registry_elementwise.cpp
void register_reduce_kernels();       // registry_reduce.cpp
void register_conv_kernels();         // registry_conv.cpp
void register_nn_kernels();           // registry_nn.cpp
void register_shape_kernels();        // registry_shape.cpp
void declare_typescript_kernel_attrs();  // registry_declared.cpp

void register_cpu_kernels() {
  register_elementwise_kernels();
  register_reduce_kernels();
  register_conv_kernels();
  register_nn_kernels();
  register_shape_kernels();
  declare_typescript_kernel_attrs();
}

}  // namespace ravdl::detail

// Attribute declarations of the catalog ops whose CPU kernel is written in TypeScript (their
// CUDA kernels read these): without a declaration the binding would pass none of their
// attributes, and a CUDA kernel would silently run with its defaults (gather's axis 0, ...).
// The names and choices are the catalog's (lib/ops/indexing.ts, pointwise_loss.ts, creation.ts);
// dtype attributes are not passed (the kernels take the output's dtype, cuda_ops.h).
#include "ravdl/registry.h"

namespace ravdl::detail {

void declare_typescript_kernel_attrs() {
  const AttrDecl reduction{"reduction", {"mean", "sum", "none"}};
  declare_attrs("gather", {{"axis", {}}});
  declare_attrs("gather_backward", {{"axis", {}}, {"shape", {}}});
  declare_attrs("one_hot_encoding", {{"depth", {}}});
  declare_attrs("arange", {{"start", {}}, {"stop", {}}, {"step", {}}});
  declare_attrs("full", {{"value", {}}});
  declare_attrs("astype", {});
  for (const char* op : {"l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"}) {
    declare_attrs(op, {reduction});
    declare_attrs(std::string(op) + "_backward", {reduction});
  }
  declare_attrs("huber_loss", {reduction, {"delta", {}}});
  declare_attrs("huber_loss_backward", {reduction, {"delta", {}}});
}

}  // namespace ravdl::detail

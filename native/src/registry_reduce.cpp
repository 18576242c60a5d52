// CPU kernels of reductions in the registry: sum, mean, max, min, prod, variance, std,
// argmax/argmin, and the softmax family with its backward ops. Names are the op catalog's.
#include <optional>

#include "ravdl/reduce.h"
#include "ravdl/softmax.h"
#include "registry_util.h"

namespace ravdl::detail {
namespace {
using namespace reg;

// axis: absent or [] = all axes, else a list of axes; keepdims.
void reduce_kernel(ReduceOp op, KernelCall& c) {
  expect_counts(c, 1, 1);
  CFView x = in_f(c, 0);
  auto axes = c.attrs.ints(c.op.c_str(), "axis");
  bool keep = flag(c, "keepdims", false);
  expect_out_shape(c, 0, reduce_shape(c.op.c_str(), x.shape, axes, keep));
  double corr = c.attrs.num(c.op.c_str(), "correction", 1.0);
  reduce(op, x, axes, keep, out_fs(c, 0), corr);
}

// axis: absent = the flattened tensor; keepdims. Output int32.
void argreduce_kernel(bool is_max, KernelCall& c) {
  expect_counts(c, 1, 1);
  CFView x = in_f(c, 0);
  std::optional<int64_t> axis;
  if (c.attrs.has("axis")) axis = c.attrs.integer(c.op.c_str(), "axis", 0);
  bool keep = flag(c, "keepdims", false);
  expect_out_shape(c, 0, argreduce_shape(c.op.c_str(), x.shape, axis, keep));
  if (is_max) argmax(x, axis, keep, out_is(c, 0));
  else argmin(x, axis, keep, out_is(c, 0));
}

}  // namespace

void register_reduce_kernels() {
  const std::pair<const char*, ReduceOp> reductions[] = {{"sum", ReduceOp::Sum}, {"mean", ReduceOp::Mean},
      {"max", ReduceOp::Max}, {"min", ReduceOp::Min}, {"prod", ReduceOp::Prod}, {"variance", ReduceOp::Var},
      {"std", ReduceOp::Std}};
  for (auto [name, op] : reductions) {
    std::vector<AttrDecl> attrs = {{"axis", {}}, {"keepdims", {}}};
    if (op == ReduceOp::Var || op == ReduceOp::Std) attrs.push_back({"correction", {}});
    declare_attrs(name, attrs);
    register_kernel(name, DeviceType::CPU, [op = op](KernelCall& c) { reduce_kernel(op, c); });
  }
  for (bool is_max : {true, false}) {
    const char* name = is_max ? "argmax" : "argmin";
    declare_attrs(name, {{"axis", {}}, {"keepdims", {}}});
    register_kernel(name, DeviceType::CPU, [is_max](KernelCall& c) { argreduce_kernel(is_max, c); });
  }

  const std::pair<const char*, SoftmaxKind> softmaxes[] = {{"softmax", SoftmaxKind::Softmax},
      {"log_softmax", SoftmaxKind::LogSoftmax}, {"softmin", SoftmaxKind::Softmin}};
  for (auto [name, kind] : softmaxes) {
    std::string bwd = std::string(name) + "_backward";
    declare_attrs(name, {{"axis", {}}});
    declare_attrs(bwd, {{"axis", {}}});
    register_kernel(name, DeviceType::CPU, [kind = kind](KernelCall& c) {
      expect_counts(c, 1, 1);
      CFView x = in_f(c, 0);
      expect_out_shape(c, 0, x.shape);
      softmax_forward(kind, x, c.attrs.integer(c.op.c_str(), "axis", -1), out_fs(c, 0));
    });
    // (y, gy) -> gx
    register_kernel(bwd, DeviceType::CPU, [kind = kind](KernelCall& c) {
      expect_counts(c, 2, 1);
      CFView y = in_f(c, 0);
      if (c.inputs[1].shape != y.shape) fail(ErrorCode::Shape, c.op, ": gy must have y's shape ", shape_str(y.shape), ", got ", shape_str(c.inputs[1].shape));
      expect_out_shape(c, 0, y.shape);
      softmax_backward(kind, y, in_fs(c, 1), c.attrs.integer(c.op.c_str(), "axis", -1), out_fs(c, 0));
    });
  }
}

}  // namespace ravdl::detail

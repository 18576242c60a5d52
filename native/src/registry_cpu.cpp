// CPU kernels in the registry: thin wrappers of the checked CPU kernels (same validation, same
// results as the binding's direct calls). For now the ops that have a CUDA kernel, so that each
// CUDA kernel has its CPU reference behind the same entry point (native/tests/test_cuda.cpp).
#include <cstring>

#include "ravdl/elementwise.h"
#include "ravdl/error.h"
#include "ravdl/gemm.h"
#include "ravdl/reduce.h"
#include "ravdl/registry.h"
#include "ravdl/softmax.h"

namespace ravdl {
namespace {

void expect_args(const KernelCall& c, size_t n_in, size_t n_out) {
  if (c.inputs.size() != n_in || c.outputs.size() != n_out)
    fail(ErrorCode::Arg, c.op, ": expected ", n_in, " inputs and ", n_out, " outputs, got ", c.inputs.size(),
         " and ", c.outputs.size());
  for (auto* list : {&c.inputs, &c.outputs})
    for (auto& t : *list)
      if (t.dtype != DType::F32) fail(ErrorCode::Dtype, c.op, ": float32 tensors only");
}

CFView cview(const TensorArg& t) {
  return CFView{static_cast<const float*>(t.data), t.shape};
}
FView fview(const TensorArg& t) { return FView{static_cast<float*>(t.data), t.shape}; }
Span<const float> cspan(const TensorArg& t) {
  return {static_cast<const float*>(t.data), static_cast<size_t>(t.numel())};
}
FSpan fspan(const TensorArg& t) { return {static_cast<float*>(t.data), static_cast<size_t>(t.numel())}; }

// matmul: a [M, K] (stored [K, M] when trans_a), b [K, N] (stored [N, K] when trans_b) -> [M, N].
void matmul_cpu(KernelCall& c) {
  expect_args(c, 2, 1);
  const auto &a = c.inputs[0], &b = c.inputs[1], &y = c.outputs[0];
  bool ta = c.attrs.integer("matmul", "trans_a", 0) != 0, tb = c.attrs.integer("matmul", "trans_b", 0) != 0;
  if (a.shape.size() != 2 || b.shape.size() != 2 || y.shape.size() != 2)
    fail(ErrorCode::Shape, "matmul: 2-d operands only, got ", shape_str(a.shape), ", ", shape_str(b.shape), " -> ", shape_str(y.shape));
  int64_t M = ta ? a.shape[1] : a.shape[0], K = ta ? a.shape[0] : a.shape[1];
  int64_t Kb = tb ? b.shape[1] : b.shape[0], N = tb ? b.shape[0] : b.shape[1];
  if (K != Kb || y.shape[0] != M || y.shape[1] != N)
    fail(ErrorCode::Shape, "matmul: ", shape_str(a.shape), (ta ? "^T" : ""), " x ", shape_str(b.shape), (tb ? "^T" : ""), " does not give ", shape_str(y.shape));
  sgemm_checked(ta, tb, M, N, K, 1.0f, cspan(a), a.shape[1] > 0 ? a.shape[1] : 1, cspan(b),
                b.shape[1] > 0 ? b.shape[1] : 1, 0.0f, fspan(y), N > 0 ? N : 1);
}

void binary_cpu(BinaryOp op, KernelCall& c) {
  expect_args(c, 2, 1);
  Shape want = broadcast_shapes(c.op.c_str(), c.inputs[0].shape, c.inputs[1].shape);
  if (want != c.outputs[0].shape) fail(ErrorCode::Shape, c.op, ": output must have shape ", shape_str(want), ", got ", shape_str(c.outputs[0].shape));
  binary(op, cview(c.inputs[0]), cview(c.inputs[1]), fview(c.outputs[0]));
}

void unary_cpu(UnaryOp op, KernelCall& c) {
  expect_args(c, 1, 1);
  if (c.inputs[0].shape != c.outputs[0].shape) fail(ErrorCode::Shape, c.op, ": output must have the input's shape");
  unary(op, cspan(c.inputs[0]), fspan(c.outputs[0]));
}

// sum: attrs axes (empty = all) and keepdims.
void sum_cpu(KernelCall& c) {
  expect_args(c, 1, 1);
  auto axes = c.attrs.ints("sum", "axes");
  bool keep = c.attrs.integer("sum", "keepdims", 0) != 0;
  Shape want = reduce_shape("sum", c.inputs[0].shape, axes, keep);
  if (want != c.outputs[0].shape) fail(ErrorCode::Shape, "sum: output must have shape ", shape_str(want), ", got ", shape_str(c.outputs[0].shape));
  reduce(ReduceOp::Sum, cview(c.inputs[0]), axes, keep, fspan(c.outputs[0]));
}

// softmax: attr axis (default -1).
void softmax_cpu(KernelCall& c) {
  expect_args(c, 1, 1);
  if (c.inputs[0].shape != c.outputs[0].shape) fail(ErrorCode::Shape, "softmax: output must have the input's shape");
  softmax_forward(SoftmaxKind::Softmax, cview(c.inputs[0]), c.attrs.integer("softmax", "axis", -1),
                  fspan(c.outputs[0]));
}

}  // namespace

namespace detail {
void register_cpu_kernels() {
  register_kernel("matmul", DeviceType::CPU, matmul_cpu);
  const std::pair<const char*, BinaryOp> binaries[] = {{"add", BinaryOp::Add}, {"sub", BinaryOp::Sub},
      {"mul", BinaryOp::Mul}, {"div", BinaryOp::Div}, {"maximum", BinaryOp::Maximum}, {"minimum", BinaryOp::Minimum}};
  for (auto [name, op] : binaries) register_kernel(name, DeviceType::CPU, [op = op](KernelCall& c) { binary_cpu(op, c); });
  const std::pair<const char*, UnaryOp> unaries[] = {{"relu", UnaryOp::Relu}, {"exp", UnaryOp::Exp}, {"log", UnaryOp::Log},
      {"tanh", UnaryOp::Tanh}, {"sigmoid", UnaryOp::Sigmoid}, {"neg", UnaryOp::Neg}, {"sqrt", UnaryOp::Sqrt}, {"abs", UnaryOp::Abs}};
  for (auto [name, op] : unaries) register_kernel(name, DeviceType::CPU, [op = op](KernelCall& c) { unary_cpu(op, c); });
  register_kernel("sum", DeviceType::CPU, sum_cpu);
  register_kernel("softmax", DeviceType::CPU, softmax_cpu);
}
}  // namespace detail

}  // namespace ravdl

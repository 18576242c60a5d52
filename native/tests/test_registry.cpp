// The kernel registry's generic pieces without Node: catalog names, declared attributes, choice
// attributes, absent optional inputs, handles, and errors that name the op.
#include <vector>

#include "check.h"
#include "ravdl/registry.h"

using namespace ravdl;

TEST_CASE("registry: CPU kernels under the catalog's names, with their declared attributes") {
  CHECK(has_kernel("natlog", DeviceType::CPU));
  CHECK(has_kernel("square_root", DeviceType::CPU));
  CHECK(has_kernel("conv2d_backward_input", DeviceType::CPU));
  CHECK(!has_kernel("log", DeviceType::CPU));  // the native kernel's name, not the catalog's
  const auto& sum = op_attrs("sum");
  CHECK(sum.size() == 2);
  CHECK(sum[0].name == "axis");
  CHECK(sum[1].name == "keepdims");
  CHECK(op_attrs("add").empty());
  CHECK(op_known("add"));
  CHECK(!op_known("no_such_op"));
  int h = kernel_handle("relu", DeviceType::CPU);
  HandleInfo info = handle_info(h);
  CHECK(*info.op == "relu");
  CHECK(info.device == DeviceType::CPU);
  CHECK_THROWS_CODE(kernel_handle("relu", DeviceType::CUDA), ErrorCode::Device);
  CHECK_THROWS_CODE(handle_info(1 << 30), ErrorCode::Arg);
}

TEST_CASE("registry: a choice attribute is -(1 + its index); numbers and choices share conv2d's padding") {
  Attrs a;
  a.set("reduction", -2.0).set("padding", std::vector<double>{1, 2});
  CHECK(a.choice("op", "reduction", {"mean", "sum", "none"}, 0) == 1);
  CHECK(!a.is_choice("padding"));
  CHECK(a.choice("op", "absent", {"x"}, 7) == 7);
  a.set("reduction", -4.0);
  CHECK_THROWS_CODE(a.choice("op", "reduction", {"mean", "sum", "none"}, 0), ErrorCode::Attr);
  a.set("reduction", 1.0);
  CHECK_THROWS_CODE(a.choice("op", "reduction", {"mean", "sum", "none"}, 0), ErrorCode::Attr);
  a.set("padding", -1.0);
  CHECK(a.is_choice("padding"));
}

TEST_CASE("registry: conv2d with an absent bias and 'same' padding; a missing required input is ERR_ARG") {
  std::vector<float> x(9), w = {1, 0, 0, 1}, y(9, -1.0f);
  for (int i = 0; i < 9; i++) x[i] = static_cast<float>(i + 1);
  TensorArg bias;
  bias.dtype = DType::Absent;
  KernelCall c{"conv2d", DeviceType::CPU, 0, {{x.data(), {1, 1, 3, 3}, DType::F32}, {w.data(), {1, 1, 2, 2}, DType::F32}, bias},
               {{y.data(), {1, 1, 3, 3}, DType::F32}}, {}};
  c.attrs.set("padding", -1.0);  // 'same'
  run_kernel(c);
  CHECK(y[0] == 1.0f + 5.0f);
  KernelCall missing{"relu", DeviceType::CPU, 0, {bias}, {{y.data(), {9}, DType::F32}}, {}};
  CHECK_THROWS_CODE(run_kernel(missing), ErrorCode::Arg);
}

TEST_CASE("registry: a core kernel's error names the op it runs for") {
  std::vector<float> x(6), y(1);
  KernelCall c{"variance", DeviceType::CPU, 0, {{x.data(), {6}, DType::F32}}, {{y.data(), {}, DType::F32}}, {}};
  c.attrs.set("correction", -1.0);
  try {
    run_kernel(c);
    CHECK(false);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Attr);
    CHECK(std::string(e.what()).rfind("variance: ", 0) == 0);
  }
}

// The kernel registry and the CUDA loader on any machine: CPU kernels through the generic entry
// point give the direct calls' results, a missing (op, device) is ERR_DEVICE, and the CUDA
// status explains itself (built or not, library loaded or not, device or not).
#include <cstring>
#include <vector>

#include "check.h"
#include "ravdl/cuda.h"
#include "ravdl/cuda_ops.h"
#include "ravdl/elementwise.h"
#include "ravdl/gemm.h"
#include "ravdl/registry.h"

using namespace ravdl;

TEST_CASE("registry: cpu matmul with transposes equals sgemm") {
  const int64_t M = 3, N = 4, K = 5;
  std::vector<float> a(M * K), b(K * N);
  for (size_t i = 0; i < a.size(); i++) a[i] = 0.25f * static_cast<float>(i % 7) - 0.5f;
  for (size_t i = 0; i < b.size(); i++) b[i] = 0.125f * static_cast<float>(i % 5) - 0.25f;
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      std::vector<float> y(M * N, -1.0f), want(M * N, -2.0f);
      KernelCall c{"matmul", DeviceType::CPU, 0,
                   {{a.data(), ta ? Shape{K, M} : Shape{M, K}, DType::F32}, {b.data(), tb ? Shape{N, K} : Shape{K, N}, DType::F32}},
                   {{y.data(), {M, N}, DType::F32}}, {}};
      c.attrs.set("trans_a", ta).set("trans_b", tb);
      run_kernel(c);
      sgemm(ta, tb, M, N, K, 1.0f, a.data(), ta ? M : K, b.data(), tb ? K : N, 0.0f, want.data(), N);
      for (size_t i = 0; i < y.size(); i++) CHECK(y[i] == want[i]);
    }
}

TEST_CASE("registry: cpu add broadcasts, sum and softmax follow their attributes") {
  std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {10, 20, 30}, y(6);
  KernelCall add{"add", DeviceType::CPU, 0, {{a.data(), {2, 3}, DType::F32}, {b.data(), {3}, DType::F32}}, {{y.data(), {2, 3}, DType::F32}}, {}};
  run_kernel(add);
  const float want[] = {11, 22, 33, 14, 25, 36};
  for (int i = 0; i < 6; i++) CHECK(y[i] == want[i]);

  std::vector<float> s(2);
  KernelCall sum{"sum", DeviceType::CPU, 0, {{a.data(), {2, 3}, DType::F32}}, {{s.data(), {2, 1}, DType::F32}}, {}};
  sum.attrs.set("axis", std::vector<double>{1}).set("keepdims", 1);
  run_kernel(sum);
  CHECK(s[0] == 6.0f);
  CHECK(s[1] == 15.0f);

  std::vector<float> p(6);
  KernelCall sm{"softmax", DeviceType::CPU, 0, {{a.data(), {2, 3}, DType::F32}}, {{p.data(), {2, 3}, DType::F32}}, {}};
  sm.attrs.set("axis", 0);
  run_kernel(sm);
  for (int j = 0; j < 3; j++) CHECK_NEAR(p[j] + p[3 + j], 1.0, 1e-6);
  CHECK_NEAR(p[0], 1.0 / (1.0 + std::exp(3.0)), 1e-6);
}

TEST_CASE("registry: bad calls are typed errors") {
  std::vector<float> a(6), y(6);
  KernelCall wrong{"add", DeviceType::CPU, 0, {{a.data(), {2, 3}, DType::F32}, {a.data(), {3, 2}, DType::F32}}, {{y.data(), {2, 3}, DType::F32}}, {}};
  CHECK_THROWS_CODE(run_kernel(wrong), ErrorCode::Shape);
  KernelCall unknown{"no_such_op", DeviceType::CPU, 0, {}, {}, {}};
  CHECK_THROWS_CODE(run_kernel(unknown), ErrorCode::Device);
  KernelCall frac{"sum", DeviceType::CPU, 0, {{a.data(), {6}, DType::F32}}, {{y.data(), {}, DType::F32}}, {}};
  frac.attrs.set("axis", std::vector<double>{0.5});
  CHECK_THROWS_CODE(run_kernel(frac), ErrorCode::Attr);
  CHECK(has_kernel("matmul", DeviceType::CPU));
  CHECK(!kernel_ops(DeviceType::CPU).empty());
}

TEST_CASE("cuda: the status says why CUDA cannot be used, and a cuda call is ERR_DEVICE then") {
  const CudaStatus& s = cuda_status();
  if (s.available) {
    CHECK(!s.devices.empty());
    CHECK(has_kernel("matmul", DeviceType::CUDA));
    return;
  }
  CHECK(s.devices.empty());
  if (!s.built) CHECK(s.reason.find("ravdl was built without CUDA") == 0);
  else CHECK(s.reason.find("the CUDA runtime could not be loaded: ") == 0 || s.reason.find("no CUDA device (cudaGetDeviceCount: ") == 0);
  CHECK(!has_kernel("matmul", DeviceType::CUDA));
  std::vector<float> a(4), y(4);
  KernelCall c{"relu", DeviceType::CUDA, 0, {{a.data(), {4}, DType::F32}}, {{y.data(), {4}, DType::F32}}, {}};
  CHECK_THROWS_CODE(run_kernel(c), ErrorCode::Device);
  CHECK_THROWS_CODE(cuda_require("test", 0), ErrorCode::Device);
  CHECK_THROWS_CODE(cuda_alloc(0, 16), ErrorCode::Device);
}

TEST_CASE("cuda: the string attributes' codes follow the catalog's order") {
  CHECK(cuda_enum_code("reduction", "mean") == 0);
  CHECK(cuda_enum_code("reduction", "none") == 2);
  CHECK(cuda_enum_code("mode", "circular") == 3);
  CHECK(cuda_enum_code("padding_mode", "zeros") == 0);
  CHECK(cuda_enum_code("reduction", "median") == -1);
  CHECK(cuda_enum_code("no_such_attr", "mean") == -1);
}

TEST_CASE("cuda loader: the registry's choice codes and conv 'same'/'valid' padding reach the CUDA library in its encoding") {
  auto find = [](const std::vector<std::pair<std::string, std::vector<double>>>& a, const char* name) {
    for (const auto& [n, v] : a)
      if (n == name) return v;
    return std::vector<double>{-99};
  };
  std::vector<float> dummy(1);
  // reduction 'sum' (code -2) -> 1; a number next to it is left alone.
  KernelCall ce{"cross_entropy", DeviceType::CUDA, 0, {}, {}, {}};
  ce.attrs.set("reduction", -2).set("ignore_index", -100);
  auto a = cuda_plugin_attrs(ce);
  CHECK(find(a, "reduction") == std::vector<double>{1});
  CHECK(find(a, "ignore_index") == std::vector<double>{-100});
  // pad mode 'replicate' (code -3) -> 2.
  KernelCall pad{"pad", DeviceType::CUDA, 0, {}, {}, {}};
  pad.attrs.set("mode", -3);
  CHECK(find(cuda_plugin_attrs(pad), "mode") == std::vector<double>{2});
  // conv2d 'same' (code -1), weight [4, 3, 3, 4], dilation [1, 2]: totals 2 and 6 -> [1, 1, 3, 3];
  // kernel width 4 with dilation 1 would give 3 -> [1, 2] (the odd element at the end).
  KernelCall conv{"conv2d", DeviceType::CUDA, 0, {{dummy.data(), {1, 3, 8, 8}, DType::F32}, {dummy.data(), {4, 3, 3, 4}, DType::F32}}, {}, {}};
  conv.attrs.set("padding", -1).set("dilation", std::vector<double>{1, 2}).set("padding_mode", -1);
  a = cuda_plugin_attrs(conv);
  CHECK(find(a, "padding") == (std::vector<double>{1, 1, 3, 3}));
  CHECK(find(a, "padding_mode") == std::vector<double>{0});
  KernelCall conv1{"conv1d", DeviceType::CUDA, 0, {{dummy.data(), {1, 3, 8}, DType::F32}, {dummy.data(), {4, 3, 4}, DType::F32}}, {}, {}};
  conv1.attrs.set("padding", -1);
  CHECK(find(cuda_plugin_attrs(conv1), "padding") == (std::vector<double>{1, 2}));
  // 'valid' (code -2) -> zeros; the weight gradient's weight shape is its output's.
  KernelCall gw{"conv2d_backward_weight", DeviceType::CUDA, 0, {}, {{dummy.data(), {4, 3, 5, 5}, DType::F32}}, {}};
  gw.attrs.set("padding", -2);
  CHECK(find(cuda_plugin_attrs(gw), "padding") == (std::vector<double>{0, 0, 0, 0}));
  gw.attrs.set("padding", -1);
  CHECK(find(cuda_plugin_attrs(gw), "padding") == (std::vector<double>{2, 2, 2, 2}));
  // 'same' with a stride is refused as on the CPU; a code outside the list is ERR_ATTR.
  conv.attrs.set("stride", 2);
  CHECK_THROWS_CODE(cuda_plugin_attrs(conv), ErrorCode::Attr);
  pad.attrs.set("mode", -9);
  CHECK_THROWS_CODE(cuda_plugin_attrs(pad), ErrorCode::Attr);
}

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
  sum.attrs.set("axes", std::vector<double>{1}).set("keepdims", 1);
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
  frac.attrs.set("axes", std::vector<double>{0.5});
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

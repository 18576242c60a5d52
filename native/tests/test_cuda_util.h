// Helpers of the CUDA kernel tests (test_cuda*.cpp, one executable, no Node): host tensors,
// running an op on cuda:0 through the kernel registry, and comparing with the CPU kernel's
// result (computed by the caller with the CPU function itself, on the same inputs).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "ravdl/cuda.h"
#include "ravdl/error.h"
#include "ravdl/registry.h"

namespace ravdl::cudatest {

extern int g_failures, g_checks, g_skipped;

// With RAVDL_CUDA_TESTS_SUBSET=1 (a library that lists only some ops: the CPU stand-in,
// native/mock/cuda_mock.cpp), a check that reaches an op the library lacks is counted as skipped;
// otherwise that is a failure like any other. Uncounts the check when it skips.
bool skipped_op(const Error& e);

// Reproducible uniform floats in [lo, hi) (xorshift; the tests' one generator).
float uniform(float lo, float hi);
std::vector<float> random_vec(int64_t n, float lo = -1, float hi = 1);
std::vector<int32_t> random_ints(int64_t n, int32_t lo, int32_t hi);  // in [lo, hi)

// A host tensor: float32 or int32 data with a shape; `absent` marks a missing optional input.
struct HostT {
  std::vector<float> f;
  std::vector<int32_t> i;
  Shape shape;
  DType dtype = DType::F32;
  bool absent = false;
  static HostT F(std::vector<float> v, Shape s) { return HostT{std::move(v), {}, std::move(s), DType::F32, false}; }
  static HostT I(std::vector<int32_t> v, Shape s) { return HostT{{}, std::move(v), std::move(s), DType::I32, false}; }
  static HostT None() { return HostT{{}, {}, {}, DType::F32, true}; }
  static HostT Out(Shape s, DType d = DType::F32) {
    HostT t{{}, {}, std::move(s), d, false};
    if (d == DType::F32) t.f.assign(static_cast<size_t>(numel(t.shape)), 0.0f);
    else t.i.assign(static_cast<size_t>(numel(t.shape)), 0);
    return t;
  }
};

// Runs `op` on cuda:0 with these inputs and attributes into outputs of the given shapes and
// dtypes (each HostT::Out); returns them copied back. Outputs in `inplace` (output index ->
// input index) are the input's device buffer. Throws ravdl::Error from the kernel.
std::vector<HostT> run_cuda(const std::string& op, const std::vector<HostT>& inputs, std::vector<HostT> outputs, const Attrs& attrs,
                            const std::vector<std::pair<int, int>>& inplace = {});

// |cpu - gpu| <= atol + rtol |cpu| element by element (NaN must meet NaN); atol = rtol = 0 is
// an exact (bitwise for non-NaN) comparison. Counts a check, and a failure with a message.
void expect_close(const std::string& label, const std::vector<float>& cpu, const std::vector<float>& gpu, double atol, double rtol);
void expect_equal(const std::string& label, const std::vector<int32_t>& cpu, const std::vector<int32_t>& gpu);
// `fn` must throw ravdl::Error with `code`.
template <class F>
void expect_error(const std::string& label, ErrorCode code, F&& fn) {
  ++g_checks;
  try {
    fn();
  } catch (const Error& e) {
    if (e.code() == code || skipped_op(e)) return;
    ++g_failures;
    std::fprintf(stderr, "FAIL %s: error %s instead of the expected one: %s\n", label.c_str(), e.code_name(), e.what());
    return;
  }
  ++g_failures;
  std::fprintf(stderr, "FAIL %s: no error\n", label.c_str());
}
// The label's failure for an unexpected exception.
void report_exception(const std::string& label, const Error& e);

std::string str(const Shape& s);

// The groups of cases (one per file).
void test_elementwise();  // test_cuda.cpp
void test_reduce();
void test_matmul();
void test_conv();         // test_cuda_conv.cpp
void test_pool();
void test_norm();         // test_cuda_nn.cpp
void test_loss();
void test_embedding();
void test_random();
void test_optim();
void test_data();           // test_cuda_data.cpp
void test_pointwise_loss();

}  // namespace ravdl::cudatest

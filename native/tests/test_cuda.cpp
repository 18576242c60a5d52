// The CUDA kernels against their CPU references, op by op, through the kernel registry (llm.c
// style): the same inputs on both devices, results compared element by element. No Node: GPU
// machines run it from scripts/gpu-check.sh. Without a usable device it prints
// "skipped: no CUDA device (<why>)" and exits 0; any mismatch or error exits 1.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "ravdl/cuda.h"
#include "ravdl/error.h"
#include "ravdl/registry.h"

using namespace ravdl;

namespace {

int g_failures = 0, g_checks = 0;

uint64_t g_rng = 0x9E3779B97F4A7C15ull;
float uniform(float lo, float hi) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return lo + (hi - lo) * static_cast<float>((g_rng >> 40) * (1.0 / 16777216.0));
}
std::vector<float> random_vec(int64_t n, float lo = -1, float hi = 1) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = uniform(lo, hi);
  return v;
}

struct HostTensor {
  std::vector<float> data;
  Shape shape;
};

// Runs op on the CPU and on cuda:0 with the same inputs; compares |cpu - gpu| <= atol + rtol |cpu|
// (NaN must match NaN).
void compare(const std::string& label, const std::string& op, const std::vector<HostTensor>& inputs, const Shape& out_shape,
             const Attrs& attrs, double atol, double rtol) {
  ++g_checks;
  const int64_t n_out = numel(out_shape);
  std::vector<float> cpu_out(static_cast<size_t>(n_out)), gpu_out(static_cast<size_t>(n_out), -12345.0f);
  std::vector<void*> device_bufs;
  try {
    KernelCall cpu{op, DeviceType::CPU, 0, {}, {}, attrs};
    for (auto& t : inputs) cpu.inputs.push_back({const_cast<float*>(t.data.data()), t.shape, DType::F32});
    cpu.outputs.push_back({cpu_out.data(), out_shape, DType::F32});
    run_kernel(cpu);

    KernelCall gpu{op, DeviceType::CUDA, 0, {}, {}, attrs};
    for (auto& t : inputs) {
      void* d = cuda_alloc(0, t.data.size() * sizeof(float));
      device_bufs.push_back(d);
      cuda_copy_to_device(0, d, t.data.data(), t.data.size() * sizeof(float));
      gpu.inputs.push_back({d, t.shape, DType::F32});
    }
    void* y = cuda_alloc(0, static_cast<size_t>(n_out) * sizeof(float));
    device_bufs.push_back(y);
    gpu.outputs.push_back({y, out_shape, DType::F32});
    run_kernel(gpu);
    cuda_copy_to_host(0, gpu_out.data(), y, gpu_out.size() * sizeof(float));
  } catch (const Error& e) {
    ++g_failures;
    std::fprintf(stderr, "FAIL %s: %s %s\n", label.c_str(), e.code_name(), e.what());
    for (void* d : device_bufs) cuda_free(0, d);
    return;
  }
  for (void* d : device_bufs) cuda_free(0, d);
  int64_t bad = 0, first = -1;
  double worst = 0;
  for (int64_t i = 0; i < n_out; i++) {
    double c = cpu_out[i], g = gpu_out[i];
    bool ok = (std::isnan(c) && std::isnan(g)) || (c == g) || std::fabs(c - g) <= atol + rtol * std::fabs(c);
    if (!ok) {
      if (first < 0) first = i;
      ++bad;
      worst = std::fmax(worst, std::fabs(c - g));
    }
  }
  if (bad) {
    ++g_failures;
    std::fprintf(stderr, "FAIL %s: %lld of %lld elements differ (first at %lld: cpu %.9g, cuda %.9g; worst |diff| %.3g)\n",
                 label.c_str(), (long long)bad, (long long)n_out, (long long)first, cpu_out[first], gpu_out[first], worst);
  }
}

void test_matmul() {
  const int64_t sizes[][3] = {{1, 1, 1}, {7, 13, 5}, {128, 128, 8}, {129, 67, 300}, {256, 512, 128}, {33, 1, 1000}, {5, 3, 0}};
  for (auto& s : sizes)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) {
        int64_t M = s[0], N = s[1], K = s[2];
        HostTensor a{random_vec(M * K), ta ? Shape{K, M} : Shape{M, K}};
        HostTensor b{random_vec(K * N), tb ? Shape{N, K} : Shape{K, N}};
        Attrs at;
        at.set("trans_a", ta).set("trans_b", tb);
        char label[96];
        std::snprintf(label, sizeof label, "matmul M=%lld N=%lld K=%lld ta=%d tb=%d", (long long)M, (long long)N, (long long)K, ta, tb);
        compare(label, "matmul", {a, b}, {M, N}, at, 1e-5 * static_cast<double>(K) + 1e-5, 1e-4);
      }
}

void test_binary() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::pair<Shape, Shape> shapes[] = {{{3, 4, 5}, {3, 4, 5}}, {{3, 1, 5}, {4, 1}}, {{}, {2, 3}}, {{1}, {7}},
                                            {{2, 1, 3, 1}, {1, 4, 1, 5}}, {{1000003}, {1000003}}, {{0, 3}, {1, 3}}};
  for (const char* op : {"add", "sub", "mul", "div", "maximum", "minimum"})
    for (auto& [sa, sb] : shapes) {
      HostTensor a{random_vec(numel(sa), 0.5f, 2.0f), sa}, b{random_vec(numel(sb), -2.0f, -0.5f), sb};
      if (a.data.size() > 2) a.data[1] = nan;  // NaN propagation must match
      if (b.data.size() > 3) b.data[2] = nan;
      Shape out = broadcast_shapes(op, sa, sb);
      compare(std::string(op) + " " + shape_str(sa) + " with " + shape_str(sb), op, {a, b}, out, {}, 1e-6, 1e-6);
    }
}

void test_unary() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const char* op : {"relu", "exp", "log", "tanh", "sigmoid", "neg", "sqrt", "abs"})
    for (int64_t n : {1, 1000, 1000003}) {
      HostTensor x{random_vec(n, -8.0f, 8.0f), {n}};
      if (n > 3) {
        x.data[0] = nan;
        x.data[1] = 0.0f;
        x.data[2] = -0.0f;
      }
      compare(std::string(op) + " n=" + std::to_string(n), op, {x}, {n}, {}, 1e-6, 1e-5);
    }
}

void test_sum() {
  struct Case {
    Shape shape;
    std::vector<double> axes;
    bool keep;
  };
  const Case cases[] = {{{1000003}, {}, false}, {{3, 4, 5}, {1}, false}, {{3, 4, 5}, {0, 2}, true}, {{3, 4, 5}, {-1}, false},
                        {{0, 3}, {0}, false}, {{17, 4099}, {1}, true}, {{4099, 17}, {0}, false}, {{}, {}, false},
                        {{2, 3, 4, 5}, {1, 3}, false}};
  for (auto& c : cases) {
    HostTensor x{random_vec(numel(c.shape)), c.shape};
    Attrs at;
    at.set("axes", c.axes).set("keepdims", c.keep ? 1 : 0);
    std::vector<int64_t> axes(c.axes.begin(), c.axes.end());
    Shape out;
    // The output shape the CPU kernel expects (reduce_shape is in reduce.h; recomputed here).
    std::vector<bool> red(c.shape.size(), axes.empty());
    for (auto a : axes) red[static_cast<size_t>(a < 0 ? a + static_cast<int64_t>(c.shape.size()) : a)] = true;
    for (size_t d = 0; d < c.shape.size(); d++)
      if (!red[d]) out.push_back(c.shape[d]);
      else if (c.keep) out.push_back(1);
    compare("sum " + shape_str(c.shape) + " axes " + std::to_string(axes.size()) + (c.keep ? " keepdims" : ""), "sum", {x}, out,
            at, 1e-4, 1e-5);
  }
}

void test_softmax() {
  const std::pair<Shape, int> cases[] = {{{4, 1000}, -1}, {{3, 5, 7}, 1}, {{2, 3}, 0}, {{1, 100003}, -1}, {{64, 10}, 1}};
  for (auto& [shape, axis] : cases) {
    HostTensor x{random_vec(numel(shape), -30.0f, 30.0f), shape};
    Attrs at;
    at.set("axis", axis);
    compare("softmax " + shape_str(shape) + " axis " + std::to_string(axis), "softmax", {x}, shape, at, 1e-6, 1e-4);
  }
}

// Bad input is a typed error on the CUDA side too, before any launch.
void test_errors() {
  ++g_checks;
  void* a = cuda_alloc(0, 6 * sizeof(float));
  void* b = cuda_alloc(0, 6 * sizeof(float));
  void* y = cuda_alloc(0, 4 * sizeof(float));
  KernelCall c{"matmul", DeviceType::CUDA, 0, {{a, {2, 3}, DType::F32}, {b, {2, 3}, DType::F32}}, {{y, {2, 2}, DType::F32}}, {}};
  try {
    run_kernel(c);
    ++g_failures;
    std::fprintf(stderr, "FAIL matmul [2,3] x [2,3] on cuda did not throw\n");
  } catch (const Error& e) {
    if (e.code() != ErrorCode::Shape) {
      ++g_failures;
      std::fprintf(stderr, "FAIL matmul shape error has code %s: %s\n", e.code_name(), e.what());
    }
  }
  // The caching allocator hands a freed block back for a request of the same size class.
  cuda_free(0, y);
  void* again = cuda_alloc(0, 4 * sizeof(float));
  if (again != y) {
    ++g_failures;
    std::fprintf(stderr, "FAIL the caching allocator did not reuse a freed block\n");
  }
  for (void* p : {a, b, again}) cuda_free(0, p);
}

}  // namespace

int main() {
  const CudaStatus& s = cuda_status();
  if (!s.available) {
    // "skipped: no CUDA device (...)" whatever the reason (the reason may already say it).
    if (s.reason.rfind("no CUDA device", 0) == 0) std::printf("skipped: %s\n", s.reason.c_str());
    else std::printf("skipped: no CUDA device (%s)\n", s.reason.c_str());
    return 0;
  }
  for (size_t i = 0; i < s.devices.size(); i++)
    std::printf("cuda:%zu %s, %.1f GiB, compute capability %d.%d\n", i, s.devices[i].name.c_str(),
                s.devices[i].memory_bytes / 1073741824.0, s.devices[i].cc_major, s.devices[i].cc_minor);
  for (auto& op : kernel_ops(DeviceType::CUDA))
    if (!has_kernel(op, DeviceType::CPU)) {
      ++g_failures;
      std::fprintf(stderr, "FAIL cuda op '%s' has no CPU reference kernel\n", op.c_str());
    }
  test_matmul();
  test_binary();
  test_unary();
  test_sum();
  test_softmax();
  test_errors();
  std::printf("%d comparisons, %d failed\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}

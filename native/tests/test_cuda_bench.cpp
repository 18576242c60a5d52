// Benchmarks of the CUDA kernels on cuda:0 through the kernel registry, without Node:
//   ravdl_cuda_bench [sgemm|conv|cnn|all] [n=4096] [iterations=20]
// sgemm: C = A B for n x n matrices (matmul op; cuBLAS when it loaded, else our tiled kernel:
//        RAVDL_CUDA_GEMM=builtin forces ours), prints SGEMM_GFLOPS=<value>.
// conv:  conv2d forward, and forward + the three gradients, on the shapes of
//        benchmarks/conv.bench.ts; prints CONV_<shape>_FWD_MS / _FWDBWD_MS.
// cnn:   one training step (forward, backward, Adam) of the benchmarks' CNN (benchmarks/models.ts:
//        conv32-relu-pool-conv64-relu-pool-fc128-relu-fc10, cross-entropy, batch 64), every op
//        through run_kernel; prints CNN_STEP_MS.
// Without a CUDA device: "skipped: no CUDA device (<why>)" and exit status 0.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ravdl/cuda.h"
#include "ravdl/error.h"
#include "ravdl/registry.h"

using namespace ravdl;

namespace {

// A device tensor owned by the benchmark.
struct Dev {
  void* p = nullptr;
  Shape shape;
  DType dtype = DType::F32;
  Dev() = default;
  explicit Dev(Shape s, DType d = DType::F32) : shape(std::move(s)), dtype(d) {
    p = cuda_alloc(0, static_cast<size_t>(std::max<int64_t>(1, numel(shape))) * 4);
  }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  ~Dev() {
    if (p) cuda_free(0, p);
  }
  TensorArg arg() const { return {p, shape, dtype}; }
  TensorArg as(Shape s) const { return {p, std::move(s), dtype}; }  // a view with another shape
};

uint32_t g_seed = 12345;
// Fills with reproducible values in [-scale, scale).
void fill(Dev& d, float scale) {
  std::vector<float> h(static_cast<size_t>(numel(d.shape)));
  for (auto& x : h) {
    g_seed = g_seed * 1664525u + 1013904223u;
    x = scale * (static_cast<float>(g_seed >> 8) / 8388608.0f - 1.0f);
  }
  if (!h.empty()) cuda_copy_to_device(0, d.p, h.data(), h.size() * 4);
}

void run(const char* op, std::vector<TensorArg> in, std::vector<TensorArg> out, Attrs attrs = {}) {
  KernelCall c{op, DeviceType::CUDA, 0, std::move(in), std::move(out), std::move(attrs)};
  run_kernel(c);
}

// Mean milliseconds of fn over iters calls after one warm-up (the stream synchronised around).
double time_ms(int iters, const std::function<void()>& fn) {
  fn();
  cuda_synchronize(0);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; i++) fn();
  cuda_synchronize(0);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / iters;
}

std::vector<double> v2(int64_t a, int64_t b) { return {double(a), double(b)}; }

void bench_sgemm(int64_t n, int iters) {
  Dev a({n, n}), b({n, n}), c({n, n});
  fill(a, 0.5f);
  fill(b, 0.5f);
  const double ms = time_ms(iters, [&] { run("matmul", {a.arg(), b.arg()}, {c.arg()}); });
  const double gflops = 2.0 * n * n * n / (ms * 1e-3) / 1e9;
  std::printf("sgemm n=%lld (%s): %.1f GFLOP/s (%.3f ms per call)\nSGEMM_GFLOPS=%.1f\n", (long long)n, cuda_gemm_backend(0).c_str(), gflops, ms, gflops);
}

struct ConvShape {
  const char* key;
  int64_t N, C, H, W, Cout, k, pad;
};

void bench_conv(int iters) {
  // Kept in sync with SHAPES in benchmarks/conv.bench.ts.
  const ConvShape shapes[] = {{"N32_3x32x32_64_k3p1", 32, 3, 32, 32, 64, 3, 1}, {"N32_64x16x16_128_k3p1", 32, 64, 16, 16, 128, 3, 1}};
  for (auto& s : shapes) {
    const int64_t OH = s.H + 2 * s.pad - s.k + 1, OW = s.W + 2 * s.pad - s.k + 1;
    Dev x({s.N, s.C, s.H, s.W}), w({s.Cout, s.C, s.k, s.k}), b({s.Cout}), y({s.N, s.Cout, OH, OW});
    Dev gy({s.N, s.Cout, OH, OW}), gx({s.N, s.C, s.H, s.W}), gw({s.Cout, s.C, s.k, s.k}), gb({s.Cout});
    for (Dev* d : {&x, &w, &b, &gy}) fill(*d, 1.0f);
    Attrs at;
    at.set("padding", v2(s.pad, s.pad));
    Attrs ax = at, aw = at;
    ax.set("x_shape", std::vector<double>{double(s.N), double(s.C), double(s.H), double(s.W)});
    aw.set("w_shape", std::vector<double>{double(s.Cout), double(s.C), double(s.k), double(s.k)});
    auto fwd = [&] { run("conv2d", {x.arg(), w.arg(), b.arg()}, {y.arg()}, at); };
    const double f = time_ms(iters, fwd);
    const double fb = time_ms(iters, [&] {
      fwd();
      run("conv2d_backward_input", {gy.arg(), w.arg()}, {gx.arg()}, ax);
      run("conv2d_backward_weight", {gy.arg(), x.arg()}, {gw.arg()}, aw);
      run("conv2d_backward_bias", {gy.arg()}, {gb.arg()});
    });
    std::printf("conv2d %s: forward %.3f ms, forward+backward %.3f ms\nCONV_%s_FWD_MS=%.4f\nCONV_%s_FWDBWD_MS=%.4f\n", s.key, f, fb, s.key, f, s.key, fb);
  }
}

// The CNN of benchmarks/models.ts, one Adam training step per call.
void bench_cnn(int iters) {
  const int64_t B = 64;
  Dev x({B, 1, 28, 28}), labels({B}, DType::I32);
  Dev w1({32, 1, 3, 3}), b1({32}), w2({64, 32, 3, 3}), b2({64}), W3({1600, 128}), b3({128}), W4({128, 10}), b4({10});
  Dev* params[] = {&w1, &b1, &w2, &b2, &W3, &b3, &W4, &b4};
  std::vector<Dev*> grads, m, v;
  std::vector<std::unique_ptr<Dev>> owned;
  for (Dev* p : params) {
    fill(*p, 0.1f);
    for (auto* list : {&grads, &m, &v}) {
      owned.push_back(std::make_unique<Dev>(p->shape));
      list->push_back(owned.back().get());
      if (list != &grads) cuda_copy_to_device(0, owned.back()->p, std::vector<float>(static_cast<size_t>(numel(p->shape)), 0.0f).data(),
                                              static_cast<size_t>(numel(p->shape)) * 4);
    }
  }
  fill(x, 1.0f);
  {
    std::vector<int32_t> t(B);
    for (int64_t i = 0; i < B; i++) t[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7) % 10);
    cuda_copy_to_device(0, labels.p, t.data(), t.size() * 4);
  }
  // Activations and their gradients.
  Dev c1({B, 32, 26, 26}), r1({B, 32, 26, 26}), p1({B, 32, 13, 13}), i1({B, 32, 13, 13}, DType::I32);
  Dev c2({B, 64, 11, 11}), r2({B, 64, 11, 11}), p2({B, 64, 5, 5}), i2({B, 64, 5, 5}, DType::I32);
  Dev h({B, 128}), r3({B, 128}), o({B, 10}), loss(Shape{}), one(Shape{});
  Dev go({B, 10}), gr3({B, 128}), gh({B, 128}), gf({B, 1600}), gr2({B, 64, 11, 11}), gc2({B, 64, 11, 11}), gp1({B, 32, 13, 13});
  Dev gr1({B, 32, 26, 26}), gc1({B, 32, 26, 26});
  {
    const float v1 = 1.0f;
    cuda_copy_to_device(0, one.p, &v1, 4);
  }
  Attrs pool;
  pool.set("kernel_size", v2(2, 2));
  auto xs = [](const Shape& s) { return Attrs().set("x_shape", std::vector<double>(s.begin(), s.end())); };
  auto wsa = [](const Shape& s) { return Attrs().set("w_shape", std::vector<double>(s.begin(), s.end())); };
  Attrs ap1 = xs(r1.shape), ap2 = xs(r2.shape), ax2 = xs(p1.shape), aw1 = wsa(w1.shape), aw2 = wsa(w2.shape);
  for (auto* a : {&ap1, &ap2}) a->set("kernel_size", v2(2, 2));
  int64_t step = 0;
  auto train_step = [&] {
    ++step;
    // forward
    run("conv2d", {x.arg(), w1.arg(), b1.arg()}, {c1.arg()});
    run("relu", {c1.arg()}, {r1.arg()});
    run("max_pool2d", {r1.arg()}, {p1.arg(), i1.arg()}, pool);
    run("conv2d", {p1.arg(), w2.arg(), b2.arg()}, {c2.arg()});
    run("relu", {c2.arg()}, {r2.arg()});
    run("max_pool2d", {r2.arg()}, {p2.arg(), i2.arg()}, pool);
    run("matmul", {p2.as({B, 1600}), W3.arg()}, {h.arg()});
    run("add", {h.arg(), b3.arg()}, {h.arg()});
    run("relu", {h.arg()}, {r3.arg()});
    run("matmul", {r3.arg(), W4.arg()}, {o.arg()});
    run("add", {o.arg(), b4.arg()}, {o.arg()});
    run("cross_entropy", {o.arg(), labels.arg(), TensorArg{}}, {loss.arg()});
    // backward
    run("cross_entropy_backward", {o.arg(), labels.arg(), TensorArg{}, one.arg()}, {go.arg()});
    run("matmul", {r3.arg(), go.arg()}, {grads[6]->arg()}, Attrs().set("trans_a", 1));
    run("sum_to", {go.arg()}, {grads[7]->arg()});
    run("matmul", {go.arg(), W4.arg()}, {gr3.arg()}, Attrs().set("trans_b", 1));
    run("relu_backward", {h.arg(), gr3.arg()}, {gh.arg()});
    run("matmul", {p2.as({B, 1600}), gh.arg()}, {grads[4]->arg()}, Attrs().set("trans_a", 1));
    run("sum_to", {gh.arg()}, {grads[5]->arg()});
    run("matmul", {gh.arg(), W3.arg()}, {gf.arg()}, Attrs().set("trans_b", 1));
    run("max_pool2d_backward", {gf.as(p2.shape), i2.arg()}, {gr2.arg()}, ap2);
    run("relu_backward", {c2.arg(), gr2.arg()}, {gc2.arg()});
    run("conv2d_backward_weight", {gc2.arg(), p1.arg()}, {grads[2]->arg()}, aw2);
    run("conv2d_backward_bias", {gc2.arg()}, {grads[3]->arg()});
    run("conv2d_backward_input", {gc2.arg(), w2.arg()}, {gp1.arg()}, ax2);
    run("max_pool2d_backward", {gp1.arg(), i1.arg()}, {gr1.arg()}, ap1);
    run("relu_backward", {c1.arg(), gr1.arg()}, {gc1.arg()});
    run("conv2d_backward_weight", {gc1.arg(), x.arg()}, {grads[0]->arg()}, aw1);
    run("conv2d_backward_bias", {gc1.arg()}, {grads[1]->arg()});
    // Adam, in place
    Attrs a;
    a.set("lr", 1e-3).set("step", static_cast<double>(step));
    for (size_t k = 0; k < 8; k++)
      run("adam_update", {params[k]->arg(), grads[k]->arg(), m[k]->arg(), v[k]->arg()}, {params[k]->arg(), m[k]->arg(), v[k]->arg()}, a);
  };
  const double ms = time_ms(iters, train_step);
  float l = 0;
  cuda_copy_to_host(0, &l, loss.p, 4);
  std::printf("cnn training step (batch %lld, Adam): %.3f ms (loss after %lld steps %.4f)\nCNN_STEP_MS=%.4f\n", (long long)B, ms, (long long)step, l, ms);
}

}  // namespace

int main(int argc, char** argv) {
  const CudaStatus& s = cuda_status();
  if (!s.available) {
    // "skipped: no CUDA device (...)" whatever the reason (the reason may already say it).
    if (s.reason.rfind("no CUDA device", 0) == 0) std::printf("skipped: %s\n", s.reason.c_str());
    else std::printf("skipped: no CUDA device (%s)\n", s.reason.c_str());
    return 0;
  }
  const std::string what = argc > 1 ? argv[1] : "all";
  const int64_t n = argc > 2 ? std::atoll(argv[2]) : 4096;
  const int iters = argc > 3 ? std::atoi(argv[3]) : 20;
  if ((what != "sgemm" && what != "conv" && what != "cnn" && what != "all") || n < 1 || n > 32768 || iters < 1 || iters > 10000) {
    std::fprintf(stderr, "usage: ravdl_cuda_bench [sgemm|conv|cnn|all] [n in 1..32768] [iterations in 1..10000]\n");
    return 2;
  }
  std::printf("device: %s, GEMM: %s\n", s.devices[0].name.c_str(), s.gemm.c_str());
  try {
    if (what == "sgemm" || what == "all") bench_sgemm(n, iters);
    if (what == "conv" || what == "all") bench_conv(iters);
    if (what == "cnn" || what == "all") bench_cnn(iters);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", e.code_name(), e.what());
    return 1;
  }
  return 0;
}

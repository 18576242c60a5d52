// The CUDA kernels against their CPU references, op by op (llm.c style): the same random
// inputs on both devices, results compared element by element with a tolerance stated per
// kernel (exact where the CUDA kernel follows the CPU's order of operations: indices, masks,
// pooling, embedding gradients, optimizer updates). No Node: GPU machines run it from
// scripts/gpu-check.sh. Without a usable device it prints "skipped: no CUDA device (<why>)" and
// exits 0; any mismatch or error exits 1. This file: the harness, elementwise, softmax,
// reductions, matmul; the other groups are in test_cuda_conv.cpp and test_cuda_nn.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "ravdl/elementwise.h"
#include "ravdl/matmul.h"
#include "ravdl/reduce.h"
#include "ravdl/softmax.h"
#include "test_cuda_util.h"

namespace ravdl::cudatest {

int g_failures = 0, g_checks = 0, g_skipped = 0;

bool skipped_op(const Error& e) {
  static const bool subset = [] {
    const char* v = std::getenv("RAVDL_CUDA_TESTS_SUBSET");
    return v && std::strcmp(v, "1") == 0;
  }();
  if (!subset || e.code() != ErrorCode::Device || std::strstr(e.what(), "no kernel for device") == nullptr) return false;
  --g_checks;
  ++g_skipped;
  return true;
}

namespace {
uint64_t g_rng = 0x9E3779B97F4A7C15ull;
uint64_t next_u64() {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng;
}
}  // namespace

float uniform(float lo, float hi) { return lo + (hi - lo) * static_cast<float>((next_u64() >> 40) * (1.0 / 16777216.0)); }
std::vector<float> random_vec(int64_t n, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = uniform(lo, hi);
  return v;
}
std::vector<int32_t> random_ints(int64_t n, int32_t lo, int32_t hi) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = lo + static_cast<int32_t>(next_u64() % static_cast<uint64_t>(hi - lo));
  return v;
}

std::string str(const Shape& s) { return shape_str(s); }

namespace {
size_t bytes_of(const HostT& t) { return static_cast<size_t>(numel(t.shape)) * 4; }
const void* host_data(const HostT& t) { return t.dtype == DType::F32 ? static_cast<const void*>(t.f.data()) : t.i.data(); }
void* host_data(HostT& t) { return t.dtype == DType::F32 ? static_cast<void*>(t.f.data()) : t.i.data(); }
}  // namespace

std::vector<HostT> run_cuda(const std::string& op, const std::vector<HostT>& inputs, std::vector<HostT> outputs, const Attrs& attrs,
                            const std::vector<std::pair<int, int>>& inplace) {
  std::vector<void*> bufs;
  auto alloc = [&](size_t bytes) {
    void* p = cuda_alloc(0, bytes > 0 ? bytes : 4);
    bufs.push_back(p);
    return p;
  };
  try {
    KernelCall call{op, DeviceType::CUDA, 0, {}, {}, attrs};
    for (auto& t : inputs) {
      if (t.absent) {
        call.inputs.push_back({nullptr, {}, DType::F32});
        continue;
      }
      void* d = alloc(bytes_of(t));
      if (bytes_of(t)) cuda_copy_to_device(0, d, host_data(t), bytes_of(t));
      call.inputs.push_back({d, t.shape, t.dtype});
    }
    for (size_t o = 0; o < outputs.size(); o++) {
      void* d = nullptr;
      for (auto [oi, ii] : inplace)
        if (oi == static_cast<int>(o)) d = call.inputs[static_cast<size_t>(ii)].data;
      if (!d) {
        d = alloc(bytes_of(outputs[o]));
        // A recognisable garbage value: a kernel that skips an element shows it.
        std::vector<float> junk(static_cast<size_t>(numel(outputs[o].shape)), -12345.0f);
        if (!junk.empty()) cuda_copy_to_device(0, d, junk.data(), bytes_of(outputs[o]));
      }
      call.outputs.push_back({d, outputs[o].shape, outputs[o].dtype});
    }
    run_kernel(call);
    for (size_t o = 0; o < outputs.size(); o++)
      if (bytes_of(outputs[o])) cuda_copy_to_host(0, host_data(outputs[o]), call.outputs[o].data, bytes_of(outputs[o]));
  } catch (...) {
    for (void* p : bufs) cuda_free(0, p);
    throw;
  }
  for (void* p : bufs) cuda_free(0, p);
  return outputs;
}

void expect_close(const std::string& label, const std::vector<float>& cpu, const std::vector<float>& gpu, double atol, double rtol) {
  ++g_checks;
  if (cpu.size() != gpu.size()) {
    ++g_failures;
    std::fprintf(stderr, "FAIL %s: %zu values on the CPU, %zu on cuda\n", label.c_str(), cpu.size(), gpu.size());
    return;
  }
  int64_t bad = 0, first = -1;
  double worst = 0;
  for (size_t i = 0; i < cpu.size(); i++) {
    const double c = cpu[i], g = gpu[i];
    bool ok = (std::isnan(c) && std::isnan(g)) || c == g;
    if (!ok && (atol > 0 || rtol > 0)) ok = std::fabs(c - g) <= atol + rtol * std::fabs(c);
    if (!ok && atol == 0 && rtol == 0 && !std::isnan(c)) ok = std::memcmp(&cpu[i], &gpu[i], 4) == 0;
    if (!ok) {
      if (first < 0) first = static_cast<int64_t>(i);
      ++bad;
      worst = std::fmax(worst, std::fabs(c - g));
    }
  }
  if (bad) {
    ++g_failures;
    std::fprintf(stderr, "FAIL %s: %lld of %zu elements differ (first at %lld: cpu %.9g, cuda %.9g; worst |diff| %.3g; atol %g rtol %g)\n",
                 label.c_str(), (long long)bad, cpu.size(), (long long)first, cpu[first], gpu[first], worst, atol, rtol);
  }
}

void expect_equal(const std::string& label, const std::vector<int32_t>& cpu, const std::vector<int32_t>& gpu) {
  ++g_checks;
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < std::min(cpu.size(), gpu.size()); i++)
    if (cpu[i] != gpu[i] && bad++ == 0) first = i;
  if (bad || cpu.size() != gpu.size()) {
    ++g_failures;
    std::fprintf(stderr, "FAIL %s: %zu of %zu indices differ (first at %zu: cpu %d, cuda %d)\n", label.c_str(), bad, cpu.size(), first,
                 cpu.empty() ? 0 : cpu[first], gpu.empty() ? 0 : gpu[first]);
  }
}

void report_exception(const std::string& label, const Error& e) {
  ++g_checks;
  if (skipped_op(e)) return;
  ++g_failures;
  std::fprintf(stderr, "FAIL %s: %s %s\n", label.c_str(), e.code_name(), e.what());
}

// ---------------- elementwise and softmax ----------------
void test_elementwise() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::pair<Shape, Shape> shapes[] = {{{3, 4, 5}, {3, 4, 5}}, {{3, 1, 5}, {4, 1}}, {{}, {2, 3}}, {{1}, {7}},
                                            {{2, 1, 3, 1}, {1, 4, 1, 5}}, {{1000003}, {1000003}}, {{0, 3}, {1, 3}}};
  const std::pair<const char*, BinaryOp> binaries[] = {{"add", BinaryOp::Add}, {"sub", BinaryOp::Sub}, {"mul", BinaryOp::Mul},
      {"div", BinaryOp::Div}, {"pow", BinaryOp::Pow}, {"maximum", BinaryOp::Maximum}, {"minimum", BinaryOp::Minimum},
      {"equal", BinaryOp::Eq}, {"not_equal", BinaryOp::Ne}, {"less", BinaryOp::Lt}, {"less_equal", BinaryOp::Le},
      {"greater", BinaryOp::Gt}, {"greater_equal", BinaryOp::Ge}, {"logical_and", BinaryOp::LogicalAnd},
      {"logical_or", BinaryOp::LogicalOr}, {"logical_xor", BinaryOp::LogicalXor}};
  for (auto [op, bop] : binaries)
    for (auto& [sa, sb] : shapes) {
      HostT a = HostT::F(random_vec(numel(sa), 0.5f, 2.0f), sa), b = HostT::F(random_vec(numel(sb), -2.0f, 2.0f), sb);
      if (a.f.size() > 2) a.f[1] = nan;  // NaN propagation must match
      if (b.f.size() > 3) b.f[2] = nan;
      if (a.f.size() > 5 && b.f.size() > 5) b.f[5] = a.f[5];  // an equality for the comparisons
      const Shape out = broadcast_shapes(op, sa, sb);
      const std::string label = std::string(op) + " " + str(sa) + " with " + str(sb);
      std::vector<float> cpu(static_cast<size_t>(numel(out)));
      binary(bop, CFView{a.f.data(), sa}, CFView{b.f.data(), sb}, FView{cpu.data(), out});
      try {
        auto r = run_cuda(op, {a, b}, {HostT::Out(out)}, {});
        // pow: powf on the GPU and std::pow on the CPU differ by an ulp or two.
        expect_close(label, cpu, r[0].f, bop == BinaryOp::Pow ? 1e-6 : 0, bop == BinaryOp::Pow ? 1e-6 : 0);
      } catch (const Error& e) {
        report_exception(label, e);
      }
    }

  struct Un {
    const char* name;
    UnaryOp op;
    std::vector<std::pair<const char*, double>> params;  // attribute names and values, in the CPU's parameter order
    double rtol;       // forward: transcendental functions are an ulp or two apart (CPU polynomials vs CUDA libm)
    double bwd_rtol;   // backward: 0 (the same formula, rounded the same way) unless it calls exp/tanh/pow
    bool positive;     // inputs in (0, 8]
  };
  const Un unaries[] = {
      {"relu", UnaryOp::Relu, {}, 0, 0, false}, {"exp", UnaryOp::Exp, {}, 2e-6, 0, false}, {"natlog", UnaryOp::Log, {}, 2e-6, 0, true},
      {"tanh", UnaryOp::Tanh, {}, 2e-6, 0, false}, {"sigmoid", UnaryOp::Sigmoid, {}, 2e-6, 0, false}, {"neg", UnaryOp::Neg, {}, 0, 0, false},
      {"square_root", UnaryOp::Sqrt, {}, 0, 0, true}, {"abs", UnaryOp::Abs, {}, 0, 0, false}, {"sign", UnaryOp::Sign, {}, 0, 0, false},
      {"leaky_relu", UnaryOp::LeakyRelu, {{"negative_slope", 0.2}}, 0, 0, false}, {"elu", UnaryOp::Elu, {{"alpha", 1.5}}, 2e-6, 2e-6, false},
      {"selu", UnaryOp::Selu, {}, 2e-6, 2e-6, false}, {"softplus", UnaryOp::Softplus, {{"beta", 2.0}, {"threshold", 10.0}}, 2e-6, 2e-6, false},
      {"softsign", UnaryOp::Softsign, {}, 0, 0, false}, {"tanhshrink", UnaryOp::Tanhshrink, {}, 2e-6, 4e-6, false},
      {"logsigmoid", UnaryOp::Logsigmoid, {}, 2e-6, 2e-6, false}, {"hardshrink", UnaryOp::Hardshrink, {{"lambd", 0.7}}, 0, 0, false},
      {"hardtanh", UnaryOp::Hardtanh, {{"min_val", -2.0}, {"max_val", 3.0}}, 0, 0, false},
      {"softshrink", UnaryOp::Softshrink, {{"lambd", 0.7}}, 0, 0, false},
      {"threshold", UnaryOp::Threshold, {{"threshold", 0.5}, {"value", -3.0}}, 0, 0, false},
      {"pow_scalar", UnaryOp::PowScalar, {{"exponent", 2.5}}, 2e-6, 2e-6, true}, {"pow_scalar", UnaryOp::PowScalar, {{"exponent", 2.0}}, 0, 2e-6, false},
      {"clip", UnaryOp::Clip, {{"min", -1.5}, {"max", 2.5}}, 0, 0, false}, {"clip", UnaryOp::Clip, {{"max", 2.5}}, 0, 0, false},
      {"logical_not", UnaryOp::LogicalNot, {}, 0, 0, false}};
  for (auto& u : unaries)
    for (int64_t n : {1, 1000, 1000003}) {
      HostT x = HostT::F(random_vec(n, u.positive ? 0.01f : -8.0f, 8.0f), {n});
      if (n > 3) {
        x.f[0] = nan;
        x.f[1] = 0.0f;
        x.f[2] = -0.0f;
      }
      Attrs at;
      UnaryParams params;
      for (auto& [name, v] : u.params) at.set(name, v);
      // The CPU's parameters by position (clip: a missing bound is unbounded).
      if (u.op == UnaryOp::Clip && u.params.size() == 1) params.p[1] = u.params[0].second, params.has[1] = true;
      else
        for (size_t k = 0; k < u.params.size(); k++) params.p[k] = u.params[k].second, params.has[k] = true;
      std::string label = std::string(u.name) + " n=" + std::to_string(n);
      for (auto& [name, v] : u.params) label += " " + std::string(name) + "=" + std::to_string(v);
      std::vector<float> y(static_cast<size_t>(n)), gy = random_vec(n), gx(static_cast<size_t>(n));
      unary(u.op, {x.f.data(), x.f.size()}, {y.data(), y.size()}, params);
      try {
        auto r = run_cuda(u.name, {x}, {HostT::Out({n})}, at);
        expect_close(label, y, r[0].f, u.rtol > 0 ? 1e-7 : 0, u.rtol);
        if (!unary_info(u.op).has_backward || u.op == UnaryOp::Sign) continue;
        // The backward op reads x or y as the catalog says (unary_info(op).saved).
        const bool saves_y = unary_info(u.op).saved == Saved::Output;
        const std::vector<float>& saved = saves_y ? y : x.f;
        unary_backward(u.op, {saved.data(), saved.size()}, {gy.data(), gy.size()}, {gx.data(), gx.size()}, params);
        auto rb = run_cuda(std::string(u.name) + "_backward", {HostT::F(saved, {n}), HostT::F(gy, {n})}, {HostT::Out({n})}, at);
        expect_close(label + " backward", gx, rb[0].f, u.bwd_rtol > 0 ? 1e-7 : 0, u.bwd_rtol);
      } catch (const Error& e) {
        report_exception(label, e);
      }
    }

  // where (three-way broadcasting), broadcast_to, permute, full.
  {
    const Shape cs{3, 1, 5}, as{4, 1}, bs{1, 4, 5}, out{3, 4, 5};
    HostT c = HostT::F(random_vec(15), cs), a = HostT::F(random_vec(4), as), b = HostT::F(random_vec(20), bs);
    for (size_t i = 0; i < c.f.size(); i += 3) c.f[i] = 0.0f;
    c.f[1] = nan;  // NaN counts as true
    std::vector<float> cpu(60);
    where(View<const float>{c.f.data(), cs}, CFView{a.f.data(), as}, CFView{b.f.data(), bs}, FView{cpu.data(), out});
    try {
      expect_close("where [3,1,5] [4,1] [1,4,5]", cpu, run_cuda("where", {c, a, b}, {HostT::Out(out)}, {})[0].f, 0, 0);
      HostT x = HostT::F(random_vec(12), {3, 1, 4});
      std::vector<float> bt(static_cast<size_t>(2 * 3 * 5 * 4));
      broadcast_to(CFView{x.f.data(), x.shape}, FView{bt.data(), {2, 3, 5, 4}});
      Attrs ab;
      ab.set("shape", std::vector<double>{2, 3, 5, 4});
      expect_close("broadcast_to [3,1,4] -> [2,3,5,4]", bt, run_cuda("broadcast_to", {x}, {HostT::Out({2, 3, 5, 4})}, ab)[0].f, 0, 0);
      HostT px = HostT::F(random_vec(2 * 3 * 4 * 5), {2, 3, 4, 5});
      std::vector<float> pc(px.f.size());
      for (int64_t i0 = 0; i0 < 2; i0++)  // perm [2, 0, 3, 1]: out[i2][i0][i3][i1] = x[i0][i1][i2][i3]
        for (int64_t i1 = 0; i1 < 3; i1++)
          for (int64_t i2 = 0; i2 < 4; i2++)
            for (int64_t i3 = 0; i3 < 5; i3++) pc[static_cast<size_t>(((i2 * 2 + i0) * 5 + i3) * 3 + i1)] = px.f[static_cast<size_t>(((i0 * 3 + i1) * 4 + i2) * 5 + i3)];
      Attrs ap;
      ap.set("perm", std::vector<double>{2, 0, 3, 1});
      expect_close("permute [2,3,4,5] by [2,0,3,1]", pc, run_cuda("permute", {px}, {HostT::Out({4, 2, 5, 3})}, ap)[0].f, 0, 0);
      Attrs af;
      af.set("value", -2.5);
      expect_close("full -2.5", std::vector<float>(7, -2.5f), run_cuda("full", {}, {HostT::Out({7})}, af)[0].f, 0, 0);
      af.set("value", 7);
      expect_equal("full int32 7", std::vector<int32_t>(5, 7), run_cuda("full", {}, {HostT::Out({5}, DType::I32)}, af)[0].i);
    } catch (const Error& e) {
      report_exception("where / broadcast_to / permute / full", e);
    }
  }

  const std::pair<Shape, int> cases[] = {{{4, 1000}, -1}, {{3, 5, 7}, 1}, {{2, 3}, 0}, {{1, 100003}, -1}, {{64, 10}, 1}, {{}, 0}};
  for (const char* op : {"softmax", "log_softmax", "softmin"})
    for (auto& [shape, axis] : cases) {
      const std::string o = op;
      const SoftmaxKind kind = o == "softmax" ? SoftmaxKind::Softmax : o == "log_softmax" ? SoftmaxKind::LogSoftmax : SoftmaxKind::Softmin;
      const std::string label = std::string(op) + " " + str(shape) + " axis " + std::to_string(axis);
      HostT x = HostT::F(random_vec(numel(shape), -30.0f, 30.0f), shape);
      Attrs at;
      at.set("axis", axis);
      std::vector<float> y(x.f.size()), gy = random_vec(numel(shape)), gx(x.f.size());
      softmax_forward(kind, CFView{x.f.data(), shape}, axis, {y.data(), y.size()});
      softmax_backward(kind, CFView{y.data(), shape}, {gy.data(), gy.size()}, axis, {gx.data(), gx.size()});
      try {
        auto r = run_cuda(op, {x}, {HostT::Out(shape)}, at);
        expect_close(label, y, r[0].f, 1e-6, 1e-5);
        auto rb = run_cuda(std::string(op) + "_backward", {HostT::F(y, shape), HostT::F(gy, shape)}, {HostT::Out(shape)}, at);
        expect_close(label + " backward", gx, rb[0].f, 1e-5, 1e-4);
      } catch (const Error& e) {
        report_exception(label, e);
      }
    }
}

// ---------------- reductions ----------------
void test_reduce() {
  struct Case {
    Shape shape;
    std::vector<double> axes;  // empty: the attribute is absent (all axes)
    bool keep;
  };
  const Case cases[] = {{{1000003}, {}, false}, {{3, 4, 5}, {1}, false}, {{3, 4, 5}, {0, 2}, true}, {{3, 4, 5}, {-1}, false},
                        {{0, 3}, {0}, false}, {{17, 4099}, {1}, true}, {{4099, 17}, {0}, false}, {{}, {}, false},
                        {{2, 3, 4, 5}, {1, 3}, false}, {{64, 3, 32, 32}, {0, 2, 3}, true}};
  const std::pair<const char*, ReduceOp> ops[] = {{"sum", ReduceOp::Sum}, {"mean", ReduceOp::Mean}, {"max", ReduceOp::Max},
                                                  {"min", ReduceOp::Min}, {"prod", ReduceOp::Prod}, {"variance", ReduceOp::Var},
                                                  {"std", ReduceOp::Std}};
  for (auto [name, rop] : ops)
    for (auto& c : cases) {
      std::vector<int64_t> axes(c.axes.begin(), c.axes.end());
      const Shape out = reduce_shape(name, c.shape, axes, c.keep);
      const std::string label = std::string(name) + " " + str(c.shape) + " over " + std::to_string(axes.size()) + " axes" + (c.keep ? " keepdims" : "");
      // prod of many values in [-1, 1) underflows to 0: keep them near 1 in magnitude.
      HostT x = HostT::F(random_vec(numel(c.shape), rop == ReduceOp::Prod ? 0.999f : -1.0f, rop == ReduceOp::Prod ? 1.001f : 1.0f), c.shape);
      if (x.f.size() > 10 && (rop == ReduceOp::Max || rop == ReduceOp::Min)) x.f[7] = std::numeric_limits<float>::quiet_NaN();
      Attrs at;
      if (!c.axes.empty()) at.set("axis", c.axes);
      at.set("keepdims", c.keep ? 1 : 0);
      std::vector<float> cpu(static_cast<size_t>(numel(out)));
      bool cpu_threw = false;
      try {
        reduce(rop, CFView{x.f.data(), c.shape}, axes, c.keep, {cpu.data(), cpu.size()});
      } catch (const Error& e) {
        cpu_threw = true;  // max/min of an empty set: the CUDA kernel must throw the same code
        expect_error(label, e.code(), [&] { run_cuda(name, {x}, {HostT::Out(out)}, at); });
      }
      if (cpu_threw) continue;
      try {
        auto r = run_cuda(name, {x}, {HostT::Out(out)}, at);
        const bool exact = rop == ReduceOp::Max || rop == ReduceOp::Min;
        expect_close(label, cpu, r[0].f, exact ? 0 : 1e-5, exact ? 0 : 1e-5);
      } catch (const Error& e) {
        report_exception(label, e);
      }
    }

  // sum_to: the gradient of broadcasting.
  const std::pair<Shape, Shape> to[] = {{{4, 3, 5}, {3, 1}}, {{4, 3, 5}, {5}}, {{4, 3, 5}, {}}, {{64, 128}, {128}}, {{2, 3}, {2, 3}}};
  for (auto& [xs, ys] : to) {
    const std::string label = "sum_to " + str(xs) + " -> " + str(ys);
    HostT x = HostT::F(random_vec(numel(xs)), xs);
    std::vector<float> cpu(static_cast<size_t>(numel(ys)));
    sum_to(CFView{x.f.data(), xs}, FView{cpu.data(), ys});
    Attrs at;
    at.set("shape", std::vector<double>(ys.begin(), ys.end()));
    try {
      expect_close(label, cpu, run_cuda("sum_to", {x}, {HostT::Out(ys)}, at)[0].f, 1e-5, 1e-5);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }

  // argmax / argmin: exact indices, ties to the first, NaN first.
  struct Arg {
    Shape shape;
    bool has_axis;
    int64_t axis;
    bool keep;
  };
  const Arg args[] = {{{1000003}, false, 0, false}, {{7, 9}, true, 1, false}, {{7, 9}, true, 0, true}, {{3, 5, 4}, true, 1, false},
                      {{3, 5, 4}, false, 0, true}, {{2, 300000}, true, -1, false}};
  for (const char* name : {"argmax", "argmin"})
    for (auto& a : args) {
      const std::string label = std::string(name) + " " + str(a.shape) + (a.has_axis ? " axis " + std::to_string(a.axis) : " flat");
      HostT x = HostT::F(random_vec(numel(a.shape)), a.shape);
      for (size_t i = 0; i < x.f.size(); i += 3) x.f[i] = std::round(x.f[i] * 4) / 4;  // ties
      if (x.f.size() > 100) x.f[50] = x.f[90] = std::numeric_limits<float>::quiet_NaN();
      const std::optional<int64_t> axis = a.has_axis ? std::optional<int64_t>(a.axis) : std::nullopt;
      const Shape out = argreduce_shape(name, a.shape, axis, a.keep);
      std::vector<int32_t> cpu(static_cast<size_t>(numel(out)));
      if (std::string(name) == "argmax") argmax(CFView{x.f.data(), a.shape}, axis, a.keep, {cpu.data(), cpu.size()});
      else argmin(CFView{x.f.data(), a.shape}, axis, a.keep, {cpu.data(), cpu.size()});
      Attrs at;
      if (a.has_axis) at.set("axis", static_cast<double>(a.axis));
      at.set("keepdims", a.keep ? 1 : 0);
      try {
        expect_equal(label, cpu, run_cuda(name, {x}, {HostT::Out(out, DType::I32)}, at)[0].i);
      } catch (const Error& e) {
        report_exception(label, e);
      }
    }
}

// ---------------- matmul (GEMM, batched GEMM, torch.matmul shapes) ----------------
void test_matmul() {
  struct Case {
    Shape a, b;
    bool ta, tb;
  };
  std::vector<Case> cases;
  const int64_t sizes[][3] = {{1, 1, 1}, {7, 13, 5}, {128, 128, 8}, {129, 67, 300}, {256, 512, 128}, {33, 1, 1000}, {5, 3, 0}};
  for (auto& s : sizes)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) {
        const int64_t M = s[0], N = s[1], K = s[2];
        cases.push_back({ta ? Shape{K, M} : Shape{M, K}, tb ? Shape{N, K} : Shape{K, N}, ta != 0, tb != 0});
      }
  // Batched: same batch, a shared b (one tall GEMM), a shared a, two-way broadcast, 1-D operands.
  cases.push_back({{6, 33, 17}, {6, 17, 40}, false, false});
  cases.push_back({{4, 64, 32}, {4, 32, 96}, false, false});  // aligned rows: the float4 kernel, batched
  cases.push_back({{4, 32, 64}, {4, 96, 32}, true, true});
  cases.push_back({{300, 260}, {260, 132}, false, false});    // aligned, with edge tiles
  cases.push_back({{6, 17, 33}, {6, 40, 17}, true, true});
  cases.push_back({{2, 3, 33, 17}, {17, 40}, false, false});
  cases.push_back({{33, 17}, {4, 17, 40}, false, false});
  cases.push_back({{2, 1, 9, 8}, {1, 3, 8, 5}, false, false});
  cases.push_back({{17}, {17}, false, false});
  cases.push_back({{5, 17}, {17}, false, false});
  cases.push_back({{17}, {3, 17, 6}, false, false});
  for (auto& c : cases) {
    const std::string label = "matmul " + str(c.a) + (c.ta ? "^T" : "") + " @ " + str(c.b) + (c.tb ? "^T" : "");
    HostT a = HostT::F(random_vec(numel(c.a)), c.a), b = HostT::F(random_vec(numel(c.b)), c.b);
    const Shape out = matmul_shape(c.a, c.b, c.ta, c.tb);
    std::vector<float> cpu(static_cast<size_t>(numel(out)));
    matmul(CFView{a.f.data(), c.a}, CFView{b.f.data(), c.b}, c.ta, c.tb, {cpu.data(), cpu.size()});
    const int64_t K = c.a.size() == 1 ? c.a[0] : (c.ta ? c.a[c.a.size() - 2] : c.a.back());
    Attrs at;
    at.set("trans_a", c.ta ? 1 : 0).set("trans_b", c.tb ? 1 : 0);
    try {
      expect_close(label, cpu, run_cuda("matmul", {a, b}, {HostT::Out(out)}, at)[0].f, 1e-5 * static_cast<double>(K) + 1e-5, 1e-4);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }
  std::printf("matmul ran on: %s\n", cuda_gemm_backend(0).c_str());
}

namespace {
// Bad input is a typed error on the CUDA side too, before any launch; the caching allocator
// hands a freed block back.
void test_errors() {
  expect_error("matmul [2,3] x [2,3] on cuda", ErrorCode::Shape, [] {
    run_cuda("matmul", {HostT::F(random_vec(6), {2, 3}), HostT::F(random_vec(6), {2, 3})}, {HostT::Out({2, 2})}, {});
  });
  expect_error("embedding with an id out of range on cuda", ErrorCode::Index, [] {
    run_cuda("embedding", {HostT::I({0, 5}, {2}), HostT::F(random_vec(8), {4, 2})}, {HostT::Out({2, 2})}, {});
  });
  expect_error("relu with a float64-like dtype mismatch", ErrorCode::Dtype, [] {
    run_cuda("relu", {HostT::I({1, 2}, {2})}, {HostT::Out({2})}, {});
  });
  expect_error("an op without a CUDA kernel", ErrorCode::Device, [] { run_cuda("no_such_op", {}, {}, {}); });
  ++g_checks;
  void* y = cuda_alloc(0, 16);
  cuda_free(0, y);
  void* again = cuda_alloc(0, 16);
  if (again != y) {
    ++g_failures;
    std::fprintf(stderr, "FAIL the caching allocator did not reuse a freed block\n");
  }
  cuda_free(0, again);
}
}  // namespace

}  // namespace ravdl::cudatest

// ravdl_cuda_tests [group ...]: the named groups (all when none); --list prints the groups.
// scripts/gpu-check.sh runs each group in a process of its own, so that a kernel fault (which
// poisons the CUDA context) cannot hide the results of the other groups.
int main(int argc, char** argv) {
  using namespace ravdl;
  using namespace ravdl::cudatest;
  struct Group {
    const char* name;
    void (*fn)();
  };
  const Group groups[] = {{"elementwise", test_elementwise}, {"reduce", test_reduce}, {"matmul", test_matmul}, {"conv", test_conv},
                          {"pool", test_pool}, {"norm", test_norm}, {"loss", test_loss}, {"embedding", test_embedding},
                          {"random", test_random}, {"optim", test_optim}, {"data", test_data},
                          {"pointwise_loss", test_pointwise_loss}, {"errors", test_errors}};
  std::vector<std::string> wanted(argv + 1, argv + argc);
  if (wanted.size() == 1 && wanted[0] == "--list") {
    for (auto& g : groups) std::printf("%s\n", g.name);
    return 0;
  }
  for (auto& w : wanted) {
    bool known = false;
    for (auto& g : groups) known |= w == g.name;
    if (!known) {
      std::fprintf(stderr, "unknown group '%s' (ravdl_cuda_tests --list)\n", w.c_str());
      return 2;
    }
  }
  const CudaStatus& s = cuda_status();
  if (!s.available) {
    // "skipped: no CUDA device (...)" whatever the reason (the reason may already say it).
    if (s.reason.rfind("no CUDA device", 0) == 0) std::printf("skipped: %s\n", s.reason.c_str());
    else std::printf("skipped: no CUDA device (%s)\n", s.reason.c_str());
    return 0;
  }
  for (size_t i = 0; i < s.devices.size(); i++)
    std::printf("cuda:%zu %s, %.1f GiB, compute capability %d.%d\n", i, s.devices[i].name.c_str(), s.devices[i].memory_bytes / 1073741824.0,
                s.devices[i].cc_major, s.devices[i].cc_minor);
  std::printf("GEMM: %s\n", s.gemm.c_str());
  // Ops the registry has on cuda but not yet on the CPU (the CPU registrations are added op by
  // op; these tests call the CPU functions directly, so this is a note, not a failure).
  std::string missing;
  const bool all = wanted.empty() || std::find(wanted.begin(), wanted.end(), "errors") != wanted.end();
  for (auto& op : all ? kernel_ops(DeviceType::CUDA) : std::vector<std::string>{})
    if (!has_kernel(op, DeviceType::CPU)) missing += (missing.empty() ? "" : ", ") + op;
  if (!missing.empty()) std::printf("note: cuda ops without a CPU registration yet: %s\n", missing.c_str());
  for (auto& g : groups) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), g.name) == wanted.end()) continue;
    const int before = g_failures, checks = g_checks;
    try {
      g.fn();
    } catch (const Error& e) {
      report_exception(std::string(g.name) + " (uncaught)", e);
    }
    std::printf("%-12s %4d checks, %d failed\n", g.name, g_checks - checks, g_failures - before);
    std::fflush(stdout);
  }
  std::printf("%d comparisons, %d failed\n", g_checks, g_failures);
  if (g_skipped) std::printf("%d checks skipped: their op is not in this CUDA library (RAVDL_CUDA_TESTS_SUBSET=1)\n", g_skipped);
  return g_failures == 0 ? 0 : 1;
}

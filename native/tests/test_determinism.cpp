// Determinism of the kernels whose work split could depend on the thread count: conv2d and
// its gradients (sample chunks, position blocks, Winograd bands) and the OpenBLAS path (the
// pieces it is called on) give the same bits at 1, 2, 3, 4 and 8 threads, with each GEMM
// backend, and a GEMM gives the same bits inside a parallel region (run serially) as outside.
#include <cstdint>
#include <cstring>
#include <vector>

#include "check.h"
#include "ravdl/conv.h"
#include "ravdl/gemm.h"
#include "ravdl/parallel.h"

using namespace ravdl;

namespace {

std::vector<float> rnd(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

const int kThreads[] = {2, 3, 4, 8};

std::vector<GemmBackend> backends() {
  std::vector<GemmBackend> b{GemmBackend::Builtin};
  if (blas_available()) b.push_back(GemmBackend::Blas);
  return b;
}

struct ConvCase {
  const char* name;
  Shape x, w;
  Conv2dAttrs a;
  int64_t cap;  // workspace cap in bytes (0: default)
};

Conv2dAttrs attrs(int64_t stride, int64_t pad, int64_t dil, int64_t groups, ConvPaddingMode m) {
  Conv2dAttrs a;
  a.stride = {stride, stride};
  a.padding = {pad, pad};
  a.dilation = {dil, dil};
  a.groups = groups;
  a.padding_mode = m;
  return a;
}

// y, gx and gw of one case, back to back.
std::vector<float> conv_all(const ConvCase& c) {
  const Conv2dGeom g = conv2d_geometry("test", c.x, c.w, c.a);
  const Shape ys = g.out_shape();
  auto x = rnd(static_cast<size_t>(numel(c.x)), 1), w = rnd(static_cast<size_t>(numel(c.w)), 2);
  auto b = rnd(static_cast<size_t>(g.Cout), 3), gy = rnd(static_cast<size_t>(numel(ys)), 4);
  std::vector<float> y(gy.size()), gx(x.size()), gw(w.size());
  conv2d(CFView{x.data(), c.x}, CFView{w.data(), c.w}, Span<const float>{b.data(), b.size()}, FSpan{y.data(), y.size()},
         c.a);
  conv2d_backward_input(CFView{gy.data(), ys}, CFView{w.data(), c.w}, c.x, FSpan{gx.data(), gx.size()}, c.a);
  conv2d_backward_weight(CFView{gy.data(), ys}, CFView{x.data(), c.x}, c.w, FSpan{gw.data(), gw.size()}, c.a);
  y.insert(y.end(), gx.begin(), gx.end());
  y.insert(y.end(), gw.begin(), gw.end());
  return y;
}

}  // namespace

TEST_CASE("conv2d, its input and weight gradients: same bits at any thread count, also in blocks") {
  const int64_t f = static_cast<int64_t>(sizeof(float));
  const std::vector<ConvCase> cases = {
      {"im2col", {9, 6, 20, 18}, {10, 6, 3, 3}, attrs(2, 1, 1, 1, ConvPaddingMode::Zeros), 0},
      // Blocks of 37 output positions (each task plans within 1/kConvShares of the cap).
      {"im2col, blocks", {9, 6, 20, 18}, {10, 6, 3, 3}, attrs(1, 1, 1, 1, ConvPaddingMode::Reflect),
       37 * 6 * 9 * f * detail::kConvShares},
      {"grouped, dilated, blocks", {7, 8, 17, 19}, {12, 2, 3, 3}, attrs(1, 2, 2, 4, ConvPaddingMode::Circular),
       29 * 8 * 9 * f * detail::kConvShares},
      {"1x1 direct", {10, 16, 12, 12}, {24, 16, 1, 1}, attrs(1, 0, 1, 1, ConvPaddingMode::Zeros), 0},
      {"Winograd, batched samples", {13, 8, 12, 12}, {16, 8, 3, 3}, attrs(1, 1, 1, 1, ConvPaddingMode::Zeros), 0},
      // One row of 2x2 tiles per call (16 * (C + Cout) floats per tile, 9 tiles a row).
      {"Winograd, bands", {5, 8, 17, 18}, {16, 8, 3, 3}, attrs(1, 1, 1, 1, ConvPaddingMode::Zeros),
       16 * (8 + 16) * 9 * f * detail::kConvShares},
      {"Winograd, padded bands", {5, 8, 17, 18}, {16, 8, 3, 3}, attrs(1, 1, 1, 1, ConvPaddingMode::Replicate),
       16 * (8 + 16 + 8) * 9 * f * detail::kConvShares},
  };
  for (GemmBackend be : backends()) {
    set_gemm_backend(be);
    for (const ConvCase& c : cases) {
      detail::set_conv_workspace_cap(c.cap);
      set_num_threads(1);
      const std::vector<float> want = conv_all(c);
      for (int t : kThreads) {
        set_num_threads(t);
        if (!same_bits(conv_all(c), want))
          test::report_failure(__FILE__, __LINE__,
                               std::string(c.name) + ": bits differ at " + std::to_string(t) + " threads, " +
                                   (be == GemmBackend::Blas ? "blas" : "builtin"));
      }
    }
  }
  detail::set_conv_workspace_cap(0);
  set_num_threads(0);
  set_gemm_backend(blas_available() && simd_level() != "avx512" ? GemmBackend::Blas : GemmBackend::Builtin);
}

TEST_CASE("the conv plan and weight-gradient chunks do not depend on the thread count") {
  const Conv2dGeom g = conv2d_geometry("test", {64, 64, 56, 56}, {128, 64, 3, 3}, attrs(1, 1, 1, 1, ConvPaddingMode::Zeros));
  set_num_threads(1);
  const detail::ConvPlan one = detail::conv_plan(g, 64);
  const int64_t chunks = detail::conv_weight_chunks(64, 1e8, 16 * 128 * 64);
  set_num_threads(8);
  const detail::ConvPlan eight = detail::conv_plan(g, 64);
  CHECK((one.wino == eight.wino && one.pb == eight.pb && one.nb == eight.nb && one.band == eight.band &&
         one.scratch == eight.scratch));
  CHECK(detail::conv_weight_chunks(64, 1e8, 16 * 128 * 64) == chunks);
  CHECK(chunks == detail::kConvShares);  // 64 samples of 100 MFLOP: the most chunks
  // Partials within 1/8 of the cap: a 4 MiB weight gradient gets 1 + 2 chunks.
  CHECK(detail::conv_weight_chunks(64, 1e8, int64_t{1} << 20) == 3);
  set_num_threads(0);
}

TEST_CASE("sgemm on each path: same bits at any thread count and inside a parallel region") {
  struct P {
    bool ta, tb;
    int64_t M, N, K;
    float alpha, beta;
  };
  // Shapes whose slices would fall under OpenBLAS's small-matrix and direct-kernel sizes
  // (alpha 1, beta 0) if the split followed the thread count, some with edges.
  const P problems[] = {{false, false, 400, 150, 130, 1.0f, 0.0f}, {false, false, 400, 150, 130, 1.5f, 0.25f},
                        {true, false, 97, 1000, 300, 1.0f, 0.0f}, {false, true, 2000, 60, 200, 1.5f, 0.25f},
                        {true, true, 300, 301, 257, 1.0f, 0.0f}};
  for (GemmBackend be : backends()) {
    set_gemm_backend(be);
    for (const P& p : problems) {
      const int64_t lda = p.ta ? p.M : p.K, ldb = p.tb ? p.K : p.N;
      auto A = rnd(static_cast<size_t>(p.M * p.K), 5), B = rnd(static_cast<size_t>(p.K * p.N), 6);
      auto C0 = rnd(static_cast<size_t>(p.M * p.N), 7);
      auto run = [&] {
        std::vector<float> C = C0;
        sgemm(p.ta, p.tb, p.M, p.N, p.K, p.alpha, A.data(), lda, B.data(), ldb, p.beta, C.data(), p.N);
        return C;
      };
      set_num_threads(1);
      const std::vector<float> want = run();
      for (int t : kThreads) {
        set_num_threads(t);
        CHECK(same_bits(run(), want));
        // Two tasks each running the product serially inside the region.
        std::vector<std::vector<float>> inner(2);
        parallel_for(2, 1, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) inner[static_cast<size_t>(i)] = run();
        });
        CHECK(same_bits(inner[0], want));
        CHECK(same_bits(inner[1], want));
      }
    }
  }
  set_num_threads(0);
  set_gemm_backend(blas_available() && simd_level() != "avx512" ? GemmBackend::Blas : GemmBackend::Builtin);
}

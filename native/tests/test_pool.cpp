// maxpool2d vs a direct reference over the option grid, output sizes and error cases.
#include <cmath>
#include <limits>
#include <vector>

#include "check.h"
#include "ravdl/parallel.h"
#include "ravdl/pool.h"

using namespace ravdl;

namespace {

using ravdl::test::rnd;

MaxPool2dAttrs attrs(int64_t k, int64_t s, int64_t p, int64_t d, bool ceil) {
  MaxPool2dAttrs a;
  a.kernel_size = {k, k};
  if (s > 0) a.stride = std::array<int64_t, 2>{s, s};
  a.padding = {p, p};
  a.dilation = {d, d};
  a.ceil_mode = ceil;
  return a;
}

// Checks forward against a scan of each window (taps in padded coordinates) and backward
// against a scatter of gy through the reference argmax.
void run_case(const Shape& xs, const MaxPool2dAttrs& a) {
  Shape ys = maxpool2d_shape(xs, a);
  const int64_t H = xs[xs.size() - 2], W = xs.back(), OH = ys[ys.size() - 2], OW = ys.back();
  const int64_t planes = numel(xs) / (H * W);
  const int64_t sh = a.stride ? (*a.stride)[0] : a.kernel_size[0];
  const int64_t sw = a.stride ? (*a.stride)[1] : a.kernel_size[1];
  auto x = rnd(static_cast<size_t>(numel(xs)), 11);
  auto gy = rnd(static_cast<size_t>(numel(ys)), 12);
  std::vector<float> y(gy.size()), gx(x.size()), ref_gx(x.size(), 0.0f);
  std::vector<int32_t> idx(gy.size());
  maxpool2d(CFView{x.data(), xs}, FSpan{y.data(), y.size()}, ISpan{idx.data(), idx.size()}, a);
  bool ok = true;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        float best = -std::numeric_limits<float>::infinity();
        int64_t at = -1;
        for (int64_t i = 0; i < a.kernel_size[0]; ++i)
          for (int64_t j = 0; j < a.kernel_size[1]; ++j) {
            int64_t ih = oh * sh - a.padding[0] + i * a.dilation[0];
            int64_t iw = ow * sw - a.padding[1] + j * a.dilation[1];
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            float v = x[static_cast<size_t>(p * H * W + ih * W + iw)];
            if (at < 0 || v > best) best = v, at = ih * W + iw;
          }
        size_t o = static_cast<size_t>((p * OH + oh) * OW + ow);
        ok = ok && y[o] == best && idx[o] == at;
        if (at >= 0) ref_gx[static_cast<size_t>(p * H * W + at)] += gy[o];
      }
  CHECK(ok);
  maxpool2d_backward(CFView{gy.data(), ys}, CIView{idx.data(), ys}, xs, FSpan{gx.data(), gx.size()});
  double err = 0;
  for (size_t i = 0; i < gx.size(); ++i) err = std::fmax(err, std::fabs(gx[i] - ref_gx[i]));
  CHECK(err < 1e-6);
}

}  // namespace

TEST_CASE("maxpool2d matches the direct reference over the option grid") {
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (int64_t k : {1, 2, 3})
      for (int64_t s : {0, 1, 2})
        for (int64_t p = 0; p <= k / 2; ++p)
          for (int64_t d : {1, 2})
            for (bool ceil : {false, true}) {
              run_case({2, 3, 7, 8}, attrs(k, s, p, d, ceil));
              run_case({2, 5, 6}, attrs(k, s, p, d, ceil));
            }
    run_case({64, 16, 20, 20}, attrs(3, 2, 1, 1, true));  // large enough to use the pool
  }
  set_num_threads(0);
  MaxPool2dAttrs a = attrs(3, 0, 1, 1, false);
  a.kernel_size = {3, 2};
  a.stride = std::array<int64_t, 2>{2, 1};
  a.padding = {1, 0};
  a.dilation = {1, 2};
  run_case({1, 2, 9, 7}, a);
}

TEST_CASE("maxpool2d matches the reference on random valid configurations") {
  uint32_t st = 777;
  auto pick = [&](int64_t lo, int64_t hi) {
    st = st * 1664525u + 1013904223u;
    return lo + static_cast<int64_t>((st >> 8) % static_cast<uint32_t>(hi - lo + 1));
  };
  int ran = 0;
  for (int it = 0; it < 400; ++it) {
    MaxPool2dAttrs a;
    a.kernel_size = {pick(1, 4), pick(1, 4)};
    if (pick(0, 1)) a.stride = std::array<int64_t, 2>{pick(1, 3), pick(1, 3)};
    a.padding = {pick(0, a.kernel_size[0] / 2), pick(0, a.kernel_size[1] / 2)};
    a.dilation = {pick(1, 3), pick(1, 3)};
    a.ceil_mode = pick(0, 1) == 1;
    Shape xs = pick(0, 1) ? Shape{pick(0, 2), pick(1, 3), pick(1, 9), pick(1, 9)} : Shape{pick(1, 3), pick(1, 9), pick(1, 9)};
    try {
      maxpool2d_shape(xs, a);
    } catch (const Error&) {
      continue;
    }
    run_case(xs, a);
    ++ran;
  }
  CHECK(ran > 100);
}

TEST_CASE("maxpool2d output sizes follow torch, including the ceil_mode rule") {
  CHECK((maxpool2d_shape({1, 1, 5, 5}, attrs(2, 2, 0, 1, false)) == Shape{1, 1, 2, 2}));
  CHECK((maxpool2d_shape({1, 1, 5, 5}, attrs(2, 2, 0, 1, true)) == Shape{1, 1, 3, 3}));
  CHECK((maxpool2d_shape({1, 1, 6, 6}, attrs(2, 2, 1, 1, true)) == Shape{1, 1, 4, 4}));
  // ceil gives 4 windows but the last would start in the right padding: dropped.
  CHECK((maxpool2d_shape({1, 1, 5, 5}, attrs(2, 2, 1, 1, true)) == Shape{1, 1, 3, 3}));
  CHECK((maxpool2d_shape({3, 9, 9}, attrs(3, 0, 1, 2, false)) == Shape{3, 3, 3}));
}

TEST_CASE("maxpool2d propagates NaN and picks the first maximum") {
  std::vector<float> x = {1, 5, 5, NAN, 2, 3, 4, 0};
  std::vector<float> y(2);
  std::vector<int32_t> idx(2);
  maxpool2d(CFView{x.data(), {1, 1, 2, 4}}, FSpan{y.data(), 2}, ISpan{idx.data(), 2}, attrs(2, 0, 0, 1, false));
  CHECK(y[0] == 5 && idx[0] == 1);
  CHECK(std::isnan(y[1]) && idx[1] == 3);
}

TEST_CASE("maxpool2d rejects bad attributes, shapes and indices") {
  Shape xs{1, 2, 4, 4};
  CHECK_THROWS_CODE(maxpool2d_shape(xs, attrs(0, 0, 0, 1, false)), ErrorCode::Attr);
  MaxPool2dAttrs zero_stride = attrs(2, 0, 0, 1, false);
  zero_stride.stride = std::array<int64_t, 2>{0, 1};
  CHECK_THROWS_CODE(maxpool2d_shape(xs, zero_stride), ErrorCode::Attr);
  zero_stride.stride = std::array<int64_t, 2>{2, -1};
  CHECK_THROWS_CODE(maxpool2d_shape(xs, zero_stride), ErrorCode::Attr);
  CHECK_THROWS_CODE(maxpool2d_shape(xs, attrs(2, 0, 2, 1, false)), ErrorCode::Attr);  // pad > k/2
  CHECK_THROWS_CODE(maxpool2d_shape(xs, attrs(3, 0, 1, 0, false)), ErrorCode::Attr);
  CHECK_THROWS_CODE(maxpool2d_shape(xs, attrs(5, 0, 0, 1, false)), ErrorCode::Shape);  // too small
  CHECK_THROWS_CODE(maxpool2d_shape({4, 4}, attrs(2, 0, 0, 1, false)), ErrorCode::Shape);
  CHECK_THROWS_CODE(maxpool2d_shape({1, 0, 4, 4}, attrs(2, 0, 0, 1, false)), ErrorCode::Shape);

  std::vector<float> x(32), y(8), gx(32);
  std::vector<int32_t> idx(8, 0);
  CHECK_THROWS_CODE(maxpool2d(CFView{x.data(), xs}, FSpan{y.data(), 7}, ISpan{idx.data(), 8}, attrs(2, 0, 0, 1, false)),
                    ErrorCode::Shape);
  idx[5] = 16;  // plane has 16 elements
  CHECK_THROWS_CODE(maxpool2d_backward(CFView{y.data(), {1, 2, 2, 2}}, CIView{idx.data(), {1, 2, 2, 2}}, xs,
                                       FSpan{gx.data(), 32}),
                    ErrorCode::Index);
  idx[5] = -2;
  CHECK_THROWS_CODE(maxpool2d_backward(CFView{y.data(), {1, 2, 2, 2}}, CIView{idx.data(), {1, 2, 2, 2}}, xs,
                                       FSpan{gx.data(), 32}),
                    ErrorCode::Index);
  idx[5] = 0;
  CHECK_THROWS_CODE(maxpool2d_backward(CFView{y.data(), {1, 1, 2, 4}}, CIView{idx.data(), {1, 1, 2, 4}}, xs,
                                       FSpan{gx.data(), 32}),
                    ErrorCode::Shape);
  CHECK_THROWS_CODE(maxpool2d_backward(CFView{y.data(), {1, 2, 2, 2}}, CIView{idx.data(), {1, 2, 2, 2}}, xs,
                                       FSpan{gx.data(), 31}),
                    ErrorCode::Shape);
}

namespace {
// Windows of k rows/columns every s over n inputs with padding p, clipped to the input.
struct Axis {
  std::vector<int32_t> lo, hi;
};
Axis windows(int64_t n, int64_t o, int64_t k, int64_t s, int64_t p) {
  Axis a;
  for (int64_t i = 0; i < o; ++i) {
    a.lo.push_back(static_cast<int32_t>(std::max<int64_t>(0, i * s - p)));
    a.hi.push_back(static_cast<int32_t>(std::min<int64_t>(n, i * s - p + k)));
  }
  return a;
}
}  // namespace

TEST_CASE("avgpool2d and its gradient match a direct reference over overlapping, clipped windows") {
  const int64_t P = 3, H = 7, W = 6, OH = 4, OW = 3;
  const Axis h = windows(H, OH, 3, 2, 1), w = windows(W, OW, 2, 2, 0);
  std::vector<int32_t> div(OH * OW);
  for (int64_t i = 0; i < OH * OW; ++i) div[i] = static_cast<int32_t>(1 + i % 5);  // any divisor >= 1
  PoolWindows win{{h.lo.data(), h.lo.size()}, {h.hi.data(), h.hi.size()}, {w.lo.data(), w.lo.size()},
                  {w.hi.data(), w.hi.size()}, {div.data(), div.size()}};
  const std::vector<float> x = rnd(P * H * W, 11), gy = rnd(P * OH * OW, 12);
  std::vector<float> y(P * OH * OW), gx(P * H * W, 7.0f);  // gx starts dirty: the kernel zeroes it
  avgpool2d(CFView{x.data(), {P, H, W}}, FSpan{y.data(), y.size()}, win);
  avgpool2d_backward(CFView{gy.data(), {P, OH, OW}}, {P, H, W}, FSpan{gx.data(), gx.size()}, win);
  std::vector<double> want_gx(P * H * W, 0.0);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double s = 0;
        const int64_t o = p * OH * OW + oh * OW + ow;
        for (int64_t i = h.lo[oh]; i < h.hi[oh]; ++i)
          for (int64_t j = w.lo[ow]; j < w.hi[ow]; ++j) {
            s += x[p * H * W + i * W + j];
            want_gx[p * H * W + i * W + j] += gy[o] / static_cast<double>(div[oh * OW + ow]);
          }
        CHECK_NEAR(y[o], s / div[oh * OW + ow], 1e-6);
      }
  for (size_t i = 0; i < gx.size(); ++i) CHECK_NEAR(gx[i], want_gx[i], 1e-6);
}

TEST_CASE("avgpool2d rejects windows outside the plane, bad divisors and wrong shapes") {
  std::vector<float> x(16), y(4), gx(16);
  std::vector<int32_t> lo{0, 2}, hi{2, 4}, bad_hi{2, 5}, div{4, 4, 4, 4}, zero_div{4, 0, 4, 4};
  auto win = [&](std::vector<int32_t>& h1, std::vector<int32_t>& d) {
    return PoolWindows{{lo.data(), 2}, {h1.data(), 2}, {lo.data(), 2}, {hi.data(), 2}, {d.data(), d.size()}};
  };
  const Shape xs{1, 4, 4};
  avgpool2d(CFView{x.data(), xs}, FSpan{y.data(), 4}, win(hi, div));  // valid
  CHECK_THROWS_CODE(avgpool2d(CFView{x.data(), xs}, FSpan{y.data(), 4}, win(bad_hi, div)), ErrorCode::Arg);
  CHECK_THROWS_CODE(avgpool2d(CFView{x.data(), xs}, FSpan{y.data(), 4}, win(hi, zero_div)), ErrorCode::Arg);
  std::vector<int32_t> short_div{4, 4, 4};
  CHECK_THROWS_CODE(avgpool2d(CFView{x.data(), xs}, FSpan{y.data(), 4}, win(hi, short_div)), ErrorCode::Arg);
  std::vector<int32_t> reversed{2, 1};  // h0[1] = 2 > h1[1] = 1
  CHECK_THROWS_CODE(avgpool2d(CFView{x.data(), xs}, FSpan{y.data(), 4}, win(reversed, div)), ErrorCode::Arg);
  CHECK_THROWS_CODE(avgpool2d(CFView{x.data(), {16}}, FSpan{y.data(), 4}, win(hi, div)), ErrorCode::Shape);
  CHECK_THROWS_CODE(avgpool2d(CFView{x.data(), xs}, FSpan{y.data(), 3}, win(hi, div)), ErrorCode::Shape);
  CHECK_THROWS_CODE(avgpool2d_backward(CFView{y.data(), {1, 2, 3}}, xs, FSpan{gx.data(), 16}, win(hi, div)), ErrorCode::Shape);
  CHECK_THROWS_CODE(avgpool2d_backward(CFView{y.data(), {1, 2, 2}}, xs, FSpan{gx.data(), 15}, win(hi, div)), ErrorCode::Shape);
}

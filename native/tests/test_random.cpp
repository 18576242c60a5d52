#include <algorithm>
#include <cmath>
#include <vector>

#include "check.h"
#include "ravdl/parallel.h"
#include "ravdl/random.h"

using namespace ravdl;

TEST_CASE("philox4x32_10 matches the Random123 known-answer vectors") {
  auto a = philox4x32_10({0, 0, 0, 0}, {0, 0});
  CHECK((a == std::array<uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  auto b = philox4x32_10({~0u, ~0u, ~0u, ~0u}, {~0u, ~0u});
  CHECK((b == std::array<uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  auto c = philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u});
  CHECK((c == std::array<uint32_t, 4>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST_CASE("rand_uniform and dropout use word i % 4 of Philox counter offset + i / 4") {
  // Checks the batched (SIMD) generator against the scalar definition; run the tests with
  // RAVDL_SIMD=portable too to cover the portable path.
  const size_t n = 1000;
  const int64_t seed = (int64_t(0x1234567) << 32) | 0x89abcdef, offset = (int64_t(1) << 32) - 3;
  std::vector<float> u(n), x(n, 1.0f), y(n);
  std::vector<uint8_t> mask(n);
  rand_uniform({u.data(), n}, 0, 1, seed, offset);
  dropout({x.data(), n}, {y.data(), n}, {mask.data(), n}, 0.25, seed, offset);
  bool same_u = true, same_m = true;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t c = uint64_t(offset) + i / 4;
    auto w = philox4x32_10({uint32_t(c), uint32_t(c >> 32), 0, 0}, {0x89abcdefu, 0x1234567u})[i % 4];
    same_u = same_u && u[i] == float(w >> 8) / 16777216.0f;
    same_m = same_m && mask[i] == (w >= 0x40000000u ? 1 : 0);
  }
  CHECK(same_u);
  CHECK(same_m);
}

TEST_CASE("rand_normal is Box-Muller on word pairs (0,1), (2,3) of each counter") {
  const size_t n = 4099;
  std::vector<float> z(n);
  rand_normal({z.data(), n}, 0.5, 3.0, 77, 5);
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t c = 5 + i / 4;
    auto w = philox4x32_10({uint32_t(c), uint32_t(c >> 32), 0, 0}, {77u, 0u});
    const size_t p = (i % 4) & ~size_t(1);  // first word of this element's pair
    const double u1 = double((w[p] >> 8) + 1) / 16777216.0, u2 = double(w[p + 1] >> 8) / 16777216.0;
    const double r = std::sqrt(-2.0 * std::log(u1)), t = 6.283185307179586 * u2;
    const double ref = 0.5 + 3.0 * (i % 2 == 0 ? r * std::cos(t) : r * std::sin(t));
    worst = std::max(worst, std::fabs(z[i] - ref) / (1.0 + std::fabs(ref)));
  }
  CHECK(worst < 2e-6);
}

TEST_CASE("rand_uniform is a function of (seed, offset) only, at any thread count") {
  const size_t n = 300001;  // not a multiple of 4, several parallel chunks
  std::vector<float> a(n), b(n), c(n);
  set_num_threads(1);
  rand_uniform({a.data(), n}, -2, 3, 42, 7);
  set_num_threads(2);
  rand_uniform({b.data(), n}, -2, 3, 42, 7);
  set_num_threads(3);
  rand_uniform({c.data(), n}, -2, 3, 42, 7);
  set_num_threads(0);
  CHECK(a == b);
  CHECK(a == c);
  // Offsets address blocks of 4: a stream started at offset+1 is the tail of this one.
  std::vector<float> d(n - 4);
  rand_uniform({d.data(), d.size()}, -2, 3, 42, 8);
  CHECK(std::equal(d.begin(), d.end(), a.begin() + 4));
  double sum = 0, sq = 0;
  bool in_range = true;
  for (float v : a) {
    in_range = in_range && v >= -2.0f && v < 3.0f;
    sum += v;
    sq += double(v) * v;
  }
  double mean = sum / n, var = sq / n - mean * mean;
  CHECK(in_range);
  CHECK_NEAR(mean, 0.5, 0.02);
  CHECK_NEAR(var, 25.0 / 12.0, 0.03);
  std::vector<float> e(n);
  rand_uniform({e.data(), n}, -2, 3, 43, 7);
  CHECK(e != a);
}

TEST_CASE("rand_normal has the requested moments") {
  const size_t n = 400003;
  std::vector<float> a(n);
  rand_normal({a.data(), n}, 1.5, 2.0, 5, 0);
  double sum = 0, sq = 0, quart = 0;
  for (float v : a) {
    double z = (v - 1.5) / 2.0;
    sum += v;
    sq += z * z;
    quart += z * z * z * z;
  }
  CHECK_NEAR(sum / n, 1.5, 0.02);
  CHECK_NEAR(sq / n, 1.0, 0.02);
  CHECK_NEAR(quart / n, 3.0, 0.1);  // kurtosis of a normal
  std::vector<float> b(n);
  set_num_threads(1);
  rand_normal({b.data(), n}, 1.5, 2.0, 5, 0);
  set_num_threads(0);
  CHECK(a == b);
}

TEST_CASE("random kernels validate seed, offset and parameters") {
  std::vector<float> a(8);
  CHECK_THROWS_CODE(rand_uniform({a.data(), 8}, 0, 1, -1, 0), ErrorCode::Attr);
  CHECK_THROWS_CODE(rand_uniform({a.data(), 8}, 0, 1, 0, -3), ErrorCode::Attr);
  CHECK_THROWS_CODE(rand_uniform({a.data(), 8}, 2, 1, 0, 0), ErrorCode::Attr);
  CHECK_THROWS_CODE(rand_normal({a.data(), 8}, 0, -1, 0, 0), ErrorCode::Attr);
  CHECK_THROWS_CODE(rand_normal({a.data(), 8}, NAN, 1, 0, 0), ErrorCode::Attr);
  CHECK(rand_counters(0) == 0 && rand_counters(4) == 1 && rand_counters(5) == 2);
}

TEST_CASE("dropout keeps 1-p of the values, scaled, and its backward uses the mask") {
  const size_t n = 200000;
  std::vector<float> x(n), y(n), gx(n);
  std::vector<uint8_t> mask(n);
  for (size_t i = 0; i < n; ++i) x[i] = float(i % 97) - 40.0f;
  const double p = 0.3;
  dropout({x.data(), n}, {y.data(), n}, {mask.data(), n}, p, 9, 100);
  size_t kept = 0;
  bool ok = true;
  for (size_t i = 0; i < n; ++i) {
    kept += mask[i];
    float want = mask[i] ? x[i] * float(1.0 / 0.7) : 0.0f;
    ok = ok && y[i] == want && mask[i] <= 1;
  }
  CHECK(ok);
  CHECK_NEAR(double(kept) / n, 0.7, 0.01);
  dropout_backward({x.data(), n}, {mask.data(), n}, p, {gx.data(), n});
  CHECK(gx == y);
  // In place is allowed; the result is the same.
  std::vector<float> z = x;
  dropout({z.data(), n}, {z.data(), n}, {mask.data(), n}, p, 9, 100);
  CHECK(z == y);
  // p = 0 is the identity, p = 1 drops everything.
  dropout({x.data(), n}, {y.data(), n}, {mask.data(), n}, 0.0, 9, 100);
  CHECK(y == x);
  dropout({x.data(), n}, {y.data(), n}, {mask.data(), n}, 1.0, 9, 100);
  bool zeros = true;
  for (size_t i = 0; i < n; ++i) zeros = zeros && y[i] == 0.0f && mask[i] == 0;
  CHECK(zeros);
}

TEST_CASE("dropout validates p, sizes and aliasing") {
  std::vector<float> x(8), y(8);
  std::vector<uint8_t> m(8);
  CHECK_THROWS_CODE(dropout({x.data(), 8}, {y.data(), 8}, {m.data(), 8}, 1.5, 0, 0), ErrorCode::Attr);
  CHECK_THROWS_CODE(dropout({x.data(), 8}, {y.data(), 8}, {m.data(), 8}, -0.1, 0, 0), ErrorCode::Attr);
  CHECK_THROWS_CODE(dropout({x.data(), 8}, {y.data(), 7}, {m.data(), 8}, 0.5, 0, 0), ErrorCode::Shape);
  CHECK_THROWS_CODE(dropout({x.data(), 8}, {y.data(), 8}, {m.data(), 6}, 0.5, 0, 0), ErrorCode::Shape);
  std::vector<float> big(16);
  CHECK_THROWS_CODE(dropout({big.data(), 8}, {big.data() + 4, 8}, {m.data(), 8}, 0.5, 0, 0),
                    ErrorCode::Arg);
  CHECK_THROWS_CODE(dropout({x.data(), 8}, {y.data(), 8}, {reinterpret_cast<uint8_t*>(y.data()), 8}, 0.5, 0, 0),
                    ErrorCode::Arg);
  CHECK_THROWS_CODE(dropout_backward({x.data(), 8}, {m.data(), 8}, 0.5, {y.data(), 4}), ErrorCode::Shape);
}

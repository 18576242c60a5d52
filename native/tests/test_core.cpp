#include <atomic>
#include <vector>

#include "check.h"
#include "ravdl/parallel.h"
#include "ravdl/shape.h"
#include "ravdl/tensor.h"

using namespace ravdl;

TEST_CASE("broadcast_shapes follows NumPy rules") {
  CHECK((broadcast_shapes("t", {2, 1, 3}, {4, 1}) == Shape{2, 4, 3}));
  CHECK((broadcast_shapes("t", {}, {5}) == Shape{5}));
  CHECK_THROWS_CODE(broadcast_shapes("t", {2, 3}, {4}), ErrorCode::Shape);
}

TEST_CASE("normalize_axis rejects out-of-range axes") {
  CHECK(normalize_axis("t", -1, 3) == 2);
  CHECK_THROWS_CODE(normalize_axis("t", 3, 3), ErrorCode::Index);
  CHECK_THROWS_CODE(normalize_axes("t", {0, -3}, 3), ErrorCode::Index);
}

TEST_CASE("view checks the buffer length against the shape") {
  std::vector<float> buf(6);
  CHECK(view("t", "x", buf.data(), buf.size(), {2, 3}).numel() == 6);
  CHECK_THROWS_CODE(view("t", "x", buf.data(), buf.size(), {2, 4}), ErrorCode::Shape);
  CHECK_THROWS_CODE(view("t", "x", buf.data(), buf.size(), {-1, 6}), ErrorCode::Shape);
}

TEST_CASE("parallel_for covers every index exactly once, at any thread count") {
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    std::vector<std::atomic<int>> hits(10007);
    parallel_for(10007, 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[i]++;
    });
    bool ok = true;
    for (auto& h : hits) ok = ok && h.load() == 1;
    CHECK(ok);
  }
  set_num_threads(0);
}

TEST_CASE("nested parallel_for runs inline") {
  std::atomic<int64_t> total{0};
  parallel_for(1000, 10, [&](int64_t b, int64_t e) {
    parallel_for(e - b, 1, [&](int64_t b2, int64_t e2) { total += e2 - b2; });
  });
  CHECK(total.load() == 1000);
}

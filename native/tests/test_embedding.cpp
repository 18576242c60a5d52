#include <algorithm>
#include <cmath>
#include <vector>

#include "check.h"
#include "ravdl/embedding.h"
#include "ravdl/parallel.h"

using namespace ravdl;

TEST_CASE("embedding gathers rows and rejects out-of-range ids") {
  const int64_t V = 7, D = 5;
  std::vector<float> w(V * D);
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(i) * 0.5f - 3.0f;
  std::vector<int32_t> ids{3, 0, 6, 3};
  std::vector<float> out(ids.size() * D);
  embedding({w.data(), {V, D}}, {ids.data(), ids.size()}, {out.data(), out.size()});
  bool ok = true;
  for (size_t i = 0; i < ids.size(); ++i)
    for (int64_t d = 0; d < D; ++d) ok = ok && out[i * D + d] == w[ids[i] * D + d];
  CHECK(ok);
  std::vector<int32_t> bad{1, 7};
  std::vector<float> out2(2 * D);
  CHECK_THROWS_CODE(embedding({w.data(), {V, D}}, {bad.data(), 2}, {out2.data(), out2.size()}), ErrorCode::Index);
  bad[1] = -1;
  CHECK_THROWS_CODE(embedding({w.data(), {V, D}}, {bad.data(), 2}, {out2.data(), out2.size()}), ErrorCode::Index);
  CHECK_THROWS_CODE(embedding({w.data(), {V, D}}, {ids.data(), 4}, {out.data(), out.size() - 1}), ErrorCode::Shape);
  CHECK_THROWS_CODE(embedding({w.data(), {V * D}}, {ids.data(), 4}, {out.data(), out.size()}), ErrorCode::Shape);
}

TEST_CASE("embedding_backward accumulates repeated ids and skips padding_idx, any thread count") {
  const int64_t V = 11, D = 70, n = 3000;  // D spans several column blocks
  std::vector<int32_t> ids(n);
  std::vector<float> gy(n * D);
  for (int64_t i = 0; i < n; ++i) ids[i] = int32_t((i * 7 + i / 5) % V);
  for (size_t i = 0; i < gy.size(); ++i) gy[i] = float((i * 37) % 101) / 50.0f - 1.0f;
  std::vector<double> ref(V * D, 0.0);
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] != 4)
      for (int64_t d = 0; d < D; ++d) ref[ids[i] * D + d] += gy[i * D + d];
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<float> gw(V * D, 123.0f);  // overwritten, not accumulated into
    embedding_backward({gy.data(), gy.size()}, {ids.data(), ids.size()}, V, D, 4 - V, {gw.data(), gw.size()});
    double worst = 0;
    for (size_t i = 0; i < gw.size(); ++i) worst = std::max(worst, std::fabs(gw[i] - ref[i]));
    CHECK(worst < 1e-3);
    bool pad_zero = true;
    for (int64_t d = 0; d < D; ++d) pad_zero = pad_zero && gw[4 * D + d] == 0.0f;
    CHECK(pad_zero);
  }
  set_num_threads(0);
  std::vector<float> gw(V * D);
  CHECK_THROWS_CODE(embedding_backward({gy.data(), gy.size()}, {ids.data(), ids.size()}, V, D, V, {gw.data(), gw.size()}),
                    ErrorCode::Index);
  CHECK_THROWS_CODE(embedding_backward({gy.data(), gy.size()}, {ids.data(), ids.size()}, V - 1, D, {}, {gw.data(), gw.size() - D}),
                    ErrorCode::Index);
  CHECK_THROWS_CODE(embedding_backward({gy.data(), gy.size() - 1}, {ids.data(), ids.size()}, V, D, {}, {gw.data(), gw.size()}),
                    ErrorCode::Shape);
  CHECK_THROWS_CODE(embedding_backward({gy.data(), gy.size()}, {ids.data(), ids.size()}, V, D, {}, {gw.data(), gw.size() + 0 - 1}),
                    ErrorCode::Shape);
}

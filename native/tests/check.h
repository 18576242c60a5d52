// A tiny test harness for the core's C++ tests (no Node, no external framework).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "ravdl/error.h"

namespace ravdl::test {

struct Case {
  const char* name;
  std::function<void()> fn;
};
std::vector<Case>& registry();
struct Register {
  Register(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};
void report_failure(const char* file, int line, const std::string& what);

// n reproducible floats in [-1, 1) from seed (a linear congruential generator).
inline std::vector<float> rnd(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}

}  // namespace ravdl::test

#define RAVDL_CAT2(a, b) a##b
#define RAVDL_CAT(a, b) RAVDL_CAT2(a, b)
// TEST_CASE("gemm matches the reference") { ... }
#define TEST_CASE(name)                                                              \
  static void RAVDL_CAT(test_fn_, __LINE__)();                                       \
  static ::ravdl::test::Register RAVDL_CAT(test_reg_, __LINE__)(name, RAVDL_CAT(test_fn_, __LINE__)); \
  static void RAVDL_CAT(test_fn_, __LINE__)()

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) ::ravdl::test::report_failure(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                        \
  do {                                                                               \
    double va_ = (a), vb_ = (b);                                                     \
    if (!(std::fabs(va_ - vb_) <= (tol)))                                            \
      ::ravdl::test::report_failure(__FILE__, __LINE__,                              \
          std::string("CHECK_NEAR(" #a ", " #b "): ") + std::to_string(va_) + " vs " + std::to_string(vb_)); \
  } while (0)

// CHECK_THROWS_CODE(expr, ravdl::ErrorCode::Shape)
#define CHECK_THROWS_CODE(expr, code_)                                               \
  do {                                                                               \
    bool thrown_ = false;                                                            \
    try { expr; } catch (const ::ravdl::Error& e_) {                                 \
      thrown_ = true;                                                                \
      if (e_.code() != (code_))                                                      \
        ::ravdl::test::report_failure(__FILE__, __LINE__, std::string("wrong code ") + e_.code_name() + ": " + e_.what()); \
    }                                                                                \
    if (!thrown_) ::ravdl::test::report_failure(__FILE__, __LINE__, "expected a throw: " #expr); \
  } while (0)

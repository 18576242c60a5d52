#include <cstdio>
#include <cstring>
#include <exception>

#include "check.h"

namespace ravdl::test {

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

static int g_failures = 0;

void report_failure(const char* file, int line, const std::string& what) {
  ++g_failures;
  std::fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, what.c_str());
}

}  // namespace ravdl::test

// Usage: ravdl_core_tests [substring filter]
int main(int argc, char** argv) {
  using namespace ravdl::test;
  int passed = 0, failed = 0;
  for (auto& c : registry()) {
    if (argc > 1 && std::strstr(c.name, argv[1]) == nullptr) continue;
    int before = g_failures;
    try {
      c.fn();
    } catch (const std::exception& e) {
      report_failure(__FILE__, __LINE__, std::string("uncaught exception: ") + e.what());
    }
    if (g_failures == before) {
      ++passed;
    } else {
      ++failed;
      std::fprintf(stderr, "FAILED: %s\n", c.name);
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

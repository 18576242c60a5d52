#!/usr/bin/env bash
# Builds and runs the C++ tests of the core without Node; RAVDL_SANITIZE=1 adds ASan/UBSan.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=build-cpp-tests
flags=(-DRAVDL_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release)
if [ "${RAVDL_SANITIZE:-0}" = 1 ]; then
  dir=build-cpp-asan
  flags=(-DRAVDL_BUILD_TESTS=ON -DRAVDL_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
"$dir/ravdl_core_tests" "$@"
RAVDL_GEMM=builtin "$dir/ravdl_core_tests" "$@"
# The CUDA kernels against the CPU ones (prints "skipped: no CUDA device (...)" without a GPU).
"$dir/ravdl_cuda_tests"

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
# The same harness against the CPU stand-in for the CUDA library (native/mock/cuda_mock.cpp):
# device memory, copies, the loader's attribute translation and the registry's call forms run
# here too, without a GPU (both sides of each comparison are then CPU kernels).
RAVDL_CUDA_TESTS_SUBSET=1 RAVDL_CUDA_LIB="$PWD/$dir/libravdl_cuda_mock.so" "$dir/ravdl_cuda_tests"

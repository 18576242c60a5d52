#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UBSan into build-asan/Release/ravdl.node (next to,
# never instead of, build/Release). The fuzzer loads it with RAVDL_ADDON_PATH and
# LD_PRELOAD=$(gcc -print-file-name=libasan.so): see test/fuzz/driver.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js build --out build-asan --config RelWithDebInfo --CDRAVDL_SANITIZE=ON --CDRAVDL_CUDA=OFF \
  --parallel "$(nproc)" --log-level warn
mkdir -p build-asan/Release
# cmake-js puts the library under the configuration's name; one fixed path for RAVDL_ADDON_PATH.
if [ -f build-asan/RelWithDebInfo/ravdl.node ]; then
  cp build-asan/RelWithDebInfo/ravdl.node build-asan/Release/ravdl.node
fi
test -f build-asan/Release/ravdl.node
echo "build-asan/Release/ravdl.node"

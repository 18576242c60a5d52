#!/bin/sh
# The prebuilt addon shipped inside the npm package: prebuilds/<platform>-<arch>/ravdl.node,
# which node-gyp-build loads, so users of this platform need no compiler and no install script.
# prebuildify drives the build through scripts/cmake-js-as-node-gyp.sh in build-prebuild/ (the
# development build in build/ is left alone). The prebuild does not link OpenBLAS (a user's
# machine may not have it): it uses the built-in GEMM; building from source picks OpenBLAS up.
#   npm run prebuild            (npm pack runs it first, through prepack)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/build-prebuild"
# The prebuilt addon ships alone (no libravdl_cuda.so beside it), so the CUDA library is not built.
export RAVDL_CUDA=OFF
exec "$root/node_modules/.bin/prebuildify" --napi --strip --name ravdl --cwd "$root/build-prebuild" --out "$root" --node-gyp "$root/scripts/cmake-js-as-node-gyp.sh"

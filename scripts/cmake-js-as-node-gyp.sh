#!/usr/bin/env sh
# prebuildify drives node-gyp; this stands in for it so prebuilds are made by cmake-js, from the
# package root's sources into ./build of the directory prebuildify runs it in (build-prebuild/,
# see scripts/prebuild.sh), without OpenBLAS so the binary needs nothing beyond the C and C++
# runtimes. prebuildify's node-gyp arguments (rebuild --target=... --devdir=... --release) are
# not needed: the addon uses N-API (ABI-stable), so one build serves every Node version.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
exec node "$root/node_modules/cmake-js/bin/cmake-js" rebuild --directory "$root" --out "$PWD/build" --CDRAVDL_WITH_BLAS=OFF

#!/usr/bin/env sh
# prebuildify drives node-gyp; this stands in for it so prebuilds are made by cmake-js.
# prebuildify's node-gyp arguments (rebuild --target=... --devdir=... --release) are not
# needed: the addon uses N-API (ABI-stable), so one build serves every Node version.
set -e
exec npx --no-install cmake-js rebuild

#!/usr/bin/env node
// npm install hook: use a prebuilt or already-built addon when one loads, else build it with cmake-js.
// (node-gyp-build's own CLI would fall back to node-gyp, which needs a binding.gyp we don't have.)
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const force = process.env.npm_config_build_from_source === 'true' || process.env.RAVDL_BUILD_FROM_SOURCE === '1';

function loads() {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

if (!force && loads()) process.exit(0);

let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
} catch {
  console.error('ravdl: cmake-js is missing; run `npm install` again with dev and regular dependencies.');
  process.exit(1);
}
const result = spawnSync(process.execPath, [cmakeJs, 'rebuild'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error(
    '\nravdl: building the native addon failed. It needs cmake (>= 3.18), a C++17 compiler and make or ninja;\n' +
      'on Debian/Ubuntu: apt-get install cmake g++ make libopenblas-dev (OpenBLAS is optional but faster).',
  );
}
process.exit(result.status ?? 1);

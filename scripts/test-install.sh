#!/bin/sh
# Packs ravdl as it would be published (npm pack: prepack builds the prebuilt addon and the
# JavaScript), checks what the tarball holds, installs it into a new project with install scripts
# skipped (no compiler is used: the prebuilt binary must load), and uses it in every documented
# way: ESM default and namespace imports, require(), worker_threads, and TypeScript with the
# nodenext and the older node (node10) resolution. Dependencies come from npm's cache or registry.
#   sh scripts/test-install.sh [TARBALL]   (CI runs it; about 2 minutes, most of it the prebuild;
#                                           with TARBALL, tests that package instead of packing)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
fail() {
  echo "test-install: FAILED: $*" >&2
  exit 1
}

cd "$root"
if [ $# -gt 0 ]; then
  tgz=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
else
  echo "== npm pack"
  tgz="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
fi
tar -tzf "$tgz" | sort >"$work/files"
echo "$(wc -l <"$work/files") files, $(du -k "$tgz" | cut -f1) KiB"
for f in package/package.json package/LICENSE package/README.md package/prebuilds/linux-x64/ravdl.node \
  package/dist/main.js package/dist/main.d.ts package/dist/index.js.map package/lib/index.ts \
  package/scripts/install.cjs package/scripts/install-datasets.sh package/CMakeLists.txt \
  package/lib/ravenverse/coordinator/dashboard/index.html package/lib/ravenverse/coordinator/dashboard/dashboard.js; do
  grep -qx "$f" "$work/files" || fail "the tarball lacks $f"
done
! grep -q '^package/native/tests/' "$work/files" || fail 'the tarball ships native/tests'
! grep -q '^package/\(test\|benchmarks\|examples\|build\|build-prebuild\)/' "$work/files" || fail 'the tarball ships development folders'
# Every source a map names is in the package.
tar -xzf "$tgz" -C "$work"
node -e '
  const fs = require("fs"), path = require("path");
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
  const maps = walk(process.argv[1]).filter((f) => f.endsWith(".js.map"));
  for (const m of maps) for (const s of JSON.parse(fs.readFileSync(m, "utf8")).sources) {
    const p = path.resolve(path.dirname(m), s);
    if (!fs.existsSync(p)) { console.error(`${m} names ${s}, not in the package`); process.exit(1); }
  }
  console.log(`${maps.length} source maps, every source present`);
' "$work/package/dist"

echo "== npm install --ignore-scripts (a user project)"
mkdir "$work/app"
cd "$work/app"
printf '{ "name": "app", "version": "1.0.0", "private": true, "type": "module" }\n' >package.json
npm install --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error "$tgz"
[ ! -d node_modules/ravdl/build ] || fail 'an install script ran'

echo "== import R from 'ravdl', import * as R, subpaths"
node --input-type=module -e "
  import R from 'ravdl';
  import * as N from 'ravdl';
  import { NeuralNetwork } from 'ravdl/v2';
  import { Dense } from 'ravdl/v2/layers';
  import { Adam } from 'ravdl/v2/optimizers';
  import { to_categorical } from 'ravdl/v2/utils';
  if (R.t !== N.t || R.default !== undefined && R.default !== N.default) throw new Error('default and namespace differ');
  const m = new NeuralNetwork(new Adam(), 'CrossEntropy');
  m.add(new Dense(3, { input_shape: [2] }));
  const h = await m.fit(R.t([[0, 1], [1, 0], [1, 1]]), R.t([0, 1, 2], { dtype: 'int32' }), { n_epochs: 2, verbose: 0 });
  console.log('ESM ok:', R.backendInfo().gemm, 'GEMM, BLAS', R.backendInfo().blas, '- fit', h.epochs.length, 'epochs;', to_categorical(R.t([1], { dtype: 'int32' })).shape);
"

echo "== the coordinator's built code finds the dashboard's files (the package's lib/)"
node --input-type=module -e "
  const { dashboardDir } = await import('./node_modules/ravdl/dist/ravenverse/coordinator/server.js');
  const dir = dashboardDir();
  if (!dir || !dir.startsWith(process.cwd() + '/node_modules/ravdl/lib/')) throw new Error('dashboard files not found from dist/: ' + dir);
  console.log('dashboard ok:', dir);
"

echo "== require('ravdl')"
node -e "
  const R = require('ravdl');
  const { NeuralNetwork } = require('ravdl/v2');
  if (typeof R.t !== 'function' || typeof NeuralNetwork !== 'function' || R.default.t !== R.t) throw new Error('require gave ' + Object.keys(R).slice(0, 5));
  console.log('CJS ok:', R.sum(R.t([1, 2, 3])).item());
" 2>"$work/stderr" || { cat "$work/stderr" >&2; fail 'require'; }
! grep -q ExperimentalWarning "$work/stderr" || echo "note: $(grep ExperimentalWarning "$work/stderr")"

echo "== worker_threads"
cat >worker.mjs <<'JS'
import R from 'ravdl';
import { parentPort } from 'node:worker_threads';
parentPort.postMessage(R.sum(R.t([4, 5])).item());
JS
cat >main.mjs <<'JS'
import { Worker } from 'node:worker_threads';
const w = new Worker(new URL('./worker.mjs', import.meta.url));
const v = await new Promise((res, rej) => { w.on('message', res); w.on('error', rej); });
await w.terminate();
if (v !== 9) throw new Error('worker gave ' + v);
console.log('worker ok');
JS
node main.mjs

echo "== TypeScript (nodenext, and node10 through typesVersions)"
cat >app.ts <<'TS'
import R from 'ravdl';
import * as N from 'ravdl';
import { NeuralNetwork, type History } from 'ravdl/v2';
import { Dense } from 'ravdl/v2/layers';
import { Adam } from 'ravdl/v2/optimizers';
import { load_iris } from 'ravdl/v2/utils';
const x: N.Tensor = R.t([[1, 2]]);
const m = new NeuralNetwork(new Adam(), 'SquareLoss');
m.add(new Dense(1, { input_shape: [2] }));
const h: Promise<History> = m.fit(x, R.t([[1]]), { n_epochs: 1, signal: new AbortController().signal });
export { h, load_iris };
TS
tsc="$root/node_modules/.bin/tsc"
"$tsc" --noEmit --strict --skipLibCheck --types node --typeRoots "$root/node_modules/@types" --module nodenext --moduleResolution nodenext app.ts || fail 'TypeScript, nodenext'
"$tsc" --noEmit --strict --skipLibCheck --types node --typeRoots "$root/node_modules/@types" --module commonjs --moduleResolution node10 --esModuleInterop --ignoreDeprecations 5.0 app.ts || fail 'TypeScript, node10'
echo "TypeScript ok"
echo "test-install: passed"

// npm run fuzz [-- --seed N --calls N --big N --shards N --only fn1,fn2]
// npm run fuzz:asan: the same against build-asan/Release/ravdl.node (scripts/build-asan-addon.sh)
// under AddressSanitizer + UBSan, with a smaller budget and more exact-size buffers.
// Prints the per-function report table; exits 1 on any crash, violation or uncovered function.
import { existsSync } from 'node:fs';
import { ASAN_ADDON, fuzz, type FuzzOptions } from './driver.js';
import { problems, table } from './report.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const asan = argv.includes('--asan');
const onlyIdx = argv.indexOf('--only');
const o: FuzzOptions = {
  seed: opt('seed', Number(process.env.FUZZ_SEED ?? 1)),
  shards: opt('shards', 2),
  calls: opt('calls', 150),
  big: opt('big', 4),
  exact: asan ? 0.6 : undefined,
  asan,
  only: onlyIdx >= 0 ? argv[onlyIdx + 1]!.split(',') : undefined,
  timeoutMs: opt('timeout', 600) * 1000,
};
if (asan && !existsSync(ASAN_ADDON)) {
  console.error(`${ASAN_ADDON} is missing: run bash scripts/build-asan-addon.sh first`);
  process.exit(2);
}
const { report, failures } = await fuzz(o);
if (report) console.log(table(report));
// With --only, coverage of the other functions is not asked for.
const bad = [...failures, ...(report ? problems(o.only ? { ...report, names: o.only } : report) : [])];
for (const b of bad) console.error(`FAIL ${b}`);
console.log(bad.length ? `${bad.length} problems${asan ? ' (AddressSanitizer build)' : ''}` : `ok${asan ? ' (AddressSanitizer build)' : ''}`);
process.exit(bad.length ? 1 : 0);

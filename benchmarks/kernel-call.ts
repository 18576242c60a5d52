// Per-call cost of small ops through the whole dispatch path (catalog checks, shape inference,
// output allocation, the native call), 1 thread: what the kernel registry's generic entry adds
// or saves against direct binding functions shows here. Prints µs per call, median of ROUNDS,
// in CPU time of this process (process.cpuUsage), which other work on a shared machine
// disturbs far less than wall time.
// Run: node --conditions=ravdl-source --import tsx benchmarks/kernel-call.ts
import * as R from '../lib/index.js';

const CALLS = 5000;
const ROUNDS = 21;

function perCall(body: () => void): number {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.cpuUsage();
    R.tidy(() => {
      for (let i = 0; i < CALLS; i++) body();
    });
    const t = process.cpuUsage(t0);
    times.push((t.user + t.system) / CALLS);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(ROUNDS / 2)]!;
}

R.setNumThreads(1);
R.manual_seed(0);
const a = R.keep(R.randn([16]));
const b = R.keep(R.randn([16]));
const col = R.keep(R.randn([4, 1]));
const row = R.keep(R.randn([1, 4]));
const m = R.keep(R.randn([8, 8]));
const x = R.keep(R.randn([4, 16]));

const cases: [string, () => void][] = [
  ['add 16', () => R.add(a, b)],
  ['add [4,1]+[1,4] (broadcast)', () => R.add(col, row)],
  ['relu 16', () => R.relu(a)],
  ['leaky_relu 16 (1 attr)', () => R.leaky_relu(a, { negative_slope: 0.1 })],
  ['matmul 8x8', () => R.matmul(m, m)],
  ['sum [4,16] axis 1', () => R.sum(x, 1)],
  ['softmax [4,16]', () => R.softmax(x, -1)],
];
for (let k = 0; k < 2; k++) for (const [, f] of cases) perCall(f); // warm-up
for (const [name, f] of cases) console.log(`${name.padEnd(32)} ${perCall(f).toFixed(3)} µs`);

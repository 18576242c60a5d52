// Child process of event-loop.bench.ts: runs the Fashion-MNIST example's job (load the dataset,
// train its CNN, predict the test set) while a 1 ms interval timer watches the event loop, and
// prints one JSON line: the longest stall (the largest gap between two ticks of the timer, less
// its 1 ms period), the 99th percentile of the gaps, how many exceeded 50 ms, and the longest
// stall counted in the main thread's own CPU time (Linux /proc/thread-self/schedstat), which
// leaves out the time the process waited for a core on a loaded machine.
//   --sync    the same job through the synchronous forms (load_*_sync, fit_sync, predict)
//   node --conditions=ravdl-source --import tsx benchmarks/fashion-stall.ts --epochs 1 --limit 6000 --threads 2 [--sync]
import { readFileSync } from 'node:fs';
import * as R from 'ravdl';
import { accuracy_score, load_fashion_mnist_sync } from 'ravdl/v2/utils';
import { fashionCnn, main } from '../examples/fashion_mnist_cnn.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const epochs = arg('--epochs', 1);
const limit = arg('--limit', 6000);
R.setNumThreads(arg('--threads', 0));

/** The job as it was before the API became asynchronous: every call holds the thread. */
function syncJob(): number {
  R.manual_seed(42);
  const train = load_fashion_mnist_sync({ split: 'train', limit });
  const test = load_fashion_mnist_sync({ split: 'test' });
  const model = fashionCnn();
  model.fit_sync(train.X, train.y, { n_epochs: epochs, batch_size: 64, verbose: false });
  return accuracy_score(test.y, model.predict(test.X));
}

/** Nanoseconds the calling thread has run on a CPU, or NaN off Linux. */
const cpuNs = () => {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
};
const gaps: number[] = [];
let maxCpuStallMs = 0;
let last = performance.now();
let lastCpu = cpuNs();
const timer = setInterval(() => {
  const now = performance.now();
  const cpu = cpuNs();
  gaps.push(now - last - 1);
  maxCpuStallMs = Math.max(maxCpuStallMs, (cpu - lastCpu) / 1e6);
  last = now;
  lastCpu = cpuNs(); // after the read itself
}, 1);
const started = performance.now();
const accuracy = process.argv.includes('--sync') ? syncJob() : await main({ n_epochs: epochs, train_limit: limit, verbose: false });
const seconds = (performance.now() - started) / 1000;
// One more tick records the gap that a synchronous job leaves at its end.
await new Promise((r) => setTimeout(r, 5));
clearInterval(timer);
gaps.sort((a, b) => a - b);
const maxStallMs = gaps.length ? gaps[gaps.length - 1]! : seconds * 1000;
const p99Ms = gaps.length ? gaps[Math.min(gaps.length - 1, Math.floor(gaps.length * 0.99))]! : maxStallMs;
console.log(JSON.stringify({ maxStallMs, p99Ms, over50: gaps.filter((g) => g > 50).length, maxCpuStallMs, ticks: gaps.length, seconds, accuracy }));

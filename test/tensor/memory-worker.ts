// Runs the training loop without tidy() or dispose() in a process started with --expose-gc, and
// prints live-tensor counts as JSON: tensors the user just drops must be reclaimed by the GC.
import * as R from '../../lib/index.js';
import { makeMlp } from '../../benchmarks/train-loop.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('memory-worker needs node --expose-gc');

async function settle(): Promise<void> {
  // FinalizationRegistry callbacks run in later macrotasks after a collection.
  for (let i = 0; i < 5; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 10));
  }
}

const steps = Number(process.env.STEPS ?? 10000);
const mlp = makeMlp();
await settle();
const start = R.memory().tensors;
let peak = start;
let first = 0;
let last = 0;
for (let i = 0; i < steps; i++) {
  last = mlp.step(false);
  if (i === 0) first = last;
  if (i % 1000 === 999) {
    await settle();
    peak = Math.max(peak, R.memory().tensors);
  }
}
await settle();
console.log(JSON.stringify({ start, peak, end: R.memory().tensors, first, last }));

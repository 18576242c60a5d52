// `npm run bench:memory [-- --steps 10000] [--tidy]`
// Prints resident memory over a training loop that never calls dispose() or tidy() (what a user
// who ignores memory management gets), or with --tidy the same loop inside R.tidy(). Reports only.
// Between report points the loop is synchronous; at each point it yields to the event loop (as
// an epoch boundary would) after a full collection when node runs with --expose-gc, so the figures
// are live memory rather than garbage V8 has not collected yet.
import * as R from '../lib/index.js';
import { makeMlp } from './train-loop.js';

const args = process.argv.slice(2);
const stepsArg = args.indexOf('--steps');
const steps = stepsArg >= 0 ? Number(args[stepsArg + 1]) : 10_000;
const useTidy = args.includes('--tidy');
const mib = (b: number) => (b / 2 ** 20).toFixed(1);

const mlp = makeMlp();
console.log(`MLP 8-16-4, batch 32, ${steps} steps, ${useTidy ? 'inside R.tidy()' : 'no tidy(), no dispose()'}`);
console.log('step    loss      live tensors  tensor MiB  RSS MiB  JS heap MiB  untracked');
const every = Math.max(1, Math.floor(steps / 10));
let rssAtFirst = 0;
let rssAtLast = 0;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.log('(run with node --expose-gc to see memory after collection; figures now include uncollected garbage)');
for (let i = 1; i <= steps; i++) {
  const loss = mlp.step(useTidy);
  if (i % every === 0 || i === 1) {
    gc?.();
    await new Promise((r) => setTimeout(r, 5)); // lets finalizers un-count collected tensors
    const m = R.memory();
    const u = process.memoryUsage();
    if (i === 2 * every) rssAtFirst = u.rss; // after warm-up (JIT, pools)
    rssAtLast = u.rss;
    console.log(
      `${String(i).padEnd(7)} ${loss.toFixed(5).padEnd(9)} ${String(m.tensors).padEnd(13)} ${mib(m.bytes).padEnd(11)} ${mib(u.rss).padEnd(8)} ${mib(u.heapUsed).padEnd(12)} ${m.untracked}`,
    );
  }
}
console.log(`RSS change from step ${2 * every} to step ${steps}: ${((rssAtLast - rssAtFirst) / 2 ** 20).toFixed(1)} MiB`);

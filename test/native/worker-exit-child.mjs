// Child process of worker-exit.test.ts (plain JS so workers start fast, without tsx).
//   node worker-exit-child.mjs <addon.node> terminate   starts and terminates 40 workers, each
//                                                       stopped while inside a native call; prints 'ok'
//   node worker-exit-child.mjs <addon.node> exit <code> calls process.exit(code) while 4 workers compute
// Each worker runs one kind of call in a bounded loop: conv2d, maxpool2d, matmul (tens of ms
// each) or a call the engine rejects (it throws from native code).
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';

const [addonArg, mode, exitCode] = process.argv.slice(2);
const addon = resolve(addonArg);

const workerCode = `
const { parentPort, workerData } = require('node:worker_threads');
const nat = require(workerData.addon);
// runKernel's meta: [used length, inputs, outputs, then ndim and dims of each, then attributes].
const meta = (nIn, nOut, shapes, attrs = []) => {
  const m = [0, nIn, nOut];
  for (const s of shapes) m.push(...(s ? [s.length, ...s] : [-1]));
  m.push(...attrs);
  m[0] = m.length;
  return Float64Array.from(m);
};
const calls = [
  () => {
    const x = new Float32Array(8 * 32 * 64 * 64), w = new Float32Array(64 * 32 * 9);
    // conv2d with padding 1 (attributes: stride absent, padding [1]).
    nat.runKernel('conv2d', 'cpu', meta(3, 1, [[8, 32, 64, 64], [64, 32, 3, 3], null, [8, 64, 64, 64]], [0, 1, 1]), x, w, null, new Float32Array(8 * 64 * 64 * 64));
  },
  () => {
    const x = new Float32Array(16 * 32 * 128 * 128), n = 16 * 32 * 64 * 64, ys = [16, 32, 64, 64];
    nat.runKernel('max_pool2d', 'cpu', meta(1, 2, [[16, 32, 128, 128], ys, ys], [1, 2]), x, new Float32Array(n), new Int32Array(n));
  },
  () => {
    const a = new Float32Array(640 * 640);
    nat.runKernel('matmul', 'cpu', meta(2, 1, [[640, 640], [640, 640], [640, 640]]), a, a, new Float32Array(640 * 640));
  },
  () => {
    try {
      nat.runKernel('matmul', 'cpu', meta(2, 1, [[2, 2], [3, 2], [2, 2]]), new Float32Array(4), new Float32Array(6), new Float32Array(4));
    } catch (e) {
      if (e.code !== 'ERR_SHAPE') throw e;
    }
  },
];
parentPort.postMessage('started');
for (let i = 0; i < 100000; i++) calls[workerData.kind]();
`;

function start(kind) {
  const w = new Worker(workerCode, { eval: true, workerData: { addon, kind } });
  const started = new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  return { w, started };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (mode === 'terminate') {
  for (let i = 0; i < 40; i++) {
    const { w, started } = start(i % 4);
    // Every fifth worker is stopped at once, while it loads the addon; the others while they
    // are inside (or between) their calls.
    if (i % 5 !== 4) {
      await started;
      await sleep(2 + (i % 9) * 3);
    } else {
      started.catch(() => {}); // a worker stopped this early may never report
    }
    await w.terminate();
  }
  console.log('ok');
} else if (mode === 'exit') {
  const ws = [0, 1, 2, 3].map(start);
  await Promise.all(ws.map((x) => x.started));
  await sleep(15);
  process.exit(Number(exitCode));
} else {
  throw new Error(`unknown mode ${mode}`);
}

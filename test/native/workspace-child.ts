// Child process of workspace.test.ts: calls whose inputs are small (under 1 MB) but whose
// native scratch used to be gigabytes, then prints the peak RSS in MB as JSON.
//   node --import tsx workspace-child.ts [scenario ...]   (default: all of them)
import * as R from '../../lib/index.js';

const scenarios: Record<string, () => void> = {
  // An empty tensor padded by 2^28: the pad index table of the last dim was 4 GB.
  'pad-empty': () => {
    const x = R.zeros([0, 1], { requires_grad: true });
    const y = R.pad(x, [[2 ** 28, 2 ** 28]]);
    R.sum(y).backward();
    if (y.shape[1] !== 2 ** 29 + 1 || x.grad!.size !== 0) throw new Error('pad-empty: wrong shapes');
  },
  // conv2d on an empty batch of 16000 x 16000 images: one sample's im2col was 4 GB.
  'conv-empty-batch': () => {
    const x = R.zeros([0, 1, 16000, 16000], { requires_grad: true });
    const w = R.ones([1, 1, 2, 2], { requires_grad: true });
    R.sum(R.conv2d(x, w)).backward();
    if ((w.grad!.data() as Float32Array).some((v) => v !== 0)) throw new Error('conv-empty-batch: gw must be 0');
  },
  // A 360 KB input with a 77x77 kernel: im2col of 5929 x 90000 floats was 2.1 GB per call
  // (forward, input gradient and weight gradient each).
  'conv-big-kernel': () => {
    R.manual_seed(1);
    const x = R.randn([1, 1, 300, 300], { requires_grad: true });
    const w = R.randn([1, 1, 77, 77], { requires_grad: true });
    const y = R.conv2d(x, w, null, { padding: 38 });
    R.sum(y).backward();
    if (y.shape.join() !== '1,1,300,300' || !Number.isFinite(R.sum(x.grad!).item())) throw new Error('conv-big-kernel: bad result');
  },
  // Batch norm of an empty batch with 2^26 channels: no per-channel buffers for no values.
  'batchnorm-empty-batch': () => {
    const x = R.zeros([0, 2 ** 26], { requires_grad: true });
    R.sum(R.batch_norm(x, null, null, null, null, { training: true })).backward();
    if (x.grad!.size !== 0) throw new Error('batchnorm-empty-batch: wrong gradient');
  },
  // int32 tile and per-element repeat of empty tensors by 2^28: the index lists (and, for
  // tile, 2^28 concat inputs) were sized by the repeats although the result is empty.
  'tile-repeat-empty': () => {
    const a = R.tile(R.zeros([0, 2], { dtype: 'int32' }), [1, 2 ** 28]);
    const b = R.repeat(R.zeros([2, 0]), [3, 2 ** 28], 0);
    if (a.shape.join() !== `0,${2 ** 29}` || b.shape.join() !== `${3 + 2 ** 28},0`) throw new Error('tile-repeat-empty: wrong shapes');
  },
};

const names = process.argv.slice(2);
for (const name of names.length ? names : Object.keys(scenarios)) {
  const run = scenarios[name];
  if (!run) throw new Error(`unknown scenario ${name}`);
  run();
}
console.log(JSON.stringify({ maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }));

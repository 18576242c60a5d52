// Neural-network ops: conv2d, max_pool2d, batch_norm, layer_norm, softmax family, losses,
// dropout and embedding (PyTorch oracle; dropout is checked by its statistics instead).
import assert from 'node:assert/strict';
import type { InputSpec, OpCase, R as RT, Tensor } from '../case.js';

const f = (...shapes: number[][]): InputSpec[] => shapes.map((shape) => ({ shape }));
const fixed = (shape: number[], extra: Partial<InputSpec> = {}): InputSpec => ({ shape, grad: false, ...extra });
const ids = (shape: number[], high: number, low = 0): InputSpec => ({ shape, dtype: 'int32', low, high });

// ---- conv2d ----
const conv: OpCase[] = [
  { op: 'conv2d', id: 'bias', inputs: f([2, 3, 6, 6], [4, 3, 3, 3], [4]), torch: 'F.conv2d(a, b, c)', call: (R, [x, w, b]) => R.conv2d(x!, w!, b!) },
  { op: 'conv2d', id: 'no-bias-stride-pad', inputs: f([1, 2, 7, 7], [3, 2, 3, 3]), torch: 'F.conv2d(a, b, stride=2, padding=1)', call: (R, [x, w]) => R.conv2d(x!, w!, null, { stride: 2, padding: 1 }) },
  {
    op: 'conv2d',
    id: 'pairs',
    inputs: f([2, 2, 8, 7], [2, 2, 3, 2], [2]),
    torch: 'F.conv2d(a, b, c, stride=(2, 1), padding=(1, 2), dilation=(2, 1))',
    call: (R, [x, w, b]) => R.conv2d(x!, w!, b!, { stride: [2, 1], padding: [1, 2], dilation: [2, 1] }),
  },
  {
    op: 'conv2d',
    id: 'same-even-kernel-dilated',
    inputs: f([1, 2, 6, 5], [3, 2, 3, 4], [3]),
    torch: "F.conv2d(a, b, c, padding='same', dilation=(2, 1))",
    call: (R, [x, w, b]) => R.conv2d(x!, w!, b!, { padding: 'same', dilation: [2, 1] }),
  },
  { op: 'conv2d', id: 'valid', inputs: f([1, 3, 5, 6], [2, 3, 2, 3]), torch: "F.conv2d(a, b, padding='valid')", call: (R, [x, w]) => R.conv2d(x!, w!, null, { padding: 'valid' }) },
  { op: 'conv2d', id: 'groups', inputs: f([2, 4, 5, 5], [6, 2, 3, 3], [6]), torch: 'F.conv2d(a, b, c, padding=1, groups=2)', call: (R, [x, w, b]) => R.conv2d(x!, w!, b!, { padding: 1, groups: 2 }) },
  { op: 'conv2d', id: 'depthwise', inputs: f([2, 3, 5, 5], [6, 1, 3, 3], [6]), torch: 'F.conv2d(a, b, c, groups=3)', call: (R, [x, w, b]) => R.conv2d(x!, w!, b!, { groups: 3 }) },
  { op: 'conv2d', id: 'pointwise', inputs: f([2, 5, 4, 3], [3, 5, 1, 1], [3]), torch: 'F.conv2d(a, b, c)', call: (R, [x, w, b]) => R.conv2d(x!, w!, b!) },
  // 3x3, stride 1, >= 8 channels in and out: the Winograd path, forward and both gradients.
  { op: 'conv2d', id: 'winograd', inputs: f([2, 8, 6, 7], [8, 8, 3, 3], [8]), torch: 'F.conv2d(a, b, c, padding=1)', call: (R, [x, w, b]) => R.conv2d(x!, w!, b!, { padding: 1 }), tol: { rtol: 1e-4, atol: 1e-4 } },
  { op: 'conv2d', id: 'unbatched', inputs: f([2, 5, 5], [3, 2, 3, 3], [3]), torch: 'F.conv2d(a, b, c, padding=1)', call: (R, [x, w, b]) => R.conv2d(x!, w!, b!, { padding: 1 }) },
  ...(['reflect', 'replicate', 'circular'] as const).map(
    (mode): OpCase => ({
      op: 'conv2d',
      id: `padding-mode-${mode}`,
      inputs: f([2, 2, 5, 6], [3, 2, 3, 3], [3]),
      torch: `F.conv2d(F.pad(a, (2, 2, 1, 1), mode='${mode}'), b, c, stride=(1, 2))`,
      call: (R, [x, w, b]) => R.conv2d(x!, w!, b!, { padding: [1, 2], stride: [1, 2], padding_mode: mode }),
    }),
  ),
  { op: 'conv2d', id: 'padding-mode-zeros', inputs: f([1, 2, 5, 5], [2, 2, 3, 3]), torch: 'F.conv2d(a, b, padding=2)', call: (R, [x, w]) => R.conv2d(x!, w!, null, { padding: 2, padding_mode: 'zeros' }) },
];

// ---- max_pool2d (eps 1e-3: a larger step could move the max to another element) ----
const fd = { eps: 1e-3 };
const pool: OpCase[] = [
  { op: 'max_pool2d', id: 'kernel', inputs: f([2, 3, 6, 6]), torch: 'F.max_pool2d(a, 2)', call: (R, [x]) => R.max_pool2d(x!, { kernel_size: 2 }), fd },
  { op: 'max_pool2d', id: 'stride-padding', inputs: f([1, 2, 7, 7]), torch: 'F.max_pool2d(a, 3, stride=2, padding=1)', call: (R, [x]) => R.max_pool2d(x!, { kernel_size: 3, stride: 2, padding: 1 }), fd },
  { op: 'max_pool2d', id: 'dilation', inputs: f([1, 2, 7, 6]), torch: 'F.max_pool2d(a, 2, stride=1, dilation=2)', call: (R, [x]) => R.max_pool2d(x!, { kernel_size: 2, stride: 1, dilation: 2 }), fd },
  { op: 'max_pool2d', id: 'ceil-mode', inputs: f([1, 2, 8, 7]), torch: 'F.max_pool2d(a, 3, stride=2, ceil_mode=True)', call: (R, [x]) => R.max_pool2d(x!, { kernel_size: 3, stride: 2, ceil_mode: true }), fd },
  {
    op: 'max_pool2d',
    id: 'pairs-ceil-padding',
    inputs: f([2, 1, 7, 9]),
    torch: 'F.max_pool2d(a, (2, 3), stride=(2, 2), padding=(1, 1), ceil_mode=True)',
    call: (R, [x]) => R.max_pool2d(x!, { kernel_size: [2, 3], stride: [2, 2], padding: [1, 1], ceil_mode: true }),
    fd,
  },
  {
    op: 'max_pool2d',
    id: 'return-indices',
    inputs: f([2, 2, 5, 5]),
    torch: 'F.max_pool2d(a, 3, stride=2, padding=1, return_indices=True)',
    call: (R, [x]) => R.max_pool2d(x!, { kernel_size: 3, stride: 2, padding: 1, return_indices: true }),
    fd,
  },
  { op: 'max_pool2d', id: 'unbatched', inputs: f([3, 5, 4]), torch: 'F.max_pool2d(a, 2)', call: (R, [x]) => R.max_pool2d(x!, { kernel_size: 2 }), fd },
];

// ---- batch_norm: a = x, b = running_mean, c = running_var, d = weight, e = bias ----
const running = [fixed([0]), fixed([0], { init: 'positive' })];
const bnIn = (x: number[], affine: boolean): InputSpec[] => {
  const c = x[1]!;
  const [rm, rv] = running.map((s) => ({ ...s, shape: [c] }));
  return [{ shape: x }, rm!, rv!, ...(affine ? f([c], [c]) : [])];
};
// torch updates running stats in place: pass clones and return them after the call.
const bnTrain = (affine: boolean, opts: string) =>
  `(lambda rm, rv: (F.batch_norm(a, rm, rv, ${affine ? 'd, e' : 'None, None'}, training=True${opts}), rm, rv))(b.clone(), c.clone())`;
const statsCase = (id: string, x: number[], affine: boolean, o: { momentum?: number; eps?: number } = {}): OpCase => ({
  op: 'batch_norm_with_stats',
  id,
  inputs: bnIn(x, affine),
  torch: bnTrain(affine, `${o.momentum !== undefined ? `, momentum=${o.momentum}` : ''}${o.eps !== undefined ? `, eps=${o.eps}` : ''}`),
  call: (R, [x, rm, rv, w, b]) => {
    const r = R.batch_norm_with_stats(x!, rm!, rv!, w ?? null, b ?? null, { training: true, ...o });
    return [r.y, r.running_mean!, r.running_var!];
  },
});
const bnEval = (id: string, x: number[], affine: boolean): OpCase => ({
  op: 'batch_norm',
  id,
  inputs: bnIn(x, affine),
  torch: `F.batch_norm(a, b, c, ${affine ? 'd, e' : 'None, None'}, training=False)`,
  call: (R, [x, rm, rv, w, b]) => R.batch_norm(x!, rm!, rv!, w ?? null, b ?? null),
});
const norm: OpCase[] = [
  statsCase('train-2d-affine', [6, 3], true),
  statsCase('train-3d', [4, 3, 5], false),
  statsCase('train-4d-affine-momentum-eps', [3, 2, 4, 4], true, { momentum: 0.3, eps: 1e-3 }),
  statsCase('train-4d', [2, 3, 3, 2], false),
  // An empty batch (torch 1.13): empty y, running stats unchanged, zero weight/bias gradients.
  statsCase('train-empty-batch-affine', [0, 3], true),
  statsCase('train-empty-batch-4d', [0, 2, 3, 3], false),
  statsCase('train-empty-spatial-affine', [2, 3, 0], true),
  bnEval('eval-empty-batch-affine', [0, 3, 2, 2], true),
  bnEval('eval-2d-affine', [5, 4], true),
  bnEval('eval-3d', [3, 2, 4], false),
  bnEval('eval-3d-affine', [3, 2, 4], true),
  bnEval('eval-4d-affine', [2, 3, 3, 3], true),
  bnEval('eval-4d', [2, 3, 3, 3], false),
  {
    op: 'batch_norm',
    id: 'train-no-running-stats',
    inputs: f([4, 3, 2, 2], [3], [3]),
    torch: 'F.batch_norm(a, None, None, b, c, training=True)',
    call: (R, [x, w, b]) => R.batch_norm(x!, null, null, w!, b!, { training: true }),
  },
  {
    op: 'batch_norm',
    id: 'train-no-running-stats-empty-batch',
    inputs: f([0, 3, 2, 2], [3], [3]),
    torch: 'F.batch_norm(a, None, None, b, c, training=True)',
    call: (R, [x, w, b]) => R.batch_norm(x!, null, null, w!, b!, { training: true }),
  },
  {
    op: 'batch_norm_with_stats',
    id: 'no-running-stats',
    inputs: f([5, 2]),
    torch: 'F.batch_norm(a, None, None, training=True)',
    call: (R, [x]) => {
      const r = R.batch_norm_with_stats(x!, null, null, null, null, { training: true });
      assert.equal(r.running_mean, null);
      assert.equal(r.running_var, null);
      return r.y;
    },
  },
  { op: 'layer_norm', id: 'last-dim-affine', inputs: f([3, 5], [5], [5]), torch: 'F.layer_norm(a, (5,), b, c)', call: (R, [x, w, b]) => R.layer_norm(x!, 5, w!, b!) },
  {
    op: 'layer_norm',
    id: 'two-dims-eps',
    inputs: f([2, 3, 4], [3, 4], [3, 4]),
    torch: 'F.layer_norm(a, (3, 4), b, c, eps=1e-3)',
    call: (R, [x, w, b]) => R.layer_norm(x!, [3, 4], w!, b!, { eps: 1e-3 }),
  },
  { op: 'layer_norm', id: 'no-affine', inputs: f([2, 2, 6]), torch: 'F.layer_norm(a, (6,))', call: (R, [x]) => R.layer_norm(x!, [6]) },
];

// ---- softmax family ----
const soft: OpCase[] = [
  { op: 'softmax', id: 'last', inputs: f([3, 5]), torch: 'torch.softmax(a, -1)', call: (R, [x]) => R.softmax(x!) },
  { op: 'softmax', id: 'axis0', inputs: f([4, 3]), torch: 'torch.softmax(a, 0)', call: (R, [x]) => R.softmax(x!, 0) },
  { op: 'softmax', id: 'middle-3d', inputs: f([2, 3, 4]), torch: 'torch.softmax(a, 1)', call: (R, [x]) => R.softmax(x!, 1) },
  { op: 'log_softmax', id: 'last', inputs: f([3, 5]), torch: 'torch.log_softmax(a, -1)', call: (R, [x]) => R.log_softmax(x!) },
  { op: 'log_softmax', id: 'middle-3d', inputs: f([2, 4, 3]), torch: 'torch.log_softmax(a, -2)', call: (R, [x]) => R.log_softmax(x!, -2) },
  { op: 'softmin', id: 'last', inputs: f([3, 5]), torch: 'F.softmin(a, -1)', call: (R, [x]) => R.softmin(x!) },
  { op: 'softmax', id: 'tensor-method', inputs: f([2, 3]), torch: 'torch.softmax(a, 0)', call: (_R, [x]) => x!.softmax(0) },
  { op: 'log_softmax', id: 'tensor-method', inputs: f([2, 3]), torch: 'torch.log_softmax(a, -1)', call: (_R, [x]) => x!.log_softmax() },
  { op: 'softmin', id: 'axis0-3d', inputs: f([3, 2, 4]), torch: 'F.softmin(a, 0)', call: (R, [x]) => R.softmin(x!, 0) },
  // A 0-d tensor is one element along axis 0 / -1 (PyTorch's rule).
  { op: 'softmax', id: '0d-axis0', inputs: f([]), torch: 'torch.softmax(a, 0)', call: (R, [x]) => R.softmax(x!, 0) },
  { op: 'log_softmax', id: '0d-axis-1', inputs: f([]), torch: 'torch.log_softmax(a, -1)', call: (R, [x]) => R.log_softmax(x!, -1) },
  { op: 'softmin', id: '0d-axis0', inputs: f([]), torch: 'F.softmin(a, 0)', call: (R, [x]) => R.softmin(x!, 0) },
];

// ---- losses ----
const loss: OpCase[] = [
  { op: 'mse_loss', id: 'mean', inputs: f([4, 3], [4, 3]), torch: 'F.mse_loss(a, b)', call: (R, [p, t]) => R.mse_loss(p!, t!) },
  { op: 'mse_loss', id: 'sum', inputs: f([2, 3, 2], [2, 3, 2]), torch: "F.mse_loss(a, b, reduction='sum')", call: (R, [p, t]) => R.mse_loss(p!, t!, { reduction: 'sum' }) },
  { op: 'mse_loss', id: 'none', inputs: f([3, 4], [3, 4]), torch: "F.mse_loss(a, b, reduction='none')", call: (R, [p, t]) => R.mse_loss(p!, t!, { reduction: 'none' }) },
  { op: 'square_loss', id: 'y-true-first', inputs: f([5, 2], [5, 2]), torch: 'F.mse_loss(b, a)', call: (R, [yt, yp]) => R.square_loss(yt!, yp!) },
  { op: 'cross_entropy', id: 'indices-mean', inputs: [{ shape: [5, 4] }, ids([5], 4)], torch: 'F.cross_entropy(a, b)', call: (R, [l, t]) => R.cross_entropy(l!, t!) },
  { op: 'cross_entropy', id: 'indices-spatial', inputs: [{ shape: [2, 4, 3, 2] }, ids([2, 3, 2], 4)], torch: 'F.cross_entropy(a, b)', call: (R, [l, t]) => R.cross_entropy(l!, t!) },
  { op: 'cross_entropy', id: 'indices-none', inputs: [{ shape: [6, 3] }, ids([6], 3)], torch: "F.cross_entropy(a, b, reduction='none')", call: (R, [l, t]) => R.cross_entropy(l!, t!, { reduction: 'none' }) },
  { op: 'cross_entropy', id: 'indices-sum', inputs: [{ shape: [6, 3] }, ids([6], 3)], torch: "F.cross_entropy(a, b, reduction='sum')", call: (R, [l, t]) => R.cross_entropy(l!, t!, { reduction: 'sum' }) },
  { op: 'cross_entropy', id: 'ignore-index', inputs: [{ shape: [10, 4] }, ids([10], 4)], torch: 'F.cross_entropy(a, b, ignore_index=2)', call: (R, [l, t]) => R.cross_entropy(l!, t!, { ignore_index: 2 }) },
  {
    op: 'cross_entropy',
    id: 'ignore-index-weight-none',
    inputs: [{ shape: [10, 4] }, ids([10], 4), fixed([4], { init: 'positive' })],
    torch: "F.cross_entropy(a, b, weight=c, ignore_index=1, reduction='none')",
    call: (R, [l, t, w]) => R.cross_entropy(l!, t!, { weight: w!, ignore_index: 1, reduction: 'none' }),
  },
  {
    op: 'cross_entropy',
    id: 'weight-mean',
    inputs: [{ shape: [7, 3] }, ids([7], 3), fixed([3], { init: 'positive' })],
    torch: 'F.cross_entropy(a, b, weight=c)',
    call: (R, [l, t, w]) => R.cross_entropy(l!, t!, { weight: w! }),
  },
  { op: 'cross_entropy', id: 'label-smoothing', inputs: [{ shape: [5, 4] }, ids([5], 4)], torch: 'F.cross_entropy(a, b, label_smoothing=0.2)', call: (R, [l, t]) => R.cross_entropy(l!, t!, { label_smoothing: 0.2 }) },
  {
    op: 'cross_entropy',
    id: 'label-smoothing-weight-ignore',
    inputs: [{ shape: [8, 3, 2] }, ids([8, 2], 3), fixed([3], { init: 'positive' })],
    torch: 'F.cross_entropy(a, b, weight=c, ignore_index=0, label_smoothing=0.1)',
    call: (R, [l, t, w]) => R.cross_entropy(l!, t!, { weight: w!, ignore_index: 0, label_smoothing: 0.1 }),
  },
  // Probability targets also get their gradient (-(1 - smoothing) * w * log_softmax).
  { op: 'cross_entropy', id: 'probs-mean', inputs: [{ shape: [4, 5] }, { shape: [4, 5], init: 'probs' }], torch: 'F.cross_entropy(a, b)', call: (R, [l, t]) => R.cross_entropy(l!, t!) },
  {
    op: 'cross_entropy',
    id: 'probs-spatial-none-weight-smoothing',
    inputs: [{ shape: [2, 3, 4] }, { shape: [2, 3, 4], init: 'uniform', low: 0, high: 1 }, fixed([3], { init: 'positive' })],
    torch: "F.cross_entropy(a, b, weight=c, label_smoothing=0.3, reduction='none')",
    call: (R, [l, t, w]) => R.cross_entropy(l!, t!, { weight: w!, label_smoothing: 0.3, reduction: 'none' }),
  },
  {
    op: 'cross_entropy',
    id: 'probs-sum-weight',
    inputs: [{ shape: [3, 4] }, { shape: [3, 4], init: 'probs' }, fixed([4], { init: 'positive' })],
    torch: "F.cross_entropy(a, b, weight=c, reduction='sum')",
    call: (R, [l, t, w]) => R.cross_entropy(l!, t!, { weight: w!, reduction: 'sum' }),
  },
  { op: 'cross_entropy', id: 'unbatched-index', inputs: [{ shape: [5] }, ids([], 5)], torch: "F.cross_entropy(a, b, reduction='none')", call: (R, [l, t]) => R.cross_entropy(l!, t!, { reduction: 'none' }) },
  {
    // A small CNN step: gradients flow through cross_entropy, matmul, reshape, max_pool2d, relu and conv2d.
    op: 'cross_entropy',
    id: 'cnn-chain',
    inputs: [{ shape: [2, 1, 6, 6] }, { shape: [3, 1, 3, 3] }, { shape: [3] }, { shape: [12, 4] }, ids([2], 4)],
    torch: 'F.cross_entropy(F.max_pool2d(F.relu(F.conv2d(a, b, c)), 2).reshape(2, 12) @ d, e)',
    call: (R, [x, w, b, fc, t]) => R.cross_entropy(R.matmul(R.reshape(R.max_pool2d(R.relu(R.conv2d(x!, w!, b!)), { kernel_size: 2 }), [2, 12]), fc!), t!),
    fd: { eps: 1e-3 },
  },
  {
    op: 'cross_entropy_loss',
    id: 'reshape-transformer',
    inputs: [ids([2, 3], 4), { shape: [2, 3, 4] }],
    torch: 'F.cross_entropy(b.reshape(6, 4), a.reshape(6))',
    call: (R, [yt, yp]) => R.cross_entropy_loss(yt!, yp!, { reshape_target: [6, 4], reshape_label: [6] }),
  },
  {
    op: 'cross_entropy_loss',
    id: 'onehot-ignore-null',
    inputs: [fixed([5, 3], { init: 'onehot' }), { shape: [5, 3] }],
    torch: 'F.cross_entropy(b, a)',
    call: (R, [yt, yp]) => R.cross_entropy_loss(yt!, yp!, { ignore_index: null }),
  },
  {
    op: 'cross_entropy_loss',
    id: 'ignore-index',
    inputs: [ids([9], 3), { shape: [9, 3] }],
    torch: 'F.cross_entropy(b, a, ignore_index=1)',
    call: (R, [yt, yp]) => R.cross_entropy_loss(yt!, yp!, { ignore_index: 1 }),
  },
  {
    // A softmax output (the seed's models end in softmax): the loss comes from its logits, not softmax twice.
    op: 'cross_entropy_loss',
    id: 'softmax-output',
    inputs: [ids([6], 4), { shape: [6, 4] }],
    torch: 'F.cross_entropy(b, a)',
    call: (R, [yt, yp]) => R.cross_entropy_loss(yt!, R.softmax(yp!, -1)),
  },
  {
    op: 'cross_entropy_loss',
    id: 'softmax-output-reshape',
    inputs: [ids([2, 3], 4), { shape: [2, 3, 4] }],
    torch: 'F.cross_entropy(b.reshape(6, 4), a.reshape(6))',
    call: (R, [yt, yp]) => R.cross_entropy_loss(yt!, R.softmax(yp!), { reshape_target: [6, 4], reshape_label: [6] }),
  },
];

// ---- embedding ----
const embed: OpCase[] = [
  { op: 'embedding', id: 'repeated-ids', inputs: [ids([3, 4], 5), { shape: [5, 3] }], torch: 'F.embedding(a, b)', call: (R, [i, w]) => R.embedding(i!, w!) },
  // fd: false: the padding row's gradient is zero by definition, not by calculus.
  { op: 'embedding', id: 'padding-idx', inputs: [ids([6], 4), { shape: [4, 2] }], torch: 'F.embedding(a, b, padding_idx=1)', call: (R, [i, w]) => R.embedding(i!, w!, { padding_idx: 1 }), fd: false },
];

// ---- dropout: no oracle; statistics, scaling, replay and gradient ----
const P = 0.3;
function dropoutRun(R: RT, x: Tensor): Tensor[] {
  x.requires_grad_(true);
  const y1 = R.dropout(x, { p: P, seed: 5 });
  const y2 = R.dropout(x, { p: P, seed: 5 });
  R.manual_seed(9);
  const y3 = R.dropout(x, { p: P });
  R.manual_seed(9);
  const y4 = R.dropout(x, { p: P });
  const y5 = R.dropout(x, { p: P }); // the stream moved on
  const up = R.randn(x.shape);
  R.sum(R.mul(y1, up)).backward();
  return [x, y1, y2, y3, y4, y5, up, x.grad!];
}
const drop: OpCase[] = [
  {
    op: 'dropout',
    id: 'stats-seed-grad',
    inputs: [{ shape: [20000] }],
    torch: null,
    call: (R, [x]) => dropoutRun(R, x!),
    check: (R, [x, y1, y2, y3, y4, y5, up, gx]) => {
      const xd = x!._data, d = y1!._data, u = up!._data, g = gx!._data;
      let dropped = 0;
      for (let i = 0; i < d.length; i++) {
        const kept = d[i] !== 0;
        if (!kept) dropped++;
        const want = kept ? xd[i]! / (1 - P) : 0;
        assert.ok(Math.abs(d[i]! - want) <= 1e-6 * Math.abs(want), `kept value ${i}: ${d[i]} vs ${want}`);
        const wantG = kept ? u[i]! / (1 - P) : 0;
        assert.ok(Math.abs(g[i]! - wantG) <= 1e-6 * Math.abs(wantG), `gradient ${i}: ${g[i]} vs ${wantG}`);
      }
      assert.ok(Math.abs(dropped / d.length - P) < 0.015, `fraction dropped ${dropped / d.length}, expected ${P}`);
      assert.deepEqual(y2!._data, d, 'the same seed gives the same mask');
      assert.deepEqual(y4!._data, y3!._data, 'manual_seed replays the global stream');
      assert.notDeepEqual(y5!._data, y4!._data, 'the global stream moves on');
      assert.notDeepEqual(y3!._data, d, 'another seed gives another mask');
      assert.throws(() => R.dropout(x!, { p: 1.5 }), (e: Error & { code?: string }) => e.code === 'ERR_ATTR' && /dropout/.test(e.message) && /1\.5/.test(e.message));
    },
  },
  {
    op: 'dropout',
    id: 'identity-and-extremes',
    inputs: [{ shape: [3, 50] }],
    torch: null,
    call: (R, [x]) => [x!, R.dropout(x!, { training: false }), R.dropout(x!, { p: 0 }), R.dropout(x!, { p: 1 })],
    check: (_R, [x, evalY, p0, p1]) => {
      assert.deepEqual(evalY!._data, x!._data, 'training=false is the identity');
      assert.deepEqual(p0!._data, x!._data, 'p=0 is the identity');
      assert.ok(p1!._data.every((v) => v === 0), 'p=1 zeroes everything');
    },
  },
];

export const cases: OpCase[] = [...conv, ...pool, ...norm, ...soft, ...loss, ...embed, ...drop];

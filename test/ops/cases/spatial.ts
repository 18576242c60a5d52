// conv1d, average pooling (avg_pool2d, adaptive_avg_pool2d, global_avg_pool2d) against PyTorch.
import type { InputSpec, OpCase } from '../case.js';

const f = (...shapes: number[][]): InputSpec[] => shapes.map((shape) => ({ shape }));

const conv: OpCase[] = [
  { op: 'conv1d', id: 'bias', inputs: f([2, 3, 9], [4, 3, 3], [4]), torch: 'F.conv1d(a, b, c)', call: (R, [x, w, b]) => R.conv1d(x!, w!, b!) },
  {
    op: 'conv1d',
    id: 'stride-padding-dilation',
    inputs: f([2, 2, 11], [3, 2, 3], [3]),
    torch: 'F.conv1d(a, b, c, stride=2, padding=2, dilation=2)',
    call: (R, [x, w, b]) => R.conv1d(x!, w!, b!, { stride: 2, padding: 2, dilation: 2 }),
  },
  { op: 'conv1d', id: 'no-bias', inputs: f([1, 3, 6], [2, 3, 2]), torch: 'F.conv1d(a, b)', call: (R, [x, w]) => R.conv1d(x!, w!) },
  { op: 'conv1d', id: 'same-even-kernel', inputs: f([2, 2, 7], [3, 2, 4], [3]), torch: "F.conv1d(a, b, c, padding='same')", call: (R, [x, w, b]) => R.conv1d(x!, w!, b!, { padding: 'same' }) },
  { op: 'conv1d', id: 'valid', inputs: f([1, 2, 8], [2, 2, 3]), torch: "F.conv1d(a, b, padding='valid')", call: (R, [x, w]) => R.conv1d(x!, w!, null, { padding: 'valid' }) },
  { op: 'conv1d', id: 'groups', inputs: f([2, 4, 7], [6, 2, 3], [6]), torch: 'F.conv1d(a, b, c, padding=1, groups=2)', call: (R, [x, w, b]) => R.conv1d(x!, w!, b!, { padding: 1, groups: 2 }) },
  { op: 'conv1d', id: 'depthwise', inputs: f([2, 3, 6], [3, 1, 3], [3]), torch: 'F.conv1d(a, b, c, groups=3)', call: (R, [x, w, b]) => R.conv1d(x!, w!, b!, { groups: 3 }) },
  { op: 'conv1d', id: 'unbatched', inputs: f([2, 7], [3, 2, 3], [3]), torch: 'F.conv1d(a, b, c, padding=1)', call: (R, [x, w, b]) => R.conv1d(x!, w!, b!, { padding: 1 }) },
  ...(['reflect', 'replicate', 'circular'] as const).map(
    (mode): OpCase => ({
      op: 'conv1d',
      id: `padding-mode-${mode}`,
      inputs: f([2, 2, 7], [3, 2, 3], [3]),
      torch: `F.conv1d(F.pad(a, (2, 2), mode='${mode}'), b, c, stride=2)`,
      call: (R, [x, w, b]) => R.conv1d(x!, w!, b!, { padding: 2, stride: 2, padding_mode: mode }),
    }),
  ),
];

const avg: OpCase[] = [
  { op: 'avg_pool2d', id: 'kernel', inputs: f([2, 3, 6, 6]), torch: 'F.avg_pool2d(a, 2)', call: (R, [x]) => R.avg_pool2d(x!, { kernel_size: 2 }) },
  { op: 'avg_pool2d', id: 'stride-padding', inputs: f([1, 2, 7, 7]), torch: 'F.avg_pool2d(a, 3, stride=2, padding=1)', call: (R, [x]) => R.avg_pool2d(x!, { kernel_size: 3, stride: 2, padding: 1 }) },
  {
    op: 'avg_pool2d',
    id: 'exclude-pad',
    inputs: f([2, 2, 5, 6]),
    torch: 'F.avg_pool2d(a, 3, stride=2, padding=1, count_include_pad=False)',
    call: (R, [x]) => R.avg_pool2d(x!, { kernel_size: 3, stride: 2, padding: 1, count_include_pad: false }),
  },
  // ceil_mode: the last window hangs over the padded input; its divisor counts only what it covers.
  {
    op: 'avg_pool2d',
    id: 'ceil-mode-padding',
    inputs: f([1, 2, 8, 7]),
    torch: 'F.avg_pool2d(a, 3, stride=2, padding=1, ceil_mode=True)',
    call: (R, [x]) => R.avg_pool2d(x!, { kernel_size: 3, stride: 2, padding: 1, ceil_mode: true }),
  },
  {
    op: 'avg_pool2d',
    id: 'ceil-mode-exclude-pad',
    inputs: f([1, 2, 8, 7]),
    torch: 'F.avg_pool2d(a, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)',
    call: (R, [x]) => R.avg_pool2d(x!, { kernel_size: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false }),
  },
  { op: 'avg_pool2d', id: 'ceil-mode-no-padding', inputs: f([2, 1, 7, 5]), torch: 'F.avg_pool2d(a, 2, ceil_mode=True)', call: (R, [x]) => R.avg_pool2d(x!, { kernel_size: 2, ceil_mode: true }) },
  {
    op: 'avg_pool2d',
    id: 'pairs',
    inputs: f([2, 1, 7, 9]),
    torch: 'F.avg_pool2d(a, (2, 3), stride=(1, 2), padding=(1, 1))',
    call: (R, [x]) => R.avg_pool2d(x!, { kernel_size: [2, 3], stride: [1, 2], padding: [1, 1] }),
  },
  {
    op: 'avg_pool2d',
    id: 'divisor-override',
    inputs: f([1, 2, 6, 6]),
    torch: 'F.avg_pool2d(a, 3, stride=2, padding=1, divisor_override=4)',
    call: (R, [x]) => R.avg_pool2d(x!, { kernel_size: 3, stride: 2, padding: 1, divisor_override: 4 }),
  },
  { op: 'avg_pool2d', id: 'unbatched', inputs: f([3, 5, 4]), torch: 'F.avg_pool2d(a, 2)', call: (R, [x]) => R.avg_pool2d(x!, { kernel_size: 2 }) },
];

const adaptive: OpCase[] = [
  { op: 'adaptive_avg_pool2d', id: 'global', inputs: f([2, 3, 5, 4]), torch: 'F.adaptive_avg_pool2d(a, 1)', call: (R, [x]) => R.adaptive_avg_pool2d(x!, 1) },
  // 7 -> 3 and 5 -> 2: overlapping windows of uneven sizes.
  { op: 'adaptive_avg_pool2d', id: 'uneven', inputs: f([2, 2, 7, 5]), torch: 'F.adaptive_avg_pool2d(a, (3, 2))', call: (R, [x]) => R.adaptive_avg_pool2d(x!, [3, 2]) },
  { op: 'adaptive_avg_pool2d', id: 'upsample-keep', inputs: f([1, 2, 3, 6]), torch: 'F.adaptive_avg_pool2d(a, (5, None))', call: (R, [x]) => R.adaptive_avg_pool2d(x!, [5, null]) },
  { op: 'adaptive_avg_pool2d', id: 'unbatched', inputs: f([3, 6, 6]), torch: 'F.adaptive_avg_pool2d(a, 2)', call: (R, [x]) => R.adaptive_avg_pool2d(x!, 2) },
  { op: 'global_avg_pool2d', id: 'flat', inputs: f([2, 3, 4, 5]), torch: 'F.adaptive_avg_pool2d(a, 1).flatten(1)', call: (R, [x]) => R.global_avg_pool2d(x!) },
  { op: 'global_avg_pool2d', id: 'keepdims', inputs: f([2, 3, 4, 5]), torch: 'F.adaptive_avg_pool2d(a, 1)', call: (R, [x]) => R.global_avg_pool2d(x!, { keepdims: true }) },
];

export const cases: OpCase[] = [...conv, ...avg, ...adaptive];

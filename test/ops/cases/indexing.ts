// Cases of the joining, slicing, padding and indexing ops (lib/ops/join.ts, lib/ops/indexing.ts).
import type { InputSpec, OpCase } from '../case.js';

const f = (...shapes: number[][]): InputSpec[] => shapes.map((shape) => ({ shape }));
const i32 = (shape: number[], low: number, high: number): InputSpec => ({ shape, dtype: 'int32', low, high });

/** One pad case per (mode, number of trailing dims): ravdl's dim-order pairs vs torch's last-dim-first flat list. */
function padCase(mode: 'constant' | 'reflect' | 'replicate' | 'circular', shape: number[], pairs: [number, number][], tag = ''): OpCase {
  const torchPads = pairs.slice().reverse().flat().join(', ');
  return {
    op: 'pad',
    id: `${mode}-${pairs.length}d${tag}`,
    inputs: f(shape),
    torch: `F.pad(a, (${torchPads}), mode='${mode}')`,
    call: (R, [a]) => R.pad(a!, pairs, { mode }),
  };
}

export const cases: OpCase[] = [
  // ---- concat / stack ----
  { op: 'concat', id: 'two-axis0', inputs: f([2, 3], [4, 3]), torch: 'torch.cat([a, b], 0)', call: (R, [a, b]) => R.concat([a!, b!]) },
  { op: 'concat', id: 'three-axis1', inputs: f([2, 1, 4], [2, 3, 4], [2, 2, 4]), torch: 'torch.cat([a, b, c], 1)', call: (R, [a, b, c]) => R.concat([a!, b!, c!], 1) },
  { op: 'concat', id: 'three-negative-axis', inputs: f([2, 3, 1], [2, 3, 2], [2, 3, 3]), torch: 'torch.cat([a, b, c], -1)', call: (R, [a, b, c]) => R.concat([a!, b!, c!], -1) },
  { op: 'concat', id: 'constant-and-leaf', inputs: [{ shape: [3], grad: false }, { shape: [2] }], torch: 'torch.cat([a, b])', call: (R, [a, b]) => R.concat([a!, b!]) },
  { op: 'concat', id: 'int32', inputs: [i32([2, 2], -9, 9), i32([2, 3], -9, 9)], torch: 'torch.cat([a, b], 1)', call: (R, [a, b]) => R.concat([a!, b!], 1) },
  { op: 'stack', id: 'axis0', inputs: f([2, 3], [2, 3]), torch: 'torch.stack([a, b])', call: (R, [a, b]) => R.stack([a!, b!]) },
  { op: 'stack', id: 'three-negative-axis', inputs: f([2, 3], [2, 3], [2, 3]), torch: 'torch.stack([a, b, c], -1)', call: (R, [a, b, c]) => R.stack([a!, b!, c!], -1) },
  { op: 'stack', id: 'int32-middle', inputs: [i32([2, 2], 0, 9), i32([2, 2], 0, 9)], torch: 'torch.stack([a, b], 1)', call: (R, [a, b]) => R.stack([a!, b!], 1) },

  // ---- split ----
  { op: 'split', id: 'sections', inputs: f([2, 6]), torch: 'torch.chunk(a, 3, 1)', call: (R, [a]) => R.split(a!, 3, 1) },
  { op: 'split', id: 'sizes', inputs: f([5, 2]), torch: 'torch.split(a, [1, 3, 1], 0)', call: (R, [a]) => R.split(a!, [1, 3, 1]) },
  { op: 'split', id: 'zero-size-piece', inputs: f([4, 2]), torch: 'torch.split(a, [0, 4], 0)', call: (R, [a]) => R.split(a!, [0, 4]) },
  // Only pieces 0 and 2 reach the loss: piece 1's gradient is zeros.
  { op: 'split', id: 'unused-piece', inputs: f([2, 3, 6]), torch: 'torch.split(a, [2, 1, 3], -1)[::2]', call: (R, [a]) => R.split(a!, [2, 1, 3], -1).filter((_, k) => k !== 1) },
  { op: 'split', id: 'int32', inputs: [i32([4, 2], -5, 5)], torch: 'torch.chunk(a, 2, 0)', call: (R, [a]) => R.split(a!, 2) },

  // ---- slice ----
  { op: 'slice', id: 'negative', inputs: f([5, 4]), torch: 'a[-3:-1, 1:]', call: (R, [a]) => R.slice(a!, [-3, 1], [-1, null]) },
  { op: 'slice', id: 'steps', inputs: f([6, 7]), torch: 'a[::2, 1::3]', call: (R, [a]) => R.slice(a!, [0, 1], [null, null], { steps: [2, 3] }) },
  { op: 'slice', id: 'clamp', inputs: f([4, 5]), torch: 'a[1:100, -100:2]', call: (R, [a]) => R.slice(a!, [1, -100], [100, 2]) },
  { op: 'slice', id: 'axes', inputs: f([2, 3, 6]), torch: 'a[..., -4:5:2]', call: (R, [a]) => R.slice(a!, [-4], [5], { axes: [-1], steps: [2] }) },
  { op: 'slice', id: 'empty', inputs: f([4, 3]), torch: 'a[3:1]', call: (R, [a]) => R.slice(a!, [3], [1]) },
  { op: 'slice', id: 'method', inputs: f([3, 4, 5]), torch: 'a[:, 1:3, -2:]', call: (_R, [a]) => a!.slice([1, -2], [3, null], { axes: [1, 2] }) },
  { op: 'slice', id: 'int32', inputs: [i32([5, 3], -9, 9)], torch: 'a[1:5:2]', call: (R, [a]) => R.slice(a!, [1], [5], { steps: [2] }) },

  // ---- pad: every mode on 1, 2 and 3 trailing dims, asymmetric ----
  padCase('constant', [2, 3, 5], [[2, 1]]),
  padCase('constant', [1, 2, 4, 5], [[0, 3], [1, 2]]),
  padCase('constant', [1, 2, 3, 4, 5], [[1, 0], [2, 1], [0, 2]]),
  padCase('reflect', [2, 3, 5], [[3, 1]]),
  padCase('reflect', [1, 2, 4, 5], [[2, 0], [1, 3]]),
  padCase('reflect', [1, 2, 3, 4, 5], [[1, 2], [0, 3], [2, 1]]),
  padCase('replicate', [2, 3, 4], [[1, 3]]),
  padCase('replicate', [1, 2, 3, 4], [[2, 1], [0, 2]]),
  padCase('replicate', [1, 1, 2, 3, 4], [[1, 0], [2, 1], [1, 3]]),
  padCase('circular', [2, 3, 5], [[2, 4]]),
  padCase('circular', [1, 2, 4, 5], [[1, 3], [2, 0]]),
  padCase('circular', [1, 1, 3, 4, 5], [[1, 2], [0, 3], [2, 1]]),
  // Negative pads crop (torch's F.pad): alone, mixed with padding on the other side or dim,
  // and cropping a dim away entirely (constant, circular).
  ...(['constant', 'reflect', 'replicate', 'circular'] as const).flatMap((mode) => [
    padCase(mode, [2, 3, 5], [[-1, 2]], '-crop-before'),
    padCase(mode, [2, 3, 5], [[2, -3]], '-crop-after'),
    padCase(mode, [1, 2, 4, 5], [[1, -1], [-2, -1]], '-crop-mixed'),
    padCase(mode, [1, 2, 4, 5], [[-3, 1], [0, -4]], '-crop-deep'),
  ]),
  padCase('constant', [2, 3, 4], [[-3, -1]], '-crop-all'),
  padCase('circular', [1, 2, 4, 3], [[-2, -2], [1, 0]], '-crop-all'),
  { op: 'pad', id: 'constant-value', inputs: f([2, 3]), torch: 'F.pad(a, (1, 2, 0, 1), value=1.5)', call: (R, [a]) => R.pad(a!, [[0, 1], [1, 2]], { value: 1.5 }) },
  { op: 'pad', id: 'method-default', inputs: f([4]), torch: 'F.pad(a, (2, 1))', call: (_R, [a]) => a!.pad([[2, 1]]) },

  // ---- tile / repeat ----
  { op: 'tile', id: 'same-rank', inputs: f([2, 3]), torch: 'torch.tile(a, (2, 3))', call: (R, [a]) => R.tile(a!, [2, 3]) },
  { op: 'tile', id: 'short-reps', inputs: f([2, 3]), torch: 'torch.tile(a, (2,))', call: (R, [a]) => R.tile(a!, 2) },
  { op: 'tile', id: 'long-reps', inputs: f([3]), torch: 'torch.tile(a, (2, 1, 2))', call: (R, [a]) => R.tile(a!, [2, 1, 2]) },
  { op: 'tile', id: 'zero-reps', inputs: f([2, 2]), torch: 'torch.tile(a, (0, 1))', call: (R, [a]) => R.tile(a!, [0, 1]) },
  { op: 'tile', id: 'int32', inputs: [i32([2, 2], -9, 9)], torch: 'torch.tile(a, (3, 2))', call: (R, [a]) => R.tile(a!, [3, 2]) },
  { op: 'tile', id: 'int32-zero-reps', inputs: [i32([2, 2], -9, 9)], torch: 'torch.tile(a, (2, 0))', call: (R, [a]) => R.tile(a!, [2, 0]) },
  { op: 'repeat', id: 'flat', inputs: f([2, 3]), torch: 'torch.repeat_interleave(a, 2)', call: (R, [a]) => R.repeat(a!, 2) },
  { op: 'repeat', id: 'axis', inputs: f([2, 3, 2]), torch: 'torch.repeat_interleave(a, 3, dim=1)', call: (R, [a]) => R.repeat(a!, 3, 1) },
  { op: 'repeat', id: 'counts', inputs: f([3, 2]), torch: 'torch.repeat_interleave(a, torch.tensor([1, 0, 2]), dim=0)', call: (R, [a]) => R.repeat(a!, [1, 0, 2], 0) },
  // Empty tensors with huge repeats: empty results, no index lists sized by the repeats.
  { op: 'repeat', id: 'counts-empty-x', inputs: f([2, 0]), torch: 'torch.repeat_interleave(a, torch.tensor([3, 2 ** 26]), dim=0)', call: (R, [a]) => R.repeat(a!, [3, 2 ** 26], 0) },
  { op: 'tile', id: 'int32-empty-huge-reps', inputs: [i32([0, 2], 0, 9)], torch: 'torch.tile(a, (1, 2 ** 26))', call: (R, [a]) => R.tile(a!, [1, 2 ** 26]) },
  { op: 'repeat', id: 'counts-negative-axis', inputs: f([2, 3]), torch: 'torch.repeat_interleave(a, torch.tensor([2, 1, 3]), dim=-1)', call: (R, [a]) => R.repeat(a!, [2, 1, 3], -1) },
  { op: 'repeat', id: 'int32', inputs: [i32([2, 2], -9, 9)], torch: 'torch.repeat_interleave(a, 2, dim=0)', call: (R, [a]) => R.repeat(a!, 2, 0) },
  { op: 'repeat', id: 'int32-counts', inputs: [i32([2, 3], -9, 9)], torch: 'torch.repeat_interleave(a, torch.tensor([0, 2, 1]), dim=1)', call: (R, [a]) => R.repeat(a!, [0, 2, 1], 1) },

  // ---- gather ----
  { op: 'gather', id: 'axis0', inputs: [{ shape: [5, 3] }, i32([4], 0, 5)], torch: 'torch.index_select(a, 0, b)', call: (R, [a, b]) => R.gather(a!, b!) },
  // 8 indices into 5 rows repeat some row: its gradient accumulates.
  { op: 'gather', id: 'middle-axis-repeated', inputs: [{ shape: [2, 5, 3] }, i32([8], 0, 5)], torch: 'torch.index_select(a, 1, b)', call: (R, [a, b]) => R.gather(a!, b!, 1) },
  { op: 'gather', id: 'constant-repeats', inputs: f([4, 3]), torch: 'torch.index_select(a, 0, torch.tensor([3, 3, 0, 3]))', call: (R, [a]) => R.gather(a!, [3, 3, 0, 3]) },
  { op: 'gather', id: 'last-axis', inputs: [{ shape: [2, 3, 4] }, i32([6], 0, 4)], torch: 'torch.index_select(a, -1, b)', call: (R, [a, b]) => R.gather(a!, b!, -1) },
  { op: 'gather', id: 'nd-indices', inputs: [{ shape: [3, 4, 2] }, i32([2, 3], 0, 4)], torch: 'a[:, b]', call: (R, [a, b]) => R.gather(a!, b!, 1) },
  { op: 'gather', id: 'int32-middle', inputs: [i32([3, 4, 2], -5, 5), i32([5], 0, 4)], torch: 'torch.index_select(a, 1, b)', call: (R, [a, b]) => R.gather(a!, b!, 1) },
  // int32 values whose bits are signaling NaNs as float32 must come through unchanged.
  // A 0-d x is one element along axis 0 / -1 (torch.gather on a 0-d tensor).
  { op: 'gather', id: '0d-x-1d-indices', inputs: [{ shape: [] }, i32([3], 0, 1)], torch: 'torch.gather(a, 0, b)', call: (R, [a, b]) => R.gather(a!, b!, 0) },
  { op: 'gather', id: '0d-x-0d-index', inputs: [{ shape: [] }, i32([], 0, 1)], torch: 'torch.gather(a, -1, b)', call: (R, [a, b]) => R.gather(a!, b!, -1) },
  { op: 'gather', id: 'int32-nan-bits', inputs: [i32([4, 3], 2139095041, 2139095100), i32([6], 0, 4)], torch: 'torch.index_select(a, 0, b)', call: (R, [a, b]) => R.gather(a!, b!) },

  // ---- one_hot_encoding ----
  { op: 'one_hot_encoding', id: 'basic', inputs: [i32([5], 0, 4)], torch: 'F.one_hot(a, 4).double()', call: (R, [a]) => R.one_hot_encoding(a!, 4) },
  { op: 'one_hot_encoding', id: '2d-wider-depth', inputs: [i32([2, 3], 0, 3)], torch: 'F.one_hot(a, 6).double()', call: (R, [a]) => R.one_hot_encoding(a!, 6) },
];

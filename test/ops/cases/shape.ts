import type { OpCase } from '../case.js';

const x = (shape: number[]) => [{ shape }];

export const cases: OpCase[] = [
  { op: 'reshape', id: 'infer', inputs: x([2, 3, 4]), torch: 'a.reshape(4, -1)', call: (R, [a]) => R.reshape(a!, [4, -1]) },
  { op: 'flatten', id: 'default', inputs: x([2, 3, 4]), torch: 'torch.flatten(a)', call: (R, [a]) => R.flatten(a!) },
  { op: 'flatten', id: 'from-1', inputs: x([2, 3, 4]), torch: 'torch.flatten(a, 1)', call: (R, [a]) => R.flatten(a!, 1) },
  { op: 'expand_dims', id: 'middle', inputs: x([2, 3]), torch: 'a.unsqueeze(1)', call: (R, [a]) => R.expand_dims(a!, 1) },
  { op: 'squeeze', id: 'all', inputs: x([1, 3, 1, 2]), torch: 'a.squeeze()', call: (R, [a]) => R.squeeze(a!) },
  { op: 'squeeze', id: 'axis', inputs: x([1, 3, 1, 2]), torch: 'a.squeeze(2)', call: (R, [a]) => R.squeeze(a!, 2) },
  { op: 'permute', id: '3d', inputs: x([2, 3, 4]), torch: 'a.permute(2, 0, 1)', call: (R, [a]) => R.permute(a!, [2, 0, 1]) },
  { op: 'transpose', id: 'reverse', inputs: x([2, 3, 4]), torch: 'a.permute(2, 1, 0)', call: (R, [a]) => R.transpose(a!) },
  { op: 'transpose', id: 'axes', inputs: x([2, 3, 4]), torch: 'a.permute(0, 2, 1)', call: (R, [a]) => R.transpose(a!, [0, 2, 1]) },
  { op: 'swapaxes', id: 'basic', inputs: x([2, 3, 4]), torch: 'a.transpose(0, 2)', call: (R, [a]) => R.swapaxes(a!, 0, 2) },
  // A 0-d tensor is one element along axis 0 / -1 (PyTorch's rule).
  { op: 'squeeze', id: '0d-axis0', inputs: x([]), torch: 'a.squeeze(0)', call: (R, [a]) => R.squeeze(a!, 0) },
  { op: 'squeeze', id: '0d-axis-1-list', inputs: x([]), torch: 'a.squeeze(-1)', call: (R, [a]) => R.squeeze(a!, [-1]) },
  { op: 'swapaxes', id: '0d', inputs: x([]), torch: 'a.transpose(0, -1)', call: (R, [a]) => R.swapaxes(a!, 0, -1) },
  { op: 'transpose', id: '0d', inputs: x([]), torch: 'a.t()', call: (R, [a]) => R.transpose(a!) },
  { op: 'astype', id: 'to-int', inputs: [{ shape: [6], init: 'uniform', low: -5, high: 5, grad: false }], torch: 'a.int()', call: (R, [a]) => R.astype(a!, 'int32'), grad: false },
  { op: 'astype', id: 'to-float', inputs: [{ shape: [5], dtype: 'int32', low: -3, high: 9 }], torch: 'a.double()', call: (R, [a]) => R.astype(a!, 'float32') },
];

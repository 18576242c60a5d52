import type { OpCase } from '../case.js';

const x = (shape: number[]) => [{ shape }];

export const cases: OpCase[] = [
  { op: 'sum', id: 'all', inputs: x([3, 4]), torch: 'a.sum()', call: (R, [a]) => R.sum(a!) },
  { op: 'sum', id: 'axes-keepdims', inputs: x([2, 3, 4]), torch: 'a.sum(dim=(0, 2), keepdim=True)', call: (R, [a]) => R.sum(a!, [0, 2], true) },
  { op: 'sum', id: 'negative-axis', inputs: x([2, 3, 4]), torch: 'a.sum(-1)', call: (R, [a]) => R.sum(a!, -1) },
  { op: 'mean', id: 'all', inputs: x([3, 4]), torch: 'a.mean()', call: (R, [a]) => R.mean(a!) },
  { op: 'mean', id: 'axes', inputs: x([2, 3, 4]), torch: 'a.mean(dim=(1, 2))', call: (R, [a]) => R.mean(a!, [1, 2]) },
  { op: 'max', id: 'axis', inputs: x([3, 5]), torch: 'a.amax(1)', call: (R, [a]) => R.max(a!, 1) },
  { op: 'max', id: 'all', inputs: x([4, 3]), torch: 'a.amax()', call: (R, [a]) => R.max(a!) },
  { op: 'min', id: 'axes-keepdims', inputs: x([2, 3, 4]), torch: 'a.amin(dim=(0, 1), keepdim=True)', call: (R, [a]) => R.min(a!, [0, 1], true) },
  { op: 'prod', id: 'axis', inputs: x([3, 4]), torch: 'a.prod(1)', call: (R, [a]) => R.prod(a!, 1) },
  {
    op: 'prod',
    id: 'zeros',
    inputs: x([3, 4]),
    // Row 0 gets one zero, row 1 two zeros: gradients follow torch's zero handling.
    torch: 'torch.cat([a[0:1, :1] * 0, a[0:1, 1:], a[1:2, :2] * 0, a[1:2, 2:], a[2:]], 1).reshape(3, 4).prod(1) if False else (a * torch.tensor([[0., 1, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1]], dtype=torch.float64)).prod(1)',
    call: (R, [a]) => R.prod(R.mul(a!, R.t([[0, 1, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1]])), 1),
    fd: false,
  },
  { op: 'variance', id: 'axis-unbiased', inputs: x([3, 5]), torch: 'a.var(1)', call: (R, [a]) => R.variance(a!, 1) },
  { op: 'variance', id: 'all-biased', inputs: x([3, 4]), torch: 'a.var(unbiased=False)', call: (R, [a]) => R.variance(a!, null, false, 0) },
  { op: 'std', id: 'axes', inputs: x([2, 3, 4]), torch: 'a.std(dim=(0, 2), keepdim=True)', call: (R, [a]) => R.std(a!, [0, 2], true) },
  { op: 'argmax', id: 'axis', inputs: x([3, 5]), torch: 'a.argmax(1).int()', call: (R, [a]) => R.argmax(a!, 1) },
  { op: 'argmax', id: 'flat', inputs: x([3, 5]), torch: 'a.argmax().int()', call: (R, [a]) => R.argmax(a!) },
  { op: 'argmin', id: 'axis-keepdims', inputs: x([3, 5]), torch: 'a.argmin(0, keepdim=True).int()', call: (R, [a]) => R.argmin(a!, 0, true) },

  // ---- a 0-d tensor is one element along axis 0 / -1 (PyTorch's rule) ----
  { op: 'sum', id: '0d-axis0', inputs: x([]), torch: 'a.sum(0)', call: (R, [a]) => R.sum(a!, 0) },
  { op: 'sum', id: '0d-axis-1-keepdims', inputs: x([]), torch: 'a.sum(-1, keepdim=True)', call: (R, [a]) => R.sum(a!, -1, true) },
  { op: 'sum', id: '0d-axes-list', inputs: x([]), torch: 'a.sum([0])', call: (R, [a]) => R.sum(a!, [0]) },
  { op: 'mean', id: '0d-axis0', inputs: x([]), torch: 'a.mean(0)', call: (R, [a]) => R.mean(a!, 0) },
  { op: 'max', id: '0d-axis-1', inputs: x([]), torch: 'a.amax(-1)', call: (R, [a]) => R.max(a!, -1) },
  { op: 'min', id: '0d-axis0-keepdims', inputs: x([]), torch: 'a.amin(0, keepdim=True)', call: (R, [a]) => R.min(a!, 0, true) },
  { op: 'prod', id: '0d-axis0', inputs: x([]), torch: 'a.prod(0)', call: (R, [a]) => R.prod(a!, 0) },
  // n = 1: the unbiased variance is 0/0 = NaN (value and gradient), the biased one 0. (torch
  // 1.13 gives the 0-d var a gradient of inf but the same element as a [1] tensor NaN: we
  // follow the [1] tensor, so the oracle is written with reshape(1).)
  { op: 'variance', id: '0d-unbiased-nan', inputs: x([]), torch: 'a.reshape(1).var(0)', call: (R, [a]) => R.variance(a!, 0), fd: false },
  { op: 'variance', id: '0d-biased', inputs: x([]), torch: 'a.var(-1, unbiased=False)', call: (R, [a]) => R.variance(a!, -1, false, 0) },
  { op: 'std', id: '0d-unbiased-nan', inputs: x([]), torch: 'a.std(0)', call: (R, [a]) => R.std(a!, 0), fd: false },
  { op: 'argmax', id: '0d-axis0', inputs: x([]), torch: 'a.argmax(0).int()', call: (R, [a]) => R.argmax(a!, 0) },
  { op: 'argmin', id: '0d-axis-1-keepdims', inputs: x([]), torch: 'a.argmin(-1, keepdim=True).int()', call: (R, [a]) => R.argmin(a!, -1, true) },
];

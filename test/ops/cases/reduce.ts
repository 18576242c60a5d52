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
];

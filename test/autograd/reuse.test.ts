// Gradients that flow into a tensor from several consumers must add up: an intermediate used
// twice, a residual connection, a shared layer, both outputs of a multi-output op.
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { Dense } from '../../lib/v2/layers/index.js';

const arr = (t: R.Tensor) => t.toArray() as number[];
const close = (got: number[], want: number[], digits = 5) => got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, digits));

describe('gradients from several consumers add up', () => {
  it('an intermediate used twice by one op: h = 2a; sum(h + h)', () => {
    const a = R.t([1, 2, 3], { requires_grad: true });
    const h = R.mul(a, 2);
    R.sum(R.add(h, h)).backward();
    expect(arr(a.grad!)).toEqual([4, 4, 4]);
  });

  it('an intermediate used by three different ops: h = exp(a); sum(h*h + h) + mean(h)', () => {
    const av = [0.5, -1, 0.25];
    const a = R.t(av, { requires_grad: true });
    const h = R.exp(a);
    R.add(R.sum(R.add(R.mul(h, h), h)), R.mean(h)).backward();
    close(arr(a.grad!), av.map((v) => (2 * Math.exp(v) + 1 + 1 / 3) * Math.exp(v)));
  });

  it('consumers at different depths: h = 3a; k = h*h; sum(k + h)', () => {
    const a = R.t([1, -2], { requires_grad: true });
    const h = R.mul(a, 3);
    R.sum(R.add(R.mul(h, h), h)).backward();
    expect(arr(a.grad!)).toEqual([1, -2].map((v) => 3 * (2 * 3 * v + 1)));
  });

  it('a residual connection: y = x + relu(x * w)', () => {
    const x = R.t([1, -1, 2], { requires_grad: true });
    const w = R.t([2, 3, -1], { requires_grad: true });
    const h = R.mul(x, 2); // an intermediate feeding both branches
    R.sum(R.add(h, R.relu(R.mul(h, w)))).backward();
    // d/dx = 2 * (1 + w * [h*w > 0]); d/dw = h * [h*w > 0]
    expect(arr(x.grad!)).toEqual([2 * (1 + 2), 2 * (1 + 0), 2 * (1 + 0)]);
    expect(arr(w.grad!).map((v) => v + 0)).toEqual([2, 0, 0]); // + 0 turns -0 into 0
  });

  it('a layer applied twice shares its weight gradient: d(sum(W W x))/dW = 1 (Wx)^T + W^T 1 x^T', () => {
    const dense = new Dense(2, { input_shape: [2], initial_W: [[1, 2], [3, 4]], use_bias: false });
    const x = R.t([[1, -1]]);
    R.sum(dense._forward_pass(dense._forward_pass(x))).backward();
    const W = [[1, 2], [3, 4]];
    const Wx = [W[0]![0]! - W[0]![1]!, W[1]![0]! - W[1]![1]!]; // [-1, -1]
    const colSums = [W[0]![0]! + W[1]![0]!, W[0]![1]! + W[1]![1]!]; // W^T 1 = [4, 6]
    const xs = [1, -1];
    const want = [0, 1].map((i) => [0, 1].map((j) => Wx[j]! + colSums[i]! * xs[j]!));
    const params = new Map(dense.parameters());
    const W_ = [...params.entries()].find(([k]) => k.endsWith('W'))![1];
    expect(W_.grad!.toArray()).toEqual(want);
  });

  it('both outputs of a multi-output op: [p, q] = split(h); sum(p * q)', () => {
    const a = R.t([1, 2, 3, 4], { requires_grad: true });
    const h = R.mul(a, 1);
    const [p, q] = R.split(h, 2, 0);
    R.sum(R.mul(p!, q!)).backward();
    expect(arr(a.grad!)).toEqual([3, 4, 1, 2]);
  });

  it('two backward passes through a shared intermediate (retain_graph) accumulate', () => {
    const a = R.t([2], { requires_grad: true });
    const h = R.mul(a, a);
    const l1 = R.sum(R.mul(h, 3));
    const l2 = R.sum(R.add(h, h));
    l1.backward(null, { retain_graph: true });
    l2.backward();
    expect(a.grad!.item()).toBe(3 * 4 + 2 * 4);
  });
});

// Disposing a tensor (directly or by tidy) never cuts a gradient: the tape keeps what backward()
// needs and releases it as soon as backward() (or the scope that sees the graph is unreachable)
// frees the op that held it.
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { Dense } from '../../lib/v2/layers/index.js';
import { Functional } from '../../lib/v2/index.js';
import { SGD } from '../../lib/v2/optimizers/index.js';

const live = () => R.memory().tensors;

describe('tape retention across dispose() and tidy()', () => {
  it('a loss returned from tidy() back-propagates to its leaves', () => {
    const a = R.t([1, 2, 3], { requires_grad: true });
    const l = R.tidy(() => R.sum(R.mul(R.relu(a), a)));
    l.backward();
    expect(a.grad!.toArray()).toEqual([2, 4, 6]);
  });

  it('nested scopes: the graph survives every level it is returned through', () => {
    const a = R.t([1, -2], { requires_grad: true });
    const l = R.tidy(() => R.tidy(() => R.sum(R.mul(R.tidy(() => R.tanh(R.mul(a, 2))), 3))));
    l.backward();
    const expected = [1, -2].map((v) => 6 * (1 - Math.tanh(2 * v) ** 2));
    (a.grad!.toArray() as number[]).forEach((g, i) => expect(g).toBeCloseTo(expected[i]!, 5));
  });

  it('a disposed intermediate is unusable, still feeds backward, and is released by it', () => {
    const b = R.t([1, 2], { requires_grad: true });
    const h = R.mul(b, 2);
    const l = R.sum(R.mul(h, h)); // d/db = 8b
    h.dispose();
    expect(h.isDisposed).toBe(true);
    expect(() => h.toArray()).toThrow(R.DisposedError);
    expect(() => R.add(h, 1)).toThrow(R.DisposedError);
    expect(h._storage).not.toBeNull(); // held by the tape
    l.backward();
    expect(b.grad!.toArray()).toEqual([8, 16]);
    expect(h._storage).toBeNull(); // released with the last op that held it
  });

  it('the intermediates of a returned loss are released by backward(), not left to the collector', () => {
    const a = R.t([0.5, -1, 2], { requires_grad: true });
    const before = live();
    const l = R.tidy(() => R.mean(R.sigmoid(R.mul(R.exp(a), a))));
    expect(live()).toBeGreaterThan(before + 1); // exp, mul, sigmoid outputs wait for backward
    l.backward();
    // What remains: the loss and a.grad.
    expect(live()).toBe(before + 2);
  });

  it('a scope frees at once the nodes nothing it returns can reach', () => {
    const a = R.t([1, 2, 3, 4], { requires_grad: true });
    const before = live();
    const pooled = R.memory().pooledBytes;
    const v = R.tidy(() => R.sum(R.relu(R.mul(a, 3))).item());
    expect(v).toBe(30);
    expect(live()).toBe(before);
    expect(R.memory().pooledBytes).toBeGreaterThan(pooled);
  });

  it('retain_graph keeps a tidy-returned graph for a second backward; without it the second one is refused', () => {
    const a = R.t([3], { requires_grad: true });
    const l = R.tidy(() => R.sum(R.mul(R.mul(a, a), 2)));
    l.backward(null, { retain_graph: true });
    l.backward();
    expect(a.grad!.item()).toBe(24);
    expect(() => l.backward()).toThrow(/already freed/);
  });

  it('backward() of a disposed tensor is a DisposedError', () => {
    const a = R.t([3], { requires_grad: true });
    const l = R.sum(R.mul(a, a));
    l.dispose();
    expect(() => l.backward()).toThrow(R.DisposedError);
  });

  it('a scope that throws disposes what it created', () => {
    const before = live();
    expect(() =>
      R.tidy(() => {
        R.mul(R.ones([8]), 2);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(live()).toBe(before);
  });

  it("the seed's Functional loop releases each step's intermediates at _backward_pass, with no garbage collection", () => {
    class Net extends Functional {
      d1 = new Dense(16, { input_shape: [4] });
      d2 = new Dense(16);
      d3 = new Dense(2);
      constructor() {
        super();
        this.initialize_params(new SGD({ lr: 0.01 }));
      }
      _forward_pass_call(x: R.Tensor, training: boolean): R.Tensor {
        const h = R.tanh(this.d1._forward_pass(x, training));
        return this.d3._forward_pass(R.relu(this.d2._forward_pass(h, training)), training);
      }
    }
    R.manual_seed(1);
    const model = new Net();
    const X = R.randn([8, 4]);
    const y = R.randn([8, 2]);
    const step = () => {
      const out = model._forward_pass(X);
      model._backward_pass(R.square_loss(y, out));
    };
    step();
    const start = live();
    const steps = 20;
    for (let i = 0; i < steps; i++) step();
    // A synchronous loop runs no finalizers: what a step leaves is what it really held on to.
    // The caller drops out and the loss (and the loss's seed); forward and backward made ~40 tensors.
    expect((live() - start) / steps).toBeLessThanOrEqual(4);
  });
});

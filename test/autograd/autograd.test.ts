import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';

describe('autograd', () => {
  it('fills .grad of leaves; a tensor used twice gets both contributions', () => {
    const x = R.t([1, 2, 3], { requires_grad: true });
    const y = R.add(R.mul(x, x), R.mul(x, 3)).sum(); // d/dx = 2x + 3
    y.backward();
    expect(x.grad!.toArray()).toEqual([5, 7, 9]);
  });
  it('accumulates across backward calls until zeroed', () => {
    const w = R.t([2], { requires_grad: true });
    R.mul(w, 3).sum().backward();
    R.mul(w, 3).sum().backward();
    expect(w.grad!.toArray()).toEqual([6]);
    w.grad = null;
    R.mul(w, 3).sum().backward();
    expect(w.grad!.toArray()).toEqual([3]);
  });
  it('undoes broadcasting in gradients', () => {
    const a = R.t([[1, 2, 3], [4, 5, 6]], { requires_grad: true });
    const b = R.t([10, 20, 30], { requires_grad: true });
    const c = R.t(2, { requires_grad: true });
    R.mul(R.add(a, b), c).sum().backward();
    expect(a.grad!.toArray()).toEqual([[2, 2, 2], [2, 2, 2]]);
    expect(b.grad!.toArray()).toEqual([4, 4, 4]);
    expect(c.grad!.item()).toBe(21 + 120);
  });
  it('no_grad records nothing; detach cuts the tape', () => {
    const x = R.t([1, 2], { requires_grad: true });
    const y = R.no_grad(() => R.mul(x, 2));
    expect(y.requires_grad).toBe(false);
    expect(y.grad_fn).toBeNull();
    const z = R.mul(x.detach(), x).sum();
    z.backward();
    expect(x.grad!.toArray()).toEqual([1, 2]);
  });
  it('needs a gradient for non-scalar outputs and refuses a freed tape', () => {
    const x = R.t([1, 2], { requires_grad: true });
    const y = R.mul(x, 2);
    expect(() => y.backward()).toThrow(R.GradError);
    y.backward(R.t([1, 10]), { retain_graph: true });
    expect(x.grad!.toArray()).toEqual([2, 20]);
    y.backward(R.t([1, 1]));
    expect(x.grad!.toArray()).toEqual([4, 22]);
    expect(() => y.backward(R.t([1, 1]))).toThrow(/already freed/);
    expect(() => R.t([1]).backward()).toThrow(/does not require grad/);
    expect(() => R.t([1], { dtype: 'int32' }).requires_grad_()).toThrow(R.GradError);
  });
  it('backward dispatches only catalog ops, and every gradient is one of their outputs', () => {
    const x = R.t([[1, -2], [3, 4]], { requires_grad: true });
    const w = R.t([[0.5], [-1]], { requires_grad: true });
    const loss = R.mean(R.sigmoid(R.matmul(R.relu(x), w)));
    const dispatched: string[] = [];
    const outputs = new Set<R.Tensor>();
    const stop = R.onDispatch((op, _i, outs) => {
      dispatched.push(op.name);
      outs.forEach((o) => outputs.add(o));
    });
    loss.backward();
    stop();
    expect(dispatched.length).toBeGreaterThan(0);
    for (const name of dispatched) expect(R.ops().has(name), name).toBe(true);
    expect(dispatched).toContain('sigmoid_backward');
    expect(dispatched).toContain('relu_backward');
    expect(outputs.has(x.grad!)).toBe(true);
    expect(outputs.has(w.grad!)).toBe(true);
  });
  it('handles deep chains without overflowing the stack', () => {
    const x = R.t([1], { requires_grad: true });
    let y: R.Tensor = x;
    for (let i = 0; i < 20000; i++) y = R.add(y, 0);
    y.sum().backward();
    expect(x.grad!.toArray()).toEqual([1]);
  });
  it('leaf gradients survive the tidy scope that ran backward', () => {
    const w = R.t([1, 2], { requires_grad: true });
    R.tidy(() => {
      R.mul(w, w).sum().backward();
    });
    expect(w.grad!.toArray()).toEqual([2, 4]);
  });
});

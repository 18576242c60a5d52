// cross_entropy_loss on a softmax output is the cross-entropy of those probabilities: from the
// logits while they still hold exactly what the probabilities came from, else from log(p).
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';

const LOGITS = [[2, -1, 0.5], [0.1, 0.2, -3], [-2, 4, 1]];
const LABELS = [0, 2, 1];

/** -mean(log p[label]) in float64 from the probabilities' own values. */
function ceOfProbabilities(p: R.Tensor, labels: number[]): number {
  const rows = p.toArray() as number[][];
  return -rows.reduce((s, r, i) => s + Math.log(r[labels[i]!]!), 0) / rows.length;
}
/** What applying softmax a second time would give (the bug this guards against). */
function ceOfSoftmaxAgain(p: R.Tensor, labels: number[]): number {
  return R.cross_entropy(p, R.t(labels, { dtype: 'int32' })).item();
}

describe('cross_entropy_loss on a softmax output', () => {
  it('uses the logits when they are intact: the same bits and gradient as cross_entropy on them', () => {
    const z = R.t(LOGITS, { requires_grad: true });
    const loss = R.cross_entropy_loss(R.t(LABELS, { dtype: 'int32' }), R.softmax(z));
    const z2 = R.t(LOGITS, { requires_grad: true });
    const direct = R.cross_entropy(z2, R.t(LABELS, { dtype: 'int32' }));
    expect(loss.item()).toBe(direct.item());
    loss.backward();
    direct.backward();
    expect(z.grad!.toArray()).toEqual(z2.grad!.toArray());
  });

  it('logits disposed and released: the loss of the probabilities, not softmax applied twice', () => {
    const x = R.t(LOGITS);
    const p = R.tidy(() => R.softmax(R.mul(x, 1))); // the logits die with the scope (no tape holds them)
    const loss = R.cross_entropy_loss(R.t(LABELS, { dtype: 'int32' }), p).item();
    expect(loss).toBeCloseTo(ceOfProbabilities(p, LABELS), 5);
    expect(Math.abs(loss - ceOfSoftmaxAgain(p, LABELS))).toBeGreaterThan(0.1);
  });

  it('logits disposed but held by the tape: still the stable path, and the gradient reaches the leaf', () => {
    const w = R.t(LOGITS, { requires_grad: true });
    const p = R.tidy(() => R.softmax(R.mul(w, 2)));
    const loss = R.cross_entropy_loss(R.t(LABELS, { dtype: 'int32' }), p);
    expect(loss.item()).toBe(R.cross_entropy(R.mul(R.t(LOGITS), 2), R.t(LABELS, { dtype: 'int32' })).item());
    loss.backward();
    const sm = R.softmax(R.mul(R.t(LOGITS), 2)).toArray() as number[][];
    const expected = sm.map((r, i) => r.map((v, c) => (2 * (v - (c === LABELS[i] ? 1 : 0))) / 3));
    (w.grad!.toArray() as number[][]).forEach((r, i) => r.forEach((g, c) => expect(g).toBeCloseTo(expected[i]![c]!, 6)));
  });

  it('logits updated in place after softmax: the loss of the probabilities, not of the new logits', () => {
    const z = R.t(LOGITS);
    const p = R.softmax(z);
    (z._data as Float32Array).set([5, 5, 5, 0, 0, 0, 1, 2, 3]); // what an optimizer step does to a parameter
    const loss = R.cross_entropy_loss(R.t(LABELS, { dtype: 'int32' }), p).item();
    expect(loss).toBeCloseTo(ceOfProbabilities(p, LABELS), 5);
    expect(Math.abs(loss - R.cross_entropy(z, R.t(LABELS, { dtype: 'int32' })).item())).toBeGreaterThan(0.1);
  });

  it('probability targets take the same paths', () => {
    const target = R.t([[1, 0, 0], [0, 0, 1], [0, 1, 0]]);
    const p = R.tidy(() => R.softmax(R.mul(R.t(LOGITS), 1)));
    expect(R.cross_entropy_loss(target, p).item()).toBeCloseTo(ceOfProbabilities(p, LABELS), 5);
  });

  it('a softmax over another axis is not the class axis: y_pred is taken as logits, as before', () => {
    const z = R.t(LOGITS);
    const p = R.softmax(z, 0);
    expect(R.cross_entropy_loss(R.t(LABELS, { dtype: 'int32' }), p).item()).toBe(ceOfSoftmaxAgain(p, LABELS));
  });
});

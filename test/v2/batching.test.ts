// Results over several batches, the last one shorter, equal the results over one batch: every
// batch is weighted by its size (evaluate, predict, fit's epoch loss and its validation loss).
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, Dense } from '../../lib/v2/layers/index.js';
import { Adam } from '../../lib/v2/optimizers/index.js';

function classifier(): NeuralNetwork {
  R.manual_seed(3);
  const model = new NeuralNetwork(new Adam({ lr: 0.01 }), 'CrossEntropy');
  model.add(new Dense(8, { input_shape: [5] }));
  model.add(new Activation('tanh'));
  model.add(new Dense(3));
  model.add(new Activation('softmax'));
  return model;
}

function data(n: number, seed: number): [R.Tensor, R.Tensor] {
  R.manual_seed(seed);
  const X = R.randn([n, 5]);
  // Labels that differ in how well the untrained model fits them, so batches have different losses.
  const y = R.t(Array.from({ length: n }, (_, i) => (i * 7 + (i % 3)) % 3), { dtype: 'int32' });
  return [X, y];
}

describe('the last, shorter batch is weighted by its size', () => {
  it('evaluate: batches of 4 over 10 samples give the one-batch loss and accuracy', () => {
    const model = classifier();
    const [X, y] = data(10, 1);
    const whole = model.evaluate_sync(X, y, { batch_size: 10 });
    for (const bs of [3, 4, 6, 9]) {
      const parts = model.evaluate_sync(X, y, { batch_size: bs });
      expect(parts.loss).toBeCloseTo(whole.loss, 6);
      expect(parts.accuracy).toBe(whole.accuracy);
    }
    // Not a trivial equality: the per-sample losses differ, so a wrong weight would show.
    const first = model.evaluate_sync(R.t((X.toArray() as number[][]).slice(0, 8)), R.t((y.toArray() as number[]).slice(0, 8), { dtype: 'int32' }), { batch_size: 8 });
    expect(Math.abs(first.loss - whole.loss)).toBeGreaterThan(1e-4);
  });

  it('predict: batches of 4 over 10 samples give the one-batch outputs', () => {
    const model = classifier();
    const [X] = data(10, 2);
    const whole = model.predict(X, { batch_size: 10 }).toArray() as number[][];
    const parts = model.predict(X, { batch_size: 4 }).toArray() as number[][];
    expect(parts.length).toBe(10);
    parts.forEach((r, i) => r.forEach((v, c) => expect(v).toBeCloseTo(whole[i]![c]!, 6)));
  });

  it("fit: the epoch loss is the size-weighted mean of its batch losses, and val_loss equals evaluate's", () => {
    const model = classifier();
    const [X, y] = data(10, 4);
    const [Xv, yv] = data(300, 5);
    const h = model.fit_sync(X, y, { n_epochs: 1, batch_size: 4, shuffle: false, verbose: false, validation_data: [Xv, yv] });
    const b = [1, 2, 3].map((k) => h[`training_loss_epoch_1_batch_${k}`]!);
    expect(h.epochs[0]!.loss).toBeCloseTo((4 * b[0]! + 4 * b[1]! + 2 * b[2]!) / 10, 6);
    expect(Math.abs(b[2]! - b[0]!)).toBeGreaterThan(1e-4); // the weights matter
    // Validation runs in batches of 256 (256 + 44 samples here), after the epoch's last step.
    expect(h.epochs[0]!.val_loss).toBeCloseTo(model.evaluate_sync(Xv, yv, { batch_size: 300 }).loss, 6);
  });
});

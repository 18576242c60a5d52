// Memory follows the live working set: the tensors alive while predict, evaluate or fit runs
// over many batches are those of one batch (plus the result), not an accumulation of every
// batch's intermediates waiting for a scope's end or the garbage collector.
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, Dense } from '../../lib/v2/layers/index.js';
import { Adam } from '../../lib/v2/optimizers/index.js';

function model(): NeuralNetwork {
  R.manual_seed(5);
  const m = new NeuralNetwork(new Adam(), 'CrossEntropy');
  m.add(new Dense(256, { input_shape: [64] }));
  m.add(new Activation('relu'));
  m.add(new Dense(256));
  m.add(new Activation('relu'));
  m.add(new Dense(10));
  m.add(new Activation('softmax'));
  return m;
}

/** Highest R.memory().bytes seen after any op while fn runs, above the level before it. */
function peakLiveBytes(fn: () => void): number {
  const base = R.memory().bytes;
  let peak = base;
  const stop = R.onDispatch(() => {
    peak = Math.max(peak, R.memory().bytes);
  });
  try {
    fn();
  } finally {
    stop();
  }
  return peak - base;
}

const X = () => R.randn([2000, 64]);
const y = () => R.t(Array.from({ length: 2000 }, (_, i) => i % 10), { dtype: 'int32' });

describe('memory follows the working set of one batch', () => {
  it('predict over 20 batches holds about one batch at a time (and the result)', () => {
    const m = model();
    const x = X();
    const one = peakLiveBytes(() => void m.predict(R.tidy(() => R.slice(x, [0, 0], [100, 64])), { batch_size: 100 }));
    const all = peakLiveBytes(() => void m.predict(x, { batch_size: 100 }));
    const result = 2000 * 10 * 4;
    expect(all).toBeLessThan(3 * one + 2 * result);
  });

  it('evaluate over 20 batches holds about one batch at a time', () => {
    const m = model();
    const [x, t] = [X(), y()];
    const one = peakLiveBytes(() => void m.evaluate_sync(R.slice(x, [0, 0], [100, 64]), R.slice(t, [0], [100]), { batch_size: 100 }));
    const all = peakLiveBytes(() => void m.evaluate_sync(x, t, { batch_size: 100 }));
    expect(all).toBeLessThan(3 * one);
  });

  it('fit: the live memory of epoch 3 is that of epoch 1', () => {
    const m = model();
    const [x, t] = [X(), y()];
    m.fit_sync(x, t, { n_epochs: 1, batch_size: 100, verbose: false }); // creates the Adam state
    const first = peakLiveBytes(() => void m.fit_sync(x, t, { n_epochs: 1, batch_size: 100, verbose: false }));
    const third = peakLiveBytes(() => void m.fit_sync(x, t, { n_epochs: 3, batch_size: 100, verbose: false }));
    expect(third).toBeLessThan(1.5 * first);
  });
});

// NeuralNetwork.fit against PyTorch: the same MLP from the same weights on the same batches must
// follow PyTorch's loss curve within 1e-3 over 100 steps (fixtures: gen_train_v2.py).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, Dense } from '../../lib/v2/layers/index.js';
import { Adam, type Optimizer, RMSprop, SGD } from '../../lib/v2/optimizers/index.js';

interface Run {
  loss: 'CrossEntropy' | 'SquareLoss';
  optimizer: 'adam' | 'rmsprop' | 'sgd_momentum';
  head: 'softmax' | 'tanh' | 'none';
  steps: number;
  batch_size: number;
  X: number[];
  labels: number[];
  W1: number[];
  b1: number[];
  W2: number[];
  b2: number[];
  losses: number[];
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'v2', 'training.json'), 'utf8')) as { runs: Record<string, Run> };

const rows = (flat: number[], cols: number) => Array.from({ length: flat.length / cols }, (_, i) => flat.slice(i * cols, (i + 1) * cols));
const optimizers: Record<Run['optimizer'], () => Optimizer> = {
  adam: () => new Adam({ lr: 0.01 }),
  rmsprop: () => new RMSprop({ lr: 0.01 }),
  sgd_momentum: () => new SGD({ lr: 0.1, momentum: 0.9 }),
};

describe('fit follows PyTorch loss curves', () => {
  for (const [name, run] of Object.entries(fixture.runs)) {
    it(`${name}: ${run.steps} steps within 1e-3`, () => {
      const model = new NeuralNetwork(optimizers[run.optimizer](), run.loss);
      model.add(new Dense(8, { input_shape: [4], initial_W: rows(run.W1, 4), initial_w0: run.b1 }));
      model.add(new Activation('relu'));
      model.add(new Dense(3, { initial_W: rows(run.W2, 8), initial_w0: run.b2 }));
      if (run.head !== 'none') model.add(new Activation(run.head));
      const X = R.t(Float32Array.from(run.X), { shape: [32, 4] });
      const y = run.loss === 'CrossEntropy' ? R.t(Int32Array.from(run.labels)) : R.one_hot_encoding(R.t(Int32Array.from(run.labels)), 3);
      const n = X.shape[0]!;
      const perEpoch = Math.ceil(n / run.batch_size);
      const history = model.fit_sync(X, y, { n_epochs: Math.ceil(run.steps / perEpoch), batch_size: run.batch_size, shuffle: false, verbose: false });
      const got: number[] = [];
      for (let e = 1; got.length < run.steps; e++) for (let b = 1; b <= perEpoch && got.length < run.steps; b++) got.push(history[`training_loss_epoch_${e}_batch_${b}`]);
      let worst = 0;
      run.losses.forEach((want, i) => (worst = Math.max(worst, Math.abs(got[i]! - want) / Math.max(1, Math.abs(want)))));
      expect(worst, `largest loss difference over ${run.steps} steps`).toBeLessThan(1e-3);
      expect(run.losses[run.steps - 1]!).toBeLessThan(run.losses[0]! * 0.9); // the reference really trains
    });
  }
});

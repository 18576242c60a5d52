// Default layer names in a Sequential model (snake case without mangling), and models saved
// under the names of earlier versions ('conv2_d_1', 'batch_normalization1_d_1') still load.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, BatchNormalization1D, BatchNormalization2D, Conv2D, Dense, Flatten, MaxPooling2D } from '../../lib/v2/layers/index.js';
import { Adam } from '../../lib/v2/optimizers/index.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function cnn(): NeuralNetwork {
  R.manual_seed(3);
  const m = new NeuralNetwork(new Adam({ lr: 0.01 }), 'CrossEntropy');
  m.add(new Conv2D(1, 4, 3, { input_shape: [1, 6, 6], padding: 1 }));
  m.add(new BatchNormalization2D(4));
  m.add(new Activation('relu'));
  m.add(new MaxPooling2D(2));
  m.add(new Flatten());
  m.add(new Dense(8));
  m.add(new BatchNormalization1D());
  m.add(new Dense(3));
  return m;
}

describe('default layer names', () => {
  it('Sequential numbers each snake-cased class name', () => {
    expect(cnn().layers.map((l) => l.name)).toEqual([
      'conv2d_1', 'batch_normalization_2d_1', 'activation_1', 'max_pooling_2d_1', 'flatten_1', 'dense_1', 'batch_normalization_1d_1', 'dense_2',
    ]);
  });

  it('a model saved under the old mangled names loads with those names, weights and optimizer state', async () => {
    const old = ['conv2_d_1', 'batch_normalization2_d_1', 'activation_1', 'max_pooling2_d_1', 'flatten_1', 'dense_1', 'batch_normalization1_d_1', 'dense_2'];
    R.manual_seed(3);
    const m = new NeuralNetwork(new Adam({ lr: 0.01 }), 'CrossEntropy');
    // The same architecture, named as versions before this one named it.
    const fresh = [
      new Conv2D(1, 4, 3, { input_shape: [1, 6, 6], padding: 1 }), new BatchNormalization2D(4), new Activation('relu'), new MaxPooling2D(2),
      new Flatten(), new Dense(8), new BatchNormalization1D(), new Dense(3),
    ];
    fresh.forEach((l, i) => {
      l.name = old[i]!;
      m.add(l);
    });
    const X = R.randn([6, 1, 6, 6]);
    const y = R.t(Int32Array.from([0, 1, 2, 0, 1, 2]));
    m.train_on_batch(X, y); // weights, running stats and optimizer state away from their initial values
    const dir = mkdtempSync(join(tmpdir(), 'ravdl-names-'));
    dirs.push(dir);
    await m.save(dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.layers.map((l: { name: string }) => l.name)).toEqual(old);

    const back = await NeuralNetwork.load(dir);
    expect(back.layers.map((l) => l.name)).toEqual(old);
    expect(Array.from(back.predict(X)._data)).toEqual(Array.from(m.predict(X)._data));
    expect(back.train_on_batch(X, y)).toEqual(m.train_on_batch(X, y)); // optimizer state came back under those names
  });
});

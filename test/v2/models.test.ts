import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { EarlyStopping, Functional, NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, CustomLayer, Dense, Dropout, Flatten } from '../../lib/v2/layers/index.js';
import { Adam, type Optimizer, SGD } from '../../lib/v2/optimizers/index.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ravdl-model-'));
  dirs.push(d);
  return d;
};

/** 60 samples, 4 features, 3 separable classes. */
function blobs(seed = 3) {
  R.manual_seed(seed);
  const y = R.t(Int32Array.from({ length: 60 }, (_, i) => i % 3));
  const centers = R.t([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]]);
  const X = R.add(R.gather(centers, y), R.mul(R.randn([60, 4]), 0.3));
  return { X, y };
}

function mlp(optimizer: Optimizer = new Adam({ lr: 0.02 }), loss: 'CrossEntropy' | 'SquareLoss' = 'CrossEntropy') {
  R.manual_seed(7);
  const m = new NeuralNetwork(optimizer, loss);
  m.add(new Dense(16, { input_shape: [4] }));
  m.add(new Activation('relu'));
  m.add(new Dense(3));
  m.add(new Activation('softmax'));
  return m;
}

describe('NeuralNetwork', () => {
  it('summary prints the seed table with output shapes and parameter counts', () => {
    const text = mlp().summary('Model Summary', false);
    expect(text).toContain('| Layer Type ');
    expect(text).toMatch(/\| Dense +\| 80 +\| \(16,\) +\|/);
    expect(text).toMatch(/\| Activation +\| 0 +\| \(3,\) +\|/);
    expect(text).toContain('Input Shape: (4,)');
    expect(text).toContain('Total Parameters: 131');
  });

  it('fit trains, returns every batch loss under the seed names, and calls callbacks', async () => {
    const { X, y } = blobs();
    const model = mlp();
    const seen: string[] = [];
    const h = await model.fit(X, y, {
      n_epochs: 20,
      batch_size: 25,
      verbose: false,
      callbacks: [{ on_batch_end: (b, _l, _m, e) => seen.push(`${e}.${b}`), on_epoch_end: (e) => seen.push(`end ${e}`) }],
    });
    expect(Object.keys(h).filter((k) => k.startsWith('training_loss_'))).toHaveLength(20 * 3);
    expect(h.training_loss_epoch_1_batch_3).toBeGreaterThan(0);
    expect(seen.slice(0, 4)).toEqual(['1.1', '1.2', '1.3', 'end 1']);
    expect(h.epochs[19]!.loss).toBeLessThan(h.epochs[0]!.loss / 3);
    const e = await model.evaluate(X, y);
    expect(e.accuracy).toBeGreaterThan(0.95);
    expect(model.evaluate_sync(X, y)).toEqual(e);
    expect(model.predict(X).shape).toEqual([60, 3]);
  });

  it('fit keeps memory flat: no tensors left behind per step', async () => {
    const { X, y } = blobs();
    const model = mlp();
    await model.fit(X, y, { n_epochs: 1, batch_size: 10, verbose: false });
    const before = R.memory();
    await model.fit(X, y, { n_epochs: 5, batch_size: 10, verbose: false });
    expect(R.memory().tensors).toBe(before.tensors);
    // Batches come from the buffer pool and go back to it: the pool does not grow per epoch.
    expect(R.memory().pooledBytes).toBeLessThanOrEqual(before.pooledBytes + 4096);
  });

  it('EarlyStopping stops when the monitored loss stops improving and restores the best weights', () => {
    const { X, y } = blobs();
    const model = mlp(new SGD({ lr: 0 }));
    const stop = new EarlyStopping({ monitor: 'loss', patience: 1, restore_best_weights: true });
    const h = model.fit_sync(X, y, { n_epochs: 10, batch_size: 60, shuffle: false, verbose: false, callbacks: [stop] });
    expect(h.epochs).toHaveLength(2);
    expect(stop.stopped_epoch).toBe(2);
  });

  it('progress: plain lines without a terminal', () => {
    const { X, y } = blobs();
    let out = '';
    mlp().fit_sync(X, y, { n_epochs: 2, batch_size: 30, stream: { write: (s: string) => (out += s), isTTY: false }, validation_data: [X, y] });
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^Epoch 2\/2 - 2 batches - .* - loss \d\.\d{4} - accuracy .* - val_loss .* - val_accuracy /);
  });

  it('bad input is a typed error before any training step', async () => {
    const { X, y } = blobs();
    const model = mlp();
    const w0 = model.get_weights();
    const unchanged = () => {
      for (const [k, v] of model.get_weights()) expect(Array.from(v), k).toEqual(Array.from(w0.get(k)!));
    };
    await expect(model.fit(R.zeros([60, 5]), y, { verbose: false })).rejects.toThrow(/X samples have shape \[5\] but the first layer .* expects \[4\]/);
    await expect(model.fit(X, R.t(Int32Array.from({ length: 59 })), { verbose: false })).rejects.toThrow(/X has 60 samples but y has 59/);
    await expect(model.fit(X, R.t(Int32Array.from({ length: 60 }, (_, i) => (i === 7 ? 3 : 0))), { verbose: false })).rejects.toThrow(R.RangeIndexError);
    const nan = X.data() as Float32Array;
    nan[13] = NaN;
    expect(() => model.fit_sync(R.t(nan, { shape: [60, 4] }), y, { verbose: false })).toThrow(/X contains NaN/);
    expect(() => model.fit_sync(X, R.zeros([60, 2]), { verbose: false })).toThrow(/y samples have shape \[2\] but the model outputs \[3\]/);
    unchanged();
    expect(() => new NeuralNetwork(new Adam(), 'Hinge' as never)).toThrow(/unknown loss 'Hinge' \(valid: SquareLoss, CrossEntropy/);
    expect(() => new NeuralNetwork(new Adam()).add({} as never)).toThrow(R.ArgError);
    const lazy = new NeuralNetwork(new Adam());
    lazy.add(new Dense(3));
    expect(() => lazy.summary('s', false)).toThrow(/input shape is not known yet/);
    expect(() => new Activation('swish' as never)).toThrow(/unknown activation 'swish' \(valid: relu, sigmoid/);
    expect(() => mlp().add(new Dense(2, { input_shape: [5] }))).toThrow(/input_shape is \[5\] but got samples of shape \[3\]/);
  });

  it('a model without input_shape builds from the first batch', async () => {
    const { X, y } = blobs();
    const m = new NeuralNetwork(new Adam(), 'CrossEntropy');
    m.add(new Dense(8));
    m.add(new Dense(3));
    await m.fit(X, y, { n_epochs: 1, verbose: false });
    expect(m.summary('s', false)).toContain('Total Parameters: 67');
  });

  it('save/load: identical predictions, and resumed training equals uninterrupted training', async () => {
    const { X, y } = blobs();
    const a = mlp();
    a.add(new Dropout(0)); // stored in the architecture too
    await a.fit(X, y, { n_epochs: 2, batch_size: 20, shuffle: false, verbose: false });
    const dir = tmp();
    await a.save(dir);
    const b = await NeuralNetwork.load(dir);
    expect(Array.from(b.predict(X).data())).toEqual(Array.from(a.predict(X).data()));
    expect(b.summary('s', false)).toBe(a.summary('s', false));
    await a.fit(X, y, { n_epochs: 2, batch_size: 20, shuffle: false, verbose: false });
    await b.fit(X, y, { n_epochs: 2, batch_size: 20, shuffle: false, verbose: false });
    expect(Array.from(b.predict(X).data())).toEqual(Array.from(a.predict(X).data()));
  });
});

// The seed's Functional example: custom layers composed into a model, trained with a manual loop.
class CustomLayer1 extends CustomLayer {
  d1 = new Dense(12, { input_shape: [4] });
  act = new Activation('relu');
  _forward_pass_call(input: R.Tensor, training = true) {
    return this.act._forward_pass(this.d1._forward_pass(input), training);
  }
}
class CustomLayer2 extends CustomLayer {
  d1 = new Dense(10);
  dropout = new Dropout(0.1);
  d2 = new Dense(3);
  _forward_pass_call(input: R.Tensor, training = true) {
    return this.d2._forward_pass(this.dropout._forward_pass(this.d1._forward_pass(input), training));
  }
}
class ANNModel extends Functional {
  custom_layer1 = new CustomLayer1();
  custom_layer2 = new CustomLayer2();
  act = new Activation('softmax');
  constructor(optimizer: Adam) {
    super();
    this.initialize_params(optimizer);
  }
  _forward_pass_call(input: R.Tensor, training = true) {
    const o = this.custom_layer2._forward_pass(this.custom_layer1._forward_pass(input, training), training);
    return this.act._forward_pass(o);
  }
}

describe('Functional and CustomLayer', () => {
  it('trains with the seed loop; parameters are named after the properties', () => {
    const { X, y } = blobs();
    R.manual_seed(1);
    const model = new ANNModel(new Adam({ lr: 0.02 }));
    const yOne = R.one_hot_encoding(y, 3);
    let first = 0;
    let last = 0;
    for (let epoch = 0; epoch < 30; epoch++) {
      const out = model._forward_pass(X);
      const loss = R.square_loss(yOne, out);
      if (epoch === 0) first = loss.item();
      last = loss.item();
      model._backward_pass(loss);
    }
    expect(last).toBeLessThan(first / 2);
    expect(model.parameters().map(([k]) => k)).toEqual([
      'custom_layer1.d1.W', 'custom_layer1.d1.w0', 'custom_layer2.d1.W', 'custom_layer2.d1.w0', 'custom_layer2.d2.W', 'custom_layer2.d2.w0',
    ]);
    const pred = model.predict(X);
    const acc = R.mean(R.equal(R.argmax(pred, 1).astype('float32'), y.astype('float32'))).item();
    expect(acc).toBeGreaterThan(0.9);
  });

  it('_backward_pass(loss, false) accumulates gradients without stepping', () => {
    const { X, y } = blobs();
    R.manual_seed(2);
    const model = new ANNModel(new Adam());
    const yOne = R.one_hot_encoding(y, 3);
    const w = () => model.parameters()[0]![1];
    model._backward_pass(R.square_loss(yOne, model._forward_pass(X, false)), false);
    const g1 = Array.from(w().grad!.data());
    const before = Array.from(w().data());
    model._backward_pass(R.square_loss(yOne, model._forward_pass(X, false)), false);
    const g2 = Array.from(w().grad!.data());
    g2.forEach((g, i) => expect(g).toBeCloseTo(2 * g1[i]!, 5));
    expect(Array.from(w().data())).toEqual(before);
    model._backward_pass(R.square_loss(yOne, model._forward_pass(X, false)));
    expect(w().grad).toBeNull();
    expect(Array.from(w().data())).not.toEqual(before);
  });

  it('save/load into a new instance predicts identically', async () => {
    const { X } = blobs();
    R.manual_seed(3);
    const a = new ANNModel(new Adam());
    a._forward_pass(X);
    const dir = tmp();
    await a.save(dir);
    R.manual_seed(99);
    const b = await new ANNModel(new Adam()).load(dir);
    expect(Array.from(b.predict(X).data())).toEqual(Array.from(a.predict(X).data()));
  });

  it('Flatten keeps the batch dim', () => {
    expect(new Flatten()._forward_pass(R.zeros([2, 3, 4])).shape).toEqual([2, 12]);
  });
});

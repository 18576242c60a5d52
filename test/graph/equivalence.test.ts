// Graph mode computes exactly what eager mode computes: the seed's requester scripts (the iris
// Sequential and Functional ANNs, the digits CNN) recorded, executed (also after a save/load
// round trip) and compared bit for bit with eager runs from the same seed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { Functional, NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, BatchNormalization1D, BatchNormalization2D, Conv2D, CustomLayer, Dense, Dropout, Flatten } from '../../lib/v2/layers/index.js';
import { Adam, type Optimizer, RMSprop } from '../../lib/v2/optimizers/index.js';
import { batch_iterator, load_digits_sync, load_iris_sync, standardize, to_categorical, train_test_split } from '../../lib/v2/utils/index.js';
import { haveDataset } from '../helpers/datasets.js';

afterEach(() => R.flush());

const bits = (t: R.Tensor) => Array.from(new Uint32Array(new Float32Array(t._data).buffer));

function irisData() {
  const { X, y } = load_iris_sync();
  return train_test_split(standardize(X), to_categorical(y), { test_size: 0.3, seed: 42 });
}

function irisModel(): NeuralNetwork {
  const model = new NeuralNetwork(new RMSprop(), 'SquareLoss');
  model.add(new Dense(15, { input_shape: [4] }));
  model.add(new BatchNormalization1D());
  model.add(new Dense(30));
  model.add(new Dropout(0.9));
  model.add(new Dense(3));
  model.add(new Activation('softmax'));
  return model;
}

/** Records the same job in a graph, runs it, and returns the fetch function. */
async function inGraph(job: () => void, roundTrip = false): Promise<(name: string) => R.Tensor> {
  R.flush();
  new R.Graph({ name: 'test', algorithm: 'neural_network', approach: 'distributed' });
  job();
  R.activate();
  if (roundTrip) {
    const dir = mkdtempSync(join(tmpdir(), 'ravdl-graph-'));
    try {
      R.Graph.current()!.save(dir);
      R.flush();
      R.Graph.load(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  await R.execute();
  return (name) => R.fetch_persisting_op({ op_name: name });
}

describe.runIf(haveDataset('iris'))('graph mode equals eager mode, bit for bit', () => {
  it("the seed's iris Sequential script: 100 epochs of batch losses and the test predictions", async () => {
    R.manual_seed(42);
    const [Xtr, Xte, ytr] = irisData();
    const eager = irisModel();
    const history = await eager.fit(Xtr, ytr, { n_epochs: 100, batch_size: 25, verbose: false });
    const prediction = eager.predict(Xte);

    R.manual_seed(42);
    const [Xtr2, Xte2, ytr2] = irisData();
    const model = irisModel();
    const fetch = await inGraph(() => {
      model.fit(Xtr2, ytr2, { n_epochs: 100, batch_size: 25, verbose: false });
      model.predict(Xte2).persist_op({ name: 'test_prediction' });
    });
    let compared = 0;
    for (const [k, v] of Object.entries(history)) {
      if (!k.startsWith('training_loss_')) continue;
      expect(Object.is(fetch(k).item(), v), k).toBe(true);
      compared++;
    }
    expect(compared).toBe(100 * 5);
    expect(bits(fetch('test_prediction'))).toEqual(bits(prediction));
    // After a local run the model holds its trained weights again and predicts the same.
    expect(bits(model.predict(Xte2))).toEqual(bits(prediction));
  });

  it("the seed's Functional loop (batch_iterator, _forward_pass, _backward_pass), also after save and load", async () => {
    class Block1 extends CustomLayer {
      d1 = new Dense(15, { input_shape: [4] });
      bn1 = new BatchNormalization1D({ momentum: 0.99, epsilon: 0.01 });
      _forward_pass_call(x: R.Tensor, training = true): R.Tensor {
        return this.bn1._forward_pass(this.d1._forward_pass(x), training);
      }
    }
    class Block2 extends CustomLayer {
      d1 = new Dense(30);
      dropout = new Dropout(0.9);
      d2 = new Dense(3);
      _forward_pass_call(x: R.Tensor, training = true): R.Tensor {
        return this.d2._forward_pass(this.dropout._forward_pass(this.d1._forward_pass(x), training));
      }
    }
    class ANN extends Functional {
      b1 = new Block1();
      b2 = new Block2();
      act = new Activation('softmax');
      constructor(o: Optimizer) {
        super();
        this.initialize_params(o);
      }
      _forward_pass_call(x: R.Tensor, training = true): R.Tensor {
        return this.act._forward_pass(this.b2._forward_pass(this.b1._forward_pass(x, training), training));
      }
    }
    const train = (model: ANN, Xtr: R.Tensor, ytr: R.Tensor, onLoss: (k: string, l: R.Tensor) => void) => {
      for (let e = 1; e <= 10; e++) {
        let b = 0;
        for (const [xb, yb] of batch_iterator(Xtr, ytr, 25)) {
          const loss = R.square_loss(R.t(yb), model._forward_pass(R.t(xb)));
          onLoss(`loss_${e}_${++b}`, loss);
          model._backward_pass(loss);
        }
      }
    };
    R.manual_seed(7);
    const [Xtr, Xte, ytr] = irisData();
    const eager = new ANN(new Adam());
    const losses = new Map<string, number>();
    train(eager, Xtr, ytr, (k, l) => losses.set(k, l.item()));
    const prediction = eager._forward_pass(R.t(Xte), false);

    R.manual_seed(7);
    const [Xtr2, Xte2, ytr2] = irisData();
    const model = new ANN(new Adam());
    const fetch = await inGraph(() => {
      train(model, Xtr2, ytr2, (k, l) => l.persist_op(k));
      model._forward_pass(R.t(Xte2), false).persist_op('prediction');
    }, true);
    for (const [k, v] of losses) expect(Object.is(fetch(k).item(), v), k).toBe(true);
    expect(losses.size).toBe(10 * 5);
    expect(bits(fetch('prediction'))).toEqual(bits(prediction));
  });
});

describe.runIf(haveDataset('digits'))('graph mode equals eager mode on the CNN', () => {
  it("one epoch of the seed's digits CNN: batch losses, validation loss and predictions", async () => {
    const build = () => {
      const model = new NeuralNetwork(new Adam(), 'CrossEntropy');
      model.add(new Conv2D(1, 16, 3, { padding: 'same', input_shape: [1, 8, 8] }));
      model.add(new Activation('relu'));
      model.add(new Dropout(0.25));
      model.add(new BatchNormalization2D(16));
      model.add(new Conv2D(16, 32, 3, { padding: 'same' }));
      model.add(new Activation('relu'));
      model.add(new Dropout(0.25));
      model.add(new BatchNormalization2D(32));
      model.add(new Flatten());
      model.add(new Dense(256));
      model.add(new Activation('relu'));
      model.add(new Dropout(0.4));
      model.add(new BatchNormalization1D());
      model.add(new Dense(10));
      model.add(new Activation('softmax'));
      return model;
    };
    const data = () => {
      const d = load_digits_sync({ flatten: false });
      return train_test_split(R.div(d.X, 16), d.y, { test_size: 0.4, seed: 1 });
    };
    R.manual_seed(42);
    const [Xtr, Xte, ytr, yte] = data();
    const eager = build();
    const history = await eager.fit(Xtr, ytr, { n_epochs: 1, batch_size: 64, verbose: false, validation_data: [Xte, yte] });
    const prediction = eager.predict(Xte);

    R.manual_seed(42);
    const [Xtr2, Xte2, ytr2, yte2] = data();
    const model = build();
    const fetch = await inGraph(() => {
      model.fit(Xtr2, ytr2, { n_epochs: 1, batch_size: 64, verbose: false, validation_data: [Xte2, yte2] });
      model.predict(Xte2).persist_op('prediction');
    }, true);
    const names = Object.keys(history).filter((k) => k.startsWith('training_loss_'));
    expect(names.length).toBe(Math.ceil(Xtr.shape[0]! / 64));
    for (const k of names) expect(Object.is(fetch(k).item(), history[k as keyof typeof history]), k).toBe(true);
    expect(bits(fetch('prediction'))).toEqual(bits(prediction));
    // The validation loss is a recorded weighted mean in float32 (eager sums in float64).
    expect(fetch('validation_loss_epoch_1').item()).toBeCloseTo(history.epochs[0]!.val_loss!, 5);
    // The validation loss is a recorded weighted mean in float32 (eager sums in float64).
    expect(fetch('validation_loss_epoch_1').item()).toBeCloseTo(history.epochs[0]!.val_loss!, 5);
  });
});

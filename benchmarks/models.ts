// The models the benchmark suites train (training, graph and partition suites): an MLP
// 784-512-512-10 and a small CNN on 1x28x28, both with Adam and cross-entropy on logits.
import { NeuralNetwork } from '../lib/v2/index.js';
import { Activation, Conv2D, Dense, Flatten, MaxPooling2D } from '../lib/v2/layers/index.js';
import { Adam } from '../lib/v2/optimizers/index.js';

export function benchMlp(): NeuralNetwork {
  const m = new NeuralNetwork(new Adam({ lr: 1e-3 }), 'CrossEntropy');
  m.add(new Dense(512, { input_shape: [784] }));
  m.add(new Activation('relu'));
  m.add(new Dense(512));
  m.add(new Activation('relu'));
  m.add(new Dense(10));
  return m;
}

export function benchCnn(): NeuralNetwork {
  const m = new NeuralNetwork(new Adam({ lr: 1e-3 }), 'CrossEntropy');
  m.add(new Conv2D(1, 32, 3, { input_shape: [1, 28, 28] }));
  m.add(new Activation('relu'));
  m.add(new MaxPooling2D(2));
  m.add(new Conv2D(32, 64, 3));
  m.add(new Activation('relu'));
  m.add(new MaxPooling2D(2));
  m.add(new Flatten());
  m.add(new Dense(128));
  m.add(new Activation('relu'));
  m.add(new Dense(10));
  return m;
}

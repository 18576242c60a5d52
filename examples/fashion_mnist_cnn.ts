// A CNN on Fashion-MNIST (Debian's dataset-fashion-mnist): two conv/pool blocks and two dense
// layers, Adam, cross-entropy; prints a progress bar per epoch and the test accuracy.
//   npm run example:fashion-mnist      (RAVDL_EPOCHS / RAVDL_TRAIN_LIMIT shorten it)
import * as R from 'ravdl';
import { NeuralNetwork } from 'ravdl/v2';
import { Activation, Conv2D, Dense, Dropout, Flatten, MaxPooling2D } from 'ravdl/v2/layers';
import { Adam } from 'ravdl/v2/optimizers';
import { accuracy_score, load_fashion_mnist } from 'ravdl/v2/utils';
import { runIfMainAsync } from './run.js';

/** The example's model (also built by the memory benchmark, benchmarks/fashion-rss.ts). */
export function fashionCnn(): NeuralNetwork {
  const model = new NeuralNetwork(new Adam({ lr: 1e-3 }), 'CrossEntropy');
  model.add(new Conv2D(1, 32, 3, { input_shape: [1, 28, 28] }));
  model.add(new Activation('relu'));
  model.add(new MaxPooling2D(2));
  model.add(new Conv2D(32, 64, 3));
  model.add(new Activation('relu'));
  model.add(new MaxPooling2D(2));
  model.add(new Flatten());
  model.add(new Dense(128));
  model.add(new Activation('relu'));
  model.add(new Dropout(0.3));
  model.add(new Dense(10));
  model.add(new Activation('softmax'));
  return model;
}

export async function main({
  n_epochs = Number(process.env.RAVDL_EPOCHS ?? 8),
  train_limit = process.env.RAVDL_TRAIN_LIMIT ? Number(process.env.RAVDL_TRAIN_LIMIT) : undefined,
  verbose = true,
} = {}): Promise<number> {
  R.manual_seed(42);
  const train = await load_fashion_mnist({ split: 'train', limit: train_limit }); // X: (N, 1, 28, 28) in [0, 1]
  const test = await load_fashion_mnist({ split: 'test' });

  const model = fashionCnn();
  if (verbose) model.summary();
  const started = performance.now();
  await model.fit(train.X, train.y, { n_epochs, batch_size: 64, verbose });
  if (verbose) console.log(`trained ${n_epochs} epochs on ${train.X.shape[0]} images in ${((performance.now() - started) / 1000).toFixed(0)} s (${R.getNumThreads()} threads)`);

  return accuracy_score(test.y, await model.predict_async(test.X));
}

runIfMainAsync(import.meta, () => main());

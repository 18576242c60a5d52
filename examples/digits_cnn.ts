// The seed's CNN example (cnn_sequential.py) ported line by line: the 8x8 digits of
// scikit-learn, Conv2D(16) -> Conv2D(32) -> Dense(256) -> Dense(10), with batch norm and dropout.
//   npm run example:digits
import * as R from 'ravdl';
import { NeuralNetwork } from 'ravdl/v2';
import { Activation, BatchNormalization1D, BatchNormalization2D, Conv2D, Dense, Dropout, Flatten } from 'ravdl/v2/layers';
import { Adam } from 'ravdl/v2/optimizers';
import { accuracy_score, load_digits, train_test_split } from 'ravdl/v2/utils';
import { runIfMainAsync } from './run.js';

export async function main({ n_epochs = 30, verbose = true } = {}): Promise<number> {
  R.manual_seed(42);
  const data = await load_digits({ flatten: false }); // X: (1797, 1, 8, 8), pixel values 0..16
  const X = R.div(data.X, 16);
  const y = data.y;
  const [X_train, X_test, y_train, y_test] = train_test_split(X, y, { test_size: 0.4, seed: 1 });

  const optimizer = new Adam();
  const model = new NeuralNetwork(optimizer, 'CrossEntropy', { validation_data: [X_test, y_test] });
  model.add(new Conv2D(1, 16, 3, { stride: 1, padding: 'same', input_shape: [1, 8, 8] }));
  model.add(new Activation('relu'));
  model.add(new Dropout(0.25));
  model.add(new BatchNormalization2D(16));
  model.add(new Conv2D(16, 32, 3, { stride: 1, padding: 'same' }));
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

  if (verbose) model.summary();
  await model.fit(X_train, y_train, { n_epochs, batch_size: 64, verbose });

  return accuracy_score(y_test, model.predict(X_test));
}

runIfMainAsync(import.meta, () => main());

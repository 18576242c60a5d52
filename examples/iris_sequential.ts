// The seed's ANN example (ann_sequential.py) ported line by line: iris, a Sequential model
// Dense(15) -> BatchNormalization1D -> Dense(30) -> Dropout(0.9) -> Dense(3) -> softmax.
//   npm run example:iris
import * as R from '../lib/index.js';
import { NeuralNetwork } from '../lib/v2/index.js';
import { Activation, BatchNormalization1D, Dense, Dropout } from '../lib/v2/layers/index.js';
import { RMSprop } from '../lib/v2/optimizers/index.js';
import { accuracy_score, load_iris, standardize, to_categorical, train_test_split } from '../lib/v2/utils/index.js';
import { runIfMain } from './run.js';

export function main({ n_epochs = 100, verbose = true } = {}): number {
  R.manual_seed(42);
  const { X, y } = load_iris();
  const [X_train, X_test, y_train, y_test] = train_test_split(standardize(X), to_categorical(y), { test_size: 0.3, seed: 42 });

  const n_hidden = 15;
  const n_features = X.shape[1]!;

  const optimizer = new RMSprop();
  const model = new NeuralNetwork(optimizer, 'SquareLoss');
  model.add(new Dense(n_hidden, { input_shape: [n_features] }));
  model.add(new BatchNormalization1D());
  model.add(new Dense(30));
  model.add(new Dropout(0.9));
  model.add(new Dense(3));
  model.add(new Activation('softmax'));

  if (verbose) model.summary();
  model.fit(X_train, y_train, { n_epochs, batch_size: 25, verbose });

  const y_pred = model.predict(X_test);
  return accuracy_score(y_test, y_pred);
}

runIfMain(import.meta, () => main());

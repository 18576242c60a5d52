// The seed's ANN example (ann_sequential.py) ported line by line: iris, a Sequential model
// Dense(15) -> BatchNormalization1D -> Dense(30) -> Dropout(0.9) -> Dense(3) -> softmax.
//   npm run example:iris
import * as R from 'ravdl';
import { NeuralNetwork } from 'ravdl/v2';
import { Activation, BatchNormalization1D, Dense, Dropout } from 'ravdl/v2/layers';
import { RMSprop } from 'ravdl/v2/optimizers';
import { accuracy_score, load_iris, standardize, to_categorical, train_test_split } from 'ravdl/v2/utils';
import { runIfMainAsync } from './run.js';

export async function main({ n_epochs = 100, verbose = true } = {}): Promise<number> {
  R.manual_seed(42);
  const { X, y } = await load_iris();
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
  await model.fit(X_train, y_train, { n_epochs, batch_size: 25, verbose });

  const y_pred = model.predict(X_test);
  return accuracy_score(y_test, y_pred);
}

runIfMainAsync(import.meta, () => main());

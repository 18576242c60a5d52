// The seed's requester script cnn_sequential.py (ravenverse/Requester) ported: the digits CNN,
// with validation data, recorded into a graph, activated, executed, and its persisted
// prediction fetched by name. Without RAVDL_SERVER the graph runs in this process.
//   npm run example:graph-cnn
import * as R from 'ravdl';
import { NeuralNetwork } from 'ravdl/v2';
import { Activation, BatchNormalization1D, BatchNormalization2D, Conv2D, Dense, Dropout, Flatten, MaxPooling2D } from 'ravdl/v2/layers';
import { Adam } from 'ravdl/v2/optimizers';
import { accuracy_score, load_digits, to_categorical, train_test_split } from 'ravdl/v2/utils';
import { runIfMainAsync } from './run.js';

async function get_dataset() {
  const data = await load_digits({ flatten: false }); // (n_samples, channels, height, width)
  const [X_train, X_test, y_train, y_test] = train_test_split(R.div(data.X, 16), to_categorical(data.y), { test_size: 0.4, seed: 1 });
  return { X_train, X_test, y_train, y_test };
}

function create_model(X_test: R.Tensor, y_test: R.Tensor, verbose: boolean): NeuralNetwork {
  const model = new NeuralNetwork(new Adam(), 'CrossEntropy', { validation_data: [X_test, y_test] });
  model.add(new Conv2D(1, 16, [3, 3], { padding: 'same', input_shape: [1, 8, 8] }));
  model.add(new Activation('relu'));
  model.add(new MaxPooling2D([2, 2], { stride: 2 }));
  model.add(new Dropout(0.25));
  model.add(new BatchNormalization2D(16));
  model.add(new MaxPooling2D([2, 2], { stride: 2 }));
  model.add(new Conv2D(16, 32, [3, 3], { padding: 'same' }));
  model.add(new Activation('relu'));
  model.add(new MaxPooling2D([2, 2], { stride: 2 }));
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
  return model;
}

export async function main({ n_epochs = 50, verbose = true } = {}): Promise<number> {
  R.manual_seed(42);
  R.initialize(process.env.TOKEN ?? null, { server: process.env.RAVDL_SERVER ?? null });
  R.flush();
  new R.Graph({ name: 'cnn', algorithm: 'convolutional_neural_network', approach: 'distributed' });

  const { X_train, X_test, y_train, y_test } = await get_dataset();
  const model = create_model(X_test, y_test, verbose);
  await model.fit(X_train, y_train, { n_epochs, batch_size: 256, verbose }); // recording: resolves at once
  model.predict(X_test).persist_op({ name: 'prediction' });

  R.activate();
  R.execute();
  await R.track_progress({ stream: verbose ? process.stdout : null });

  if (verbose) console.log(`validation_loss_epoch_${n_epochs}:`, R.fetch_persisting_op({ op_name: `validation_loss_epoch_${n_epochs}` }).item());
  return accuracy_score(y_test, R.fetch_persisting_op({ op_name: 'prediction' }));
}

runIfMainAsync(import.meta, () => main());

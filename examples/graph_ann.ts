// The seed's requester script ann_sequential.py (ravenverse/Requester) ported: the iris ANN is
// recorded into a graph (nothing is computed while it is defined), activated, executed, and its
// persisted test prediction fetched by name. Without RAVDL_SERVER the graph runs in this process.
//   npm run example:graph-ann
import * as R from 'ravdl';
import { NeuralNetwork } from 'ravdl/v2';
import { Activation, BatchNormalization1D, Dense, Dropout } from 'ravdl/v2/layers';
import { Adam } from 'ravdl/v2/optimizers';
import { accuracy_score, load_iris, normalize, to_categorical, train_test_split } from 'ravdl/v2/utils';
import { runIfMainAsync } from './run.js';

async function get_dataset() {
  const { X, y } = await load_iris();
  // 50 test samples: what the script's sklearn split gives for test_size=0.33 (it rounds up), so the
  // 100 training samples make 4 full batches (a batch of 1 cannot be batch-normalized).
  const [X_train, X_test, y_train, y_test] = train_test_split(normalize(X, 0), y, { test_size: 50, seed: 42 });
  return { X: X_train, X_test, y: to_categorical(y_train), y_test, n_hidden: 15, n_features: X.shape[1]! };
}

function create_model(n_hidden: number, n_features: number, verbose: boolean): NeuralNetwork {
  const model = new NeuralNetwork(new Adam(), 'SquareLoss');
  model.add(new Dense(n_hidden, { input_shape: [n_features] }));
  model.add(new BatchNormalization1D());
  model.add(new Dense(30));
  model.add(new Dropout(0.9));
  model.add(new Dense(3));
  model.add(new Activation('softmax'));
  if (verbose) model.summary();
  return model;
}

export async function main({ n_epochs = 100, verbose = true } = {}): Promise<number> {
  R.manual_seed(42);
  // Initialize and create the graph
  R.initialize(process.env.TOKEN ?? null, { server: process.env.RAVDL_SERVER ?? null });
  R.flush();
  new R.Graph({ name: 'ann', algorithm: 'neural_network', approach: 'distributed' });

  const { X, X_test, y, y_test, n_hidden, n_features } = await get_dataset();
  const model = create_model(n_hidden, n_features, verbose);

  // Training is recorded: every batch loss is persisted as training_loss_epoch_{e}_batch_{b}
  await model.fit(X, y, { n_epochs, batch_size: 25, verbose }); // recording: resolves at once
  model.predict(X_test).persist_op({ name: 'test_prediction' });

  // Compile and execute
  R.activate();
  R.execute();
  await R.track_progress({ stream: verbose ? process.stdout : null });

  if (verbose) console.log('training_loss_epoch_1_batch_1:', R.fetch_persisting_op({ op_name: 'training_loss_epoch_1_batch_1' }).item());
  const prediction = R.fetch_persisting_op({ op_name: 'test_prediction' });
  return accuracy_score(y_test, prediction);
}

runIfMainAsync(import.meta, () => main());

// The seed's Functional example (ann_functional.py) ported line by line: custom layers composed
// into a Functional model, trained with batch_iterator and _forward_pass / _backward_pass.
//   npm run example:iris-functional
import * as R from 'ravdl';
import { Functional } from 'ravdl/v2';
import { Activation, BatchNormalization1D, CustomLayer, Dense, Dropout } from 'ravdl/v2/layers';
import { Adam, type Optimizer } from 'ravdl/v2/optimizers';
import { accuracy_score, batch_iterator, load_iris, standardize, to_categorical, train_test_split } from 'ravdl/v2/utils';
import { runIfMainAsync } from './run.js';

const n_hidden = 15;
const n_features = 4;

class CustomLayer1 extends CustomLayer {
  d1 = new Dense(n_hidden, { input_shape: [n_features] });
  bn1 = new BatchNormalization1D({ momentum: 0.99, epsilon: 0.01 });

  _forward_pass_call(input: R.Tensor, training = true): R.Tensor {
    let o = this.d1._forward_pass(input);
    o = this.bn1._forward_pass(o, training);
    return o;
  }
}

class CustomLayer2 extends CustomLayer {
  d1 = new Dense(30);
  dropout = new Dropout(0.9);
  d2 = new Dense(3);

  _forward_pass_call(input: R.Tensor, training = true): R.Tensor {
    let o = this.d1._forward_pass(input);
    o = this.dropout._forward_pass(o, training);
    o = this.d2._forward_pass(o);
    return o;
  }
}

class ANNModel extends Functional {
  custom_layer1 = new CustomLayer1();
  custom_layer2 = new CustomLayer2();
  act = new Activation('softmax');

  constructor(optimizer: Optimizer) {
    super();
    this.initialize_params(optimizer);
  }

  _forward_pass_call(input: R.Tensor, training = true): R.Tensor {
    let o = this.custom_layer1._forward_pass(input, training);
    o = this.custom_layer2._forward_pass(o, training);
    o = this.act._forward_pass(o);
    return o;
  }
}

export async function main({ epochs = 100 } = {}): Promise<number> {
  R.manual_seed(42);
  const { X, y } = await load_iris();
  const [X_train, X_test, y_train, y_test] = train_test_split(standardize(X), to_categorical(y), { test_size: 0.3, seed: 42 });

  const optimizer = new Adam();
  const model = new ANNModel(optimizer);

  for (let i = 0; i < epochs; i++) {
    for (const [X_batch, y_batch] of batch_iterator(X_train, y_train, 25)) {
      const X_t = R.t(X_batch);
      const y_t = R.t(y_batch);

      const out = model._forward_pass(X_t);
      const loss = R.square_loss(y_t, out);
      model._backward_pass(loss);
    }
  }

  const out = model._forward_pass(R.t(X_test), false);
  return accuracy_score(y_test, out);
}

runIfMainAsync(import.meta, () => main());

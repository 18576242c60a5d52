// What Sequential and Functional models share: the backward pass with an optimizer step,
// batched prediction and evaluation, and weight snapshots.
import { ArgError, AttrError, GraphError } from '../../errors.js';
import { isRecording } from '../../ops/define.js';
import { add, mul } from '../../ops/binary.js';
import { full } from '../../ops/creation.js';
import { no_grad } from '../../autograd/mode.js';
import { tidy } from '../../tensor/scope.js';
import { Tensor } from '../../tensor/tensor.js';
import { concat } from '../../ops/join.js';
import type { NamedTensors } from '../layers/layer.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { sliceRows } from '../utils/rows.js';
import { countCorrect } from './data.js';
import type { Loss } from './losses.js';

export interface Trainable {
  /** The model's forward pass on a batch. */
  _forward_pass(x: Tensor, training?: boolean): Tensor;
  parameters(): NamedTensors;
  state_tensors(): NamedTensors;
  optimizer: Optimizer | null;
}

/** loss.backward(); with step, one optimizer update of every parameter and the gradients reset. */
export function backwardPass(model: Trainable, where: string, loss: Tensor, step: boolean): void {
  if (!(loss instanceof Tensor)) throw new ArgError(`${where}: loss must be a Tensor, got ${String(loss)}`);
  if (loss.size !== 1) throw new ArgError(`${where}: loss must hold one value, got shape [${loss.shape.join(', ')}]`);
  loss.backward();
  if (!step) return;
  if (!model.optimizer) throw new AttrError(`${where}: no optimizer (call initialize_params(optimizer) in the constructor)`);
  const params = model.parameters();
  model.optimizer.step(params);
  model.optimizer.zero_grad(params);
}

export function checkBatchSize(where: string, batch_size: number): void {
  if (!Number.isSafeInteger(batch_size) || batch_size <= 0) throw new AttrError(`${where}: batch_size must be a positive integer, got ${String(batch_size)}`);
}

/** Inference over X in batches (training = false, no tape), joined into one tensor. */
export function predictBatches(model: Trainable, X: Tensor, batch_size: number): Tensor {
  const n = X.shape[0]!;
  // One scope per batch: a batch's intermediates go back to the pool before the next batch runs.
  const run = (batch: () => Tensor) => tidy(() => no_grad(() => model._forward_pass(batch(), false)));
  if (n <= batch_size) return run(() => X);
  return tidy(() => {
    const parts: Tensor[] = [];
    for (let b = 0; b < n; b += batch_size) parts.push(run(() => sliceRows(X, b, Math.min(n, b + batch_size))));
    return concat(parts, 0);
  });
}

export interface Evaluation {
  loss: number;
  /** For classifiers: the fraction of samples whose argmax matches the target. */
  accuracy?: number;
}

/** Mean loss (weighted by batch sizes) and accuracy of the model on (X, y), without training. */
export function evaluateBatches(model: Trainable, loss: Loss, X: Tensor, y: Tensor, batch_size: number, withAccuracy: boolean): Evaluation {
  const n = X.shape[0]!;
  let total = 0;
  let correct = 0;
  for (let b = 0; b < n; b += batch_size) {
    const e = Math.min(n, b + batch_size);
    tidy(() =>
      no_grad(() => {
        const yb = sliceRows(y, b, e);
        const out = model._forward_pass(sliceRows(X, b, e), false);
        total += loss.fn(yb, out).item() * (e - b);
        if (withAccuracy) correct += countCorrect(out, yb);
      }),
    );
  }
  return withAccuracy ? { loss: total / n, accuracy: correct / n } : { loss: total / n };
}

/** Graph mode: the mean loss over (X, y) in batches, as a recorded value (weighted by batch sizes). */
export function lossOverBatches(model: Trainable, loss: Loss, X: Tensor, y: Tensor, batch_size: number): Tensor {
  const n = X.shape[0]!;
  return no_grad(() => {
    let total: Tensor | null = null;
    for (let b = 0; b < n; b += batch_size) {
      const e = Math.min(n, b + batch_size);
      const part = mul(loss.fn(sliceRows(y, b, e), model._forward_pass(sliceRows(X, b, e), false)), (e - b) / n);
      total = total ? add(total, part) : part;
    }
    return total ?? full([], NaN);
  });
}

/** Throws GraphError while a graph is being defined: the caller needs values, which exist only after it runs. */
export function needsValues(where: string, instead: string): void {
  if (isRecording()) throw new GraphError(`${where}: needs computed values, which a graph being defined does not have yet; ${instead}`);
}

/** Copies of every parameter and buffer, by name. */
export function getWeights(model: Trainable): Map<string, Float32Array | Int32Array> {
  return new Map(model.state_tensors().map(([k, v]) => [k, v._data.slice()]));
}

export function setWeights(model: Trainable, w: ReadonlyMap<string, Float32Array | Int32Array>): void {
  for (const [k, v] of model.state_tensors()) {
    const src = w.get(k);
    if (!src || src.length !== v.size) throw new ArgError(`set_weights: no value of ${v.size} elements for '${k}'`);
    v._data.set(src);
  }
}

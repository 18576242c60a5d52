// The model losses by the seed's names: 'SquareLoss' (mean squared error) and 'CrossEntropy'
// (softmax cross-entropy on logits, or on a softmax output through its logits), or a function.
import { AttrError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { cross_entropy_loss, square_loss } from '../../ops/loss.js';

export type LossName = 'SquareLoss' | 'CrossEntropy';
export type LossFn = (y_true: Tensor, y_pred: Tensor) => Tensor;

export interface Loss {
  /** The name save() stores; null for a user function. */
  name: LossName | null;
  fn: LossFn;
  /** Targets are classes (accuracy is reported, labels are range-checked). */
  classifier: boolean;
}

// A Map: a name from a file or a user ('constructor', 'toString') must never hit Object's properties.
const LOSSES = new Map<string, Loss>([
  ['SquareLoss', { name: 'SquareLoss', fn: (t, p) => square_loss(t, p), classifier: false }],
  ['CrossEntropy', { name: 'CrossEntropy', fn: (t, p) => cross_entropy_loss(t, p), classifier: true }],
]);

/** Every loss name NeuralNetwork accepts. */
export const LOSS_NAMES: readonly string[] = [...LOSSES.keys()];

export function resolveLoss(loss: LossName | LossFn, where = 'NeuralNetwork'): Loss {
  if (typeof loss === 'function') return { name: null, fn: loss, classifier: false };
  const l = typeof loss === 'string' ? LOSSES.get(loss) : undefined;
  if (!l) throw new AttrError(`${where}: unknown loss ${typeof loss === 'string' ? `'${loss}'` : String(loss)} (valid: ${LOSS_NAMES.join(', ')}, or a function (y_true, y_pred) => Tensor)`);
  return l;
}

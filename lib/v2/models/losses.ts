// The model losses by name: the seed's 'SquareLoss' (mean squared error) and 'CrossEntropy'
// (softmax cross-entropy on logits, or on a softmax output through its logits); 'L1Loss' (mean
// absolute error), 'HuberLoss' (delta 1), 'BinaryCrossEntropy' (on probabilities, e.g. after a
// sigmoid) and 'BinaryCrossEntropyWithLogits' (on logits), each the mean over every element of
// targets shaped like the output; or a function.
import { AttrError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { cross_entropy_loss, square_loss } from '../../ops/loss.js';
import { binary_cross_entropy, binary_cross_entropy_with_logits, huber_loss, l1_loss } from '../../ops/pointwise_loss.js';

export type LossName = 'SquareLoss' | 'CrossEntropy' | 'L1Loss' | 'HuberLoss' | 'BinaryCrossEntropy' | 'BinaryCrossEntropyWithLogits';
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
  ['L1Loss', { name: 'L1Loss', fn: (t, p) => l1_loss(p, t), classifier: false }],
  ['HuberLoss', { name: 'HuberLoss', fn: (t, p) => huber_loss(p, t), classifier: false }],
  // Binary targets (0/1 or soft) per output: no class-index targets and no argmax accuracy.
  ['BinaryCrossEntropy', { name: 'BinaryCrossEntropy', fn: (t, p) => binary_cross_entropy(p, t), classifier: false }],
  ['BinaryCrossEntropyWithLogits', { name: 'BinaryCrossEntropyWithLogits', fn: (t, p) => binary_cross_entropy_with_logits(p, t), classifier: false }],
]);

/** Every loss name NeuralNetwork accepts. */
export const LOSS_NAMES: readonly string[] = [...LOSSES.keys()];

export function resolveLoss(loss: LossName | LossFn, where = 'NeuralNetwork'): Loss {
  if (typeof loss === 'function') return { name: null, fn: loss, classifier: false };
  const l = typeof loss === 'string' ? LOSSES.get(loss) : undefined;
  if (!l) throw new AttrError(`${where}: unknown loss ${typeof loss === 'string' ? `'${loss}'` : String(loss)} (valid: ${LOSS_NAMES.join(', ')}, or a function (y_true, y_pred) => Tensor)`);
  return l;
}

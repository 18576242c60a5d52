// Elementwise losses: l1_loss, huber_loss, binary_cross_entropy (probabilities) and
// binary_cross_entropy_with_logits, against torch.nn.functional (targets get gradients too).
import type { InputSpec, OpCase } from '../case.js';

const f = (...shapes: number[][]): InputSpec[] => shapes.map((shape) => ({ shape }));
const fixed = (shape: number[], extra: Partial<InputSpec> = {}): InputSpec => ({ shape, grad: false, ...extra });
/** Probabilities away from 0 and 1 (finite differences stay inside the domain). */
const probs = (shape: number[]): InputSpec => ({ shape, init: 'uniform', low: 0.05, high: 0.95 });
const soft = (shape: number[]): InputSpec => ({ shape, init: 'uniform', low: 0, high: 1 });
// |pred - target| has a kink at 0: a small step keeps the finite difference on one side.
const kink = { eps: 1e-3 };

const l1: OpCase[] = [
  { op: 'l1_loss', id: 'mean', inputs: f([4, 3], [4, 3]), torch: 'F.l1_loss(a, b)', call: (R, [p, t]) => R.l1_loss(p!, t!), fd: kink },
  { op: 'l1_loss', id: 'sum', inputs: f([2, 3, 2], [2, 3, 2]), torch: "F.l1_loss(a, b, reduction='sum')", call: (R, [p, t]) => R.l1_loss(p!, t!, { reduction: 'sum' }), fd: kink },
  { op: 'l1_loss', id: 'none', inputs: f([3, 4], [3, 4]), torch: "F.l1_loss(a, b, reduction='none')", call: (R, [p, t]) => R.l1_loss(p!, t!, { reduction: 'none' }), fd: kink },
  { op: 'l1_loss', id: 'empty-mean-nan', inputs: f([0, 3], [0, 3]), torch: 'F.l1_loss(a, b)', call: (R, [p, t]) => R.l1_loss(p!, t!) },
];

const huber: OpCase[] = [
  // randn inputs with these deltas put elements on both sides of the bend.
  { op: 'huber_loss', id: 'mean-default-delta', inputs: f([5, 4], [5, 4]), torch: 'F.huber_loss(a, b)', call: (R, [p, t]) => R.huber_loss(p!, t!), fd: kink },
  { op: 'huber_loss', id: 'sum-delta', inputs: f([3, 6], [3, 6]), torch: "F.huber_loss(a, b, reduction='sum', delta=0.5)", call: (R, [p, t]) => R.huber_loss(p!, t!, { reduction: 'sum', delta: 0.5 }), fd: kink },
  { op: 'huber_loss', id: 'none-delta', inputs: f([2, 3, 4], [2, 3, 4]), torch: "F.huber_loss(a, b, reduction='none', delta=2.0)", call: (R, [p, t]) => R.huber_loss(p!, t!, { reduction: 'none', delta: 2 }), fd: kink },
];

const bce: OpCase[] = [
  { op: 'binary_cross_entropy', id: 'mean', inputs: [probs([6, 3]), soft([6, 3])], torch: 'F.binary_cross_entropy(a, b)', call: (R, [p, t]) => R.binary_cross_entropy(p!, t!), fd: { eps: 1e-3 } },
  { op: 'binary_cross_entropy', id: 'hard-targets-sum', inputs: [probs([8]), fixed([8], { init: 'binary' })], torch: "F.binary_cross_entropy(a, b, reduction='sum')", call: (R, [p, t]) => R.binary_cross_entropy(p!, t!, { reduction: 'sum' }), fd: { eps: 1e-3 } },
  {
    op: 'binary_cross_entropy',
    id: 'weight-broadcast-none',
    inputs: [probs([4, 3]), soft([4, 3]), fixed([3], { init: 'positive' })],
    torch: "F.binary_cross_entropy(a, b, weight=c, reduction='none')",
    call: (R, [p, t, w]) => R.binary_cross_entropy(p!, t!, { weight: w!, reduction: 'none' }),
    fd: { eps: 1e-3 },
  },
  {
    op: 'binary_cross_entropy',
    id: 'weight-full-mean',
    inputs: [probs([2, 5]), soft([2, 5]), fixed([2, 5], { init: 'positive' })],
    torch: 'F.binary_cross_entropy(a, b, weight=c)',
    call: (R, [p, t, w]) => R.binary_cross_entropy(p!, t!, { weight: w! }),
    fd: { eps: 1e-3 },
  },
  // pred exactly 0 and 1: every log is clamped at -100, so the loss stays finite.
  { op: 'binary_cross_entropy', id: 'clamped-log', inputs: [fixed([3, 4], { init: 'binary' }), fixed([3, 4], { init: 'uniform', low: 0, high: 1 })], torch: "F.binary_cross_entropy(a, b, reduction='none')", call: (R, [p, t]) => R.binary_cross_entropy(p!, t!, { reduction: 'none' }) },
];

const logits: OpCase[] = [
  { op: 'binary_cross_entropy_with_logits', id: 'mean', inputs: [{ shape: [6, 3] }, soft([6, 3])], torch: 'F.binary_cross_entropy_with_logits(a, b)', call: (R, [x, t]) => R.binary_cross_entropy_with_logits(x!, t!) },
  {
    op: 'binary_cross_entropy_with_logits',
    id: 'pos-weight-per-class-none',
    inputs: [{ shape: [4, 3] }, fixed([4, 3], { init: 'binary' }), fixed([3], { init: 'positive' })],
    torch: "F.binary_cross_entropy_with_logits(a, b, pos_weight=c, reduction='none')",
    call: (R, [x, t, q]) => R.binary_cross_entropy_with_logits(x!, t!, { pos_weight: q!, reduction: 'none' }),
  },
  {
    op: 'binary_cross_entropy_with_logits',
    id: 'weight-and-pos-weight-sum',
    inputs: [{ shape: [2, 3, 4] }, soft([2, 3, 4]), fixed([3, 1], { init: 'positive' }), fixed([4], { init: 'positive' })],
    torch: "F.binary_cross_entropy_with_logits(a, b, weight=c, pos_weight=d, reduction='sum')",
    call: (R, [x, t, w, q]) => R.binary_cross_entropy_with_logits(x!, t!, { weight: w!, pos_weight: q!, reduction: 'sum' }),
  },
  {
    op: 'binary_cross_entropy_with_logits',
    id: 'weight-mean',
    inputs: [{ shape: [5, 2] }, soft([5, 2]), fixed([5, 1], { init: 'positive' })],
    torch: 'F.binary_cross_entropy_with_logits(a, b, weight=c)',
    call: (R, [x, t, w]) => R.binary_cross_entropy_with_logits(x!, t!, { weight: w! }),
  },
  // Large logits: computed from the logits, never through log(sigmoid) of a saturated value.
  { op: 'binary_cross_entropy_with_logits', id: 'large-logits', inputs: [{ shape: [10], init: 'uniform', low: -40, high: 40 }, fixed([10], { init: 'binary' })], torch: "F.binary_cross_entropy_with_logits(a, b, reduction='none')", call: (R, [x, t]) => R.binary_cross_entropy_with_logits(x!, t!, { reduction: 'none' }) },
];

export const cases: OpCase[] = [...l1, ...huber, ...bce, ...logits];

// Inverted dropout on the counter-based Philox stream. The op outputs a float32 mask holding
// 0 or 1/(1-p) (the native byte mask cannot be a Tensor), so the gradient is just gy * mask and
// a recorded graph replays the same mask from the (seed, offset) attributes.
import { nextStream } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { type TensorLike, toTensor } from '../tensor/create.js';
import { type AttrSchema, bool, int, num, parseAttrs, required } from './attrs.js';
import { defineOp, dispatch } from './define.js';
import { mul } from './binary.js';
import { pos } from './unary.js';

interface DropoutAttrs {
  p: number;
  training: boolean;
  seed: number;
  offset: number;
}
const schema: AttrSchema<DropoutAttrs> = {
  p: { check: num({ min: 0, max: 1 }), default: 0.5 },
  training: { check: bool, default: true },
  seed: { check: int({ min: 0 }), default: required },
  offset: { check: int({ min: 0 }), default: required },
};

const dropoutOp = defineOp<DropoutAttrs>({
  name: 'dropout',
  doc: 'zeroes each element with probability p and scales the rest by 1/(1-p): x -> [y, mask (0 or 1/(1-p))]; identity unless training',
  inputs: [{ name: 'x' }],
  attrs: schema,
  infer: ([x]) => [
    { shape: x!.shape, dtype: 'float32' },
    { shape: x!.shape, dtype: 'float32', differentiable: false },
  ],
  grad: ({ outputs: [, mask], grads: [gy] }) => [mul(gy!, mask!)],
});

export interface DropoutOptions {
  /** Probability of zeroing an element, in [0, 1] (default 0.5). */
  p?: number;
  /** Default true (torch.nn.functional.dropout's default); false is the identity. */
  training?: boolean;
  /** Philox stream; default: the next range of the global generator (R.manual_seed). */
  seed?: number;
  /** Default 0 when seed is given. */
  offset?: number;
}

/**
 * Inverted dropout like torch.nn.functional.dropout; reproducible under R.manual_seed.
 *
 * Catalog op `dropout`: zeroes each element with probability p and scales the rest by 1/(1-p): x -> [y, mask (0 or 1/(1-p))]; identity unless training.
 */
export function dropout(x: TensorLike, options: DropoutOptions = {}): Tensor {
  options ??= {};
  const xt = toTensor(x, 'dropout');
  const probe = parseAttrs('dropout', schema, { ...options, seed: options.seed ?? 0, offset: options.offset ?? 0 });
  if (!probe.training || probe.p === 0) return pos(xt); // identity, without drawing from the stream
  const at = options.seed === undefined ? nextStream(xt.size) : { seed: probe.seed, offset: probe.offset };
  return dispatch(dropoutOp, [xt], { ...probe, ...at })[0]!;
}

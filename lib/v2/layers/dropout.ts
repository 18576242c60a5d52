// Dropout(p): zeroes each element with probability p while training (scaling the rest by
// 1/(1-p), like torch.nn.Dropout); the identity at inference.
import { AttrError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { dropout } from '../../ops/dropout.js';
import { Layer, type LayerOptions } from './layer.js';

export class Dropout extends Layer {
  /** Probability of dropping an element (the seed's meaning, as torch's). */
  readonly p: number;

  constructor(p = 0.5, options: LayerOptions = {}) {
    super(options);
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new AttrError(`Dropout: p must be a probability in [0, 1], got ${String(p)}`);
    this.p = p;
  }

  get_config(): Record<string, unknown> {
    return { p: this.p, input_shape: this.input_shape };
  }

  protected forward(x: Tensor, training: boolean): Tensor {
    return dropout(x, { p: this.p, training });
  }
}

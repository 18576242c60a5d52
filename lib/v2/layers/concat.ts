// Concat({ axis }): concatenates 1 or more tensors along axis, a dim of the batch tensor like
// torch.cat's dim. The default is -1 (features), not torch's 0, which would stack batches.
import { AttrError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { concat } from '../../ops/join.js';
import type { LayerOptions } from './layer.js';
import { MultiInputLayer } from './multi_input.js';

export interface ConcatOptions extends LayerOptions {
  axis?: number;
}

export class Concat extends MultiInputLayer {
  readonly axis: number;

  constructor(options: ConcatOptions = {}) {
    super(options);
    this.axis = options.axis ?? -1;
    if (!Number.isSafeInteger(this.axis)) throw new AttrError(`Concat: axis must be an integer, got ${String(this.axis)}`);
  }

  protected arity(): [number, number] {
    return [1, Infinity];
  }

  protected combine(inputs: Tensor[]): Tensor {
    return concat(inputs, this.axis);
  }

  get_config(): Record<string, unknown> {
    return { axis: this.axis, input_shape: this.input_shape };
  }
}

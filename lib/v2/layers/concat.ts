// Concat({ axis }): concatenates 1 or more tensors along axis, a dim of the batch tensor like
// torch.cat's dim. The default is -1 (features), not torch's 0, which would stack batches.
import type { Tensor } from '../../tensor/tensor.js';
import { concat } from '../../ops/join.js';
import { int, parseAttrs } from '../../ops/attrs.js';
import { LAYER_OPTIONS, type LayerOptions } from './layer.js';
import { MultiInputLayer } from './multi_input.js';

export interface ConcatOptions extends LayerOptions {
  axis?: number;
}

const schema = { ...LAYER_OPTIONS, axis: { check: int(), default: -1 } };

export class Concat extends MultiInputLayer {
  readonly axis: number;

  constructor(options: ConcatOptions = {}) {
    super(options, schema);
    this.axis = parseAttrs('Concat', schema, options).axis;
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

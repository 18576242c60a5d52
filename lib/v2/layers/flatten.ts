// Flatten(start_dim=1, end_dim=-1), like torch.nn.Flatten: dims are of the batch tensor.
import type { Tensor } from '../../tensor/tensor.js';
import { flatten } from '../../ops/shape.js';
import { int, parseAttrs } from '../../ops/attrs.js';
import { LAYER_OPTIONS, Layer, type LayerOptions } from './layer.js';

export interface FlattenOptions extends LayerOptions {
  start_dim?: number;
  end_dim?: number;
}

const schema = { ...LAYER_OPTIONS, start_dim: { check: int(), default: 1 }, end_dim: { check: int(), default: -1 } };

export class Flatten extends Layer {
  readonly start_dim: number;
  readonly end_dim: number;

  constructor(options: FlattenOptions = {}) {
    super(options, schema);
    ({ start_dim: this.start_dim, end_dim: this.end_dim } = parseAttrs('Flatten', schema, options));
  }

  get_config(): Record<string, unknown> {
    return { start_dim: this.start_dim, end_dim: this.end_dim, input_shape: this.input_shape };
  }

  protected forward(x: Tensor): Tensor {
    return flatten(x, this.start_dim, this.end_dim);
  }
}

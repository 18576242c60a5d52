// Flatten(start_dim=1, end_dim=-1), like torch.nn.Flatten: dims are of the batch tensor.
import { AttrError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { flatten } from '../../ops/shape.js';
import { Layer, type LayerOptions } from './layer.js';

export interface FlattenOptions extends LayerOptions {
  start_dim?: number;
  end_dim?: number;
}

export class Flatten extends Layer {
  readonly start_dim: number;
  readonly end_dim: number;

  constructor(options: FlattenOptions = {}) {
    super(options);
    this.start_dim = options.start_dim ?? 1;
    this.end_dim = options.end_dim ?? -1;
    for (const [k, v] of [['start_dim', this.start_dim], ['end_dim', this.end_dim]] as const) {
      if (!Number.isSafeInteger(v)) throw new AttrError(`Flatten: ${k} must be an integer, got ${String(v)}`);
    }
  }

  get_config(): Record<string, unknown> {
    return { start_dim: this.start_dim, end_dim: this.end_dim, input_shape: this.input_shape };
  }

  protected forward(x: Tensor): Tensor {
    return flatten(x, this.start_dim, this.end_dim);
  }
}

// Reshape(shape): reshapes each sample to `shape` (the batch dim is kept; one entry may be -1).
import { AttrError, ShapeError } from '../../errors.js';
import { type Tensor, numel, shapeStr } from '../../tensor/tensor.js';
import { reshape } from '../../ops/shape.js';
import { Layer, type LayerOptions } from './layer.js';

export class Reshape extends Layer {
  readonly shape: number[];

  constructor(shape: readonly number[], options: LayerOptions = {}) {
    super(options);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d > 0 || d === -1)) || shape.filter((d) => d === -1).length > 1) {
      throw new AttrError(`Reshape: shape must be a list of positive integers with at most one -1, got ${JSON.stringify(shape)}`);
    }
    this.shape = [...shape];
  }

  get_config(): Record<string, unknown> {
    return { shape: this.shape, input_shape: this.input_shape };
  }

  protected _build(input_shape: number[]): void {
    const n = numel(input_shape);
    const known = numel(this.shape.filter((d) => d !== -1));
    if (this.shape.includes(-1) ? n % known !== 0 : n !== known) {
      throw new ShapeError(`${this.describe()}: cannot reshape samples of shape ${shapeStr(input_shape)} (${n} values) to ${shapeStr(this.shape)}`);
    }
  }

  protected forward(x: Tensor): Tensor {
    return reshape(x, [x.shape[0]!, ...this.shape]);
  }
}

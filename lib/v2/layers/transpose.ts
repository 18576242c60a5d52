// Transpose: permutes the dims of the batch tensor (like torch.permute; dims count the batch
// dim as 0), either all of them — new Transpose([0, 2, 1]) — or two of them swapped like
// torch.transpose — new Transpose(1, 2).
import { AttrError, ShapeError } from '../../errors.js';
import { type Tensor, shapeStr } from '../../tensor/tensor.js';
import { permute, swapaxes } from '../../ops/shape.js';
import { Layer, type LayerOptions } from './layer.js';

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

export class Transpose extends Layer {
  /** The full permutation, or null when two dims are swapped. */
  readonly axes: number[] | null;
  /** The two swapped dims, or null when axes is given. */
  readonly dims: [number, number] | null;

  constructor(axes: readonly number[], options?: LayerOptions);
  constructor(dim0: number, dim1: number, options?: LayerOptions);
  constructor(a: readonly number[] | number, b?: number | LayerOptions, c?: LayerOptions) {
    super((Array.isArray(a) ? (b as LayerOptions | undefined) : c) ?? {});
    if (Array.isArray(a)) {
      const n = a.length;
      if (!a.every((d) => isInt(d) && d >= -n && d < n) || new Set(a.map((d) => (d + n) % n)).size !== n) {
        throw new AttrError(`Transpose: axes must be a permutation of the tensor's dims, got ${JSON.stringify(a)}`);
      }
      this.axes = a.map((d) => (d + n) % n);
      this.dims = null;
    } else {
      if (!isInt(a) || !isInt(b)) throw new AttrError(`Transpose: give a list of axes or two integer dims, got ${JSON.stringify(a)}, ${JSON.stringify(b)}`);
      this.axes = null;
      this.dims = [a, b];
    }
  }

  get_config(): Record<string, unknown> {
    return this.axes ? { axes: this.axes, input_shape: this.input_shape } : { dims: this.dims, input_shape: this.input_shape };
  }

  protected _build(input_shape: number[]): void {
    const rank = input_shape.length + 1;
    const bad = this.axes ? this.axes.length !== rank : this.dims!.some((d) => d < -rank || d >= rank);
    if (bad) {
      throw new ShapeError(`${this.describe()}: ${this.axes ? `axes ${JSON.stringify(this.axes)}` : `dims ${JSON.stringify(this.dims)}`} do not fit inputs of rank ${rank} (samples of shape ${shapeStr(input_shape)})`);
    }
  }

  protected forward(x: Tensor): Tensor {
    return this.axes ? permute(x, this.axes) : swapaxes(x, this.dims![0], this.dims![1]);
  }
}

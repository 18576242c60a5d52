// CustomLayer: a layer composed of other layers, as in the seed. A subclass assigns layers to
// its own properties in the constructor and defines _forward_pass_call(input, training); the
// sublayers (found among its properties, also inside arrays) build themselves on first use and
// their parameters are named after the properties (e.g. 'custom_layer1.d1.W').
import { ArgError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, type NamedTensors } from './layer.js';

export abstract class CustomLayer extends Layer {
  /** The computation, written with sublayers' _forward_pass and R ops. */
  abstract _forward_pass_call(input: Tensor, training: boolean): Tensor;

  override _forward_pass(x: Tensor, training = true): Tensor {
    if (x == null || typeof (x as Tensor).shape !== 'object') throw new ArgError(`${this.describe()}: input must be a Tensor, got ${String(x)}`);
    if (!this.input_shape && x.ndim >= 1) this.input_shape = x.shape.slice(1);
    this.nameSublayers();
    return this._forward_pass_call(x, training);
  }

  protected forward(x: Tensor, training: boolean): Tensor {
    return this._forward_pass_call(x, training);
  }

  override get built(): boolean {
    return this.sublayers().every(([, l]) => l.built);
  }

  override get_config(): Record<string, unknown> {
    return {};
  }

  /** [property path, layer] for every direct sublayer, in property order. */
  sublayers(): Array<[string, Layer]> {
    const out: Array<[string, Layer]> = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Layer) out.push([key, value]);
      else if (Array.isArray(value)) value.forEach((v, i) => v instanceof Layer && out.push([`${key}.${i}`, v]));
    }
    return out;
  }

  override parameters(): NamedTensors {
    if (!this.trainable) return [];
    this.nameSublayers();
    return this.sublayers().flatMap(([, l]) => (l.trainable ? l.parameters() : []));
  }

  override state_tensors(): NamedTensors {
    this.nameSublayers();
    return this.sublayers().flatMap(([, l]) => l.state_tensors());
  }

  override parameters_count(): number {
    return this.sublayers().reduce((n, [, l]) => n + l.parameters_count(), 0);
  }

  override load_state(values: ReadonlyMap<string, Tensor>): void {
    this.nameSublayers();
    for (const [, l] of this.sublayers()) l.load_state(values);
  }

  /** Gives every sublayer its path as name, so parameter names are stable and unique. */
  protected nameSublayers(): void {
    for (const [key, l] of this.sublayers()) {
      const name = this.name ? `${this.name}.${key}` : key;
      if (l.name !== name) l.name = name;
    }
  }
}

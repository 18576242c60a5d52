// MultiInputLayer: the base of layers that combine several tensors (Add, Concat, Dot, ...).
// Called as _forward_pass(a, b, training?) or _forward_pass([a, b, ...], training?); the layer is
// built (and its input_shape fixed) from the first input's sample shape. A layer whose arity()
// allows one input (Power with a fixed exponent) also works in a Sequential chain via the base's
// single-tensor path, which lands in the same combine().
import { ArgError, ShapeError } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { Layer } from './layer.js';

export abstract class MultiInputLayer extends Layer {
  /** Allowed numbers of inputs: [min, max] (max Infinity for Concat). */
  protected abstract arity(): [number, number];

  /** Computes the output from the (checked) inputs with catalog ops. */
  protected abstract combine(inputs: Tensor[], training: boolean): Tensor;

  override _forward_pass(a: Tensor | readonly Tensor[], b?: Tensor | boolean, training?: boolean): Tensor {
    let inputs: Tensor[];
    if (Array.isArray(a)) {
      inputs = [...a];
      if (typeof b === 'boolean') training = b;
      else if (b !== undefined) throw new ArgError(`${this.describe()}: give the inputs either as one array or as separate tensors, not both`);
    } else {
      inputs = [a as Tensor];
      if (b instanceof Tensor) inputs.push(b);
      else if (typeof b === 'boolean') training = b;
      else if (b != null) throw new ArgError(`${this.describe()}: second argument must be a Tensor or the training flag, got ${String(b)}`);
    }
    const [min, max] = this.arity();
    if (inputs.length < min || inputs.length > max) {
      const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new ArgError(`${this.describe()}: takes ${want} input tensor${min === 1 && max === 1 ? '' : 's'}, got ${inputs.length}`);
    }
    inputs.forEach((x, i) => {
      if (!(x instanceof Tensor)) throw new ArgError(`${this.describe()}: input ${i} must be a Tensor, got ${String(x)}`);
      if (x.ndim < 1) throw new ShapeError(`${this.describe()}: input ${i} must have a batch dimension, got a 0-d tensor`);
    });
    this.build(inputs[0]!.shape.slice(1));
    return this.combine(inputs, training ?? true);
  }

  protected forward(x: Tensor, training: boolean): Tensor {
    return this.combine([x], training);
  }
}

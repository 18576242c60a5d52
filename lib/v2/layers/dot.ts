// Dot: matrix product of two inputs with torch.matmul semantics (batched, broadcasting), e.g.
// attention scores q @ k^T (put a Transpose before it for the k^T).
import type { Tensor } from '../../tensor/tensor.js';
import { matmul } from '../../ops/matmul.js';
import { MultiInputLayer } from './multi_input.js';

export class Dot extends MultiInputLayer {
  protected arity(): [number, number] {
    return [2, 2];
  }
  protected combine([a, b]: Tensor[]): Tensor {
    return matmul(a!, b!);
  }
  get_config(): Record<string, unknown> {
    return { input_shape: this.input_shape };
  }
}

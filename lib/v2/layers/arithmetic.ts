// Elementwise two-input layers (broadcasting like torch): Add, Subtract, Multiply, Division, and
// Power (x ** power with a fixed exponent, or a ** b with two inputs).
import type { Tensor } from '../../tensor/tensor.js';
import { add, div, mul, pow, sub } from '../../ops/binary.js';
import { num, nullable, parseAttrs } from '../../ops/attrs.js';
import { LAYER_OPTIONS, type LayerOptions } from './layer.js';
import { MultiInputLayer } from './multi_input.js';

abstract class Binary extends MultiInputLayer {
  protected abstract readonly op: (a: Tensor, b: Tensor) => Tensor;
  protected arity(): [number, number] {
    return [2, 2];
  }
  protected combine([a, b]: Tensor[]): Tensor {
    return this.op(a!, b!);
  }
  get_config(): Record<string, unknown> {
    return { input_shape: this.input_shape };
  }
}

/** a + b. */
export class Add extends Binary {
  protected op = add;
}
/** a - b. */
export class Subtract extends Binary {
  protected op = sub;
}
/** a * b (elementwise). */
export class Multiply extends Binary {
  protected op = mul;
}
/** a / b. */
export class Division extends Binary {
  protected op = div;
}

export interface PowerOptions extends LayerOptions {
  /** The exponent; null (default) makes the layer take two inputs: a ** b. */
  power?: number | null;
}

const powerSchema = { ...LAYER_OPTIONS, power: { check: nullable(num()), default: null as number | null } };

export class Power extends MultiInputLayer {
  readonly power: number | null;

  constructor(options: PowerOptions = {}) {
    super(options, powerSchema);
    this.power = parseAttrs('Power', powerSchema, options).power;
  }

  protected arity(): [number, number] {
    return this.power === null ? [2, 2] : [1, 1];
  }

  protected combine([a, b]: Tensor[]): Tensor {
    return pow(a!, this.power ?? b!);
  }

  get_config(): Record<string, unknown> {
    return { power: this.power, input_shape: this.input_shape };
  }
}

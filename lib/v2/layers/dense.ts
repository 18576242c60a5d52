// Dense (torch.nn.Linear): y = x W^T + w0 with W in PyTorch layout (n_units, input_dim).
import { ArgError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { add } from '../../ops/binary.js';
import { matmul } from '../../ops/matmul.js';
import { uniform } from '../../ops/creation.js';
import { any, bool, parseAttrs } from '../../ops/attrs.js';
import { LAYER_OPTIONS, Layer, type LayerOptions } from './layer.js';

export interface DenseOptions extends LayerOptions {
  /** (n_units, input_dim), as torch stores Linear.weight. */
  initial_W?: unknown;
  /** (n_units). */
  initial_w0?: unknown;
  use_bias?: boolean;
}

const schema = {
  ...LAYER_OPTIONS,
  initial_W: { check: any, default: undefined as unknown },
  initial_w0: { check: any, default: undefined as unknown },
  use_bias: { check: bool, default: true },
};

export class Dense extends Layer {
  readonly n_units: number;
  readonly use_bias: boolean;
  private readonly initial_W: unknown;
  private readonly initial_w0: unknown;

  constructor(n_units: number, options: DenseOptions = {}) {
    super(options, schema);
    const o = parseAttrs('Dense', schema, options);
    if (!Number.isSafeInteger(n_units) || n_units <= 0) throw new ArgError(`Dense: n_units must be a positive integer, got ${String(n_units)}`);
    this.n_units = n_units;
    this.use_bias = o.use_bias;
    this.initial_W = o.initial_W;
    this.initial_w0 = o.initial_w0;
  }

  get_config(): Record<string, unknown> {
    return { n_units: this.n_units, use_bias: this.use_bias, input_shape: this.input_shape };
  }

  protected _build(input_shape: number[]): void {
    const fanIn = input_shape[input_shape.length - 1]!;
    const bound = 1 / Math.sqrt(fanIn); // torch's default: kaiming_uniform(a=sqrt(5)) and the bias rule
    this.addParam('W', [this.n_units, fanIn], this.initial_W, () => uniform([this.n_units, fanIn], -bound, bound));
    if (this.use_bias) this.addParam('w0', [this.n_units], this.initial_w0, () => uniform([this.n_units], -bound, bound));
  }

  protected forward(x: Tensor): Tensor {
    const y = matmul(x, this.params.get('W')!, { trans_b: true });
    const b = this.params.get('w0');
    return b ? add(y, b) : y;
  }
}

// Activation(name, options): the seed's 16 activation names, each one catalog op.
import { AttrError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import * as U from '../../ops/unary.js';
import { softmax, softmin } from '../../ops/softmax.js';
import { zeros } from '../../ops/creation.js';
import { tidy } from '../../tensor/scope.js';
import { Layer, type LayerOptions } from './layer.js';

type Fn = (x: Tensor, o: Record<string, unknown>) => Tensor;
// Option names are the PyTorch functions' own (negative_slope, alpha, beta, threshold, lambd,
// min_val, max_val, value); softmax/softmin take `axis` (default -1, the class axis of (N, C)).
// A Map: a name from a file ('constructor', 'toString') must never hit Object's properties.
const ACTIVATIONS = new Map<string, { fn: Fn; options: string[] }>(
  Object.entries({
    relu: { fn: (x) => U.relu(x), options: [] },
    sigmoid: { fn: (x) => U.sigmoid(x), options: [] },
    tanh: { fn: (x) => U.tanh(x), options: [] },
    softmax: { fn: (x, o) => softmax(x, (o.axis as number) ?? -1), options: ['axis'] },
    leaky_relu: { fn: (x, o) => U.leaky_relu(x, o), options: ['negative_slope'] },
    elu: { fn: (x, o) => U.elu(x, o), options: ['alpha'] },
    selu: { fn: (x) => U.selu(x), options: [] },
    softplus: { fn: (x, o) => U.softplus(x, o), options: ['beta', 'threshold'] },
    softsign: { fn: (x) => U.softsign(x), options: [] },
    tanhshrink: { fn: (x) => U.tanhshrink(x), options: [] },
    logsigmoid: { fn: (x) => U.logsigmoid(x), options: [] },
    hardshrink: { fn: (x, o) => U.hardshrink(x, o), options: ['lambd'] },
    hardtanh: { fn: (x, o) => U.hardtanh(x, o), options: ['min_val', 'max_val'] },
    softmin: { fn: (x, o) => softmin(x, (o.axis as number) ?? -1), options: ['axis'] },
    softshrink: { fn: (x, o) => U.softshrink(x, o), options: ['lambd'] },
    threshold: { fn: (x, o) => U.threshold(x, o as never), options: ['threshold', 'value'] },
  } satisfies Record<string, { fn: Fn; options: string[] }>),
);

/** Every activation name Activation() accepts. */
export const ACTIVATION_NAMES: readonly string[] = [...ACTIVATIONS.keys()];

export class Activation extends Layer {
  readonly activation: string;
  readonly options: Record<string, unknown>;
  private readonly fn: Fn;

  constructor(name = 'relu', options: LayerOptions & Record<string, unknown> = {}) {
    const { input_shape, ...rest } = options;
    super({ input_shape: input_shape as LayerOptions['input_shape'] });
    const entry = typeof name === 'string' ? ACTIVATIONS.get(name) : undefined;
    if (!entry) throw new AttrError(`Activation: unknown activation ${typeof name === 'string' ? `'${name}'` : String(name)} (valid: ${ACTIVATION_NAMES.join(', ')})`);
    for (const k of Object.keys(rest)) {
      if (!entry.options.includes(k)) {
        throw new AttrError(`Activation('${name}'): unknown option '${k}' (${entry.options.length ? `valid: ${entry.options.join(', ')}` : 'it takes none'})`);
      }
    }
    this.activation = name;
    this.options = rest;
    this.fn = entry.fn;
    // Validate option values now rather than at the first batch.
    if (Object.keys(rest).length) tidy(() => entry.fn(zeros([1, 1]), rest));
  }

  layer_name(): string {
    return 'Activation';
  }

  get_config(): Record<string, unknown> {
    return { name: this.activation, ...this.options, input_shape: this.input_shape };
  }

  protected forward(x: Tensor): Tensor {
    return this.fn(x, this.options);
  }
}

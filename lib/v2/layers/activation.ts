// Activation(name, options): the seed's 16 activation names, each one catalog op. Each name's
// options are its op's attributes (torch's names: negative_slope, alpha, beta, threshold, lambd,
// min_val, max_val, value), validated by the op's own schema; softmax/softmin take `axis`
// (default -1, the class axis of (N, C)).
import { AttrError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import * as U from '../../ops/unary.js';
import { softmax, softmin } from '../../ops/softmax.js';
import { getOp } from '../../ops/define.js';
import { type AttrSchema, int, parseAttrs } from '../../ops/attrs.js';
import { LAYER_OPTIONS, Layer, type LayerOptions } from './layer.js';

type None = Record<never, never>;
/** Each activation's options (all optional except threshold's two). */
export interface ActivationOptionsByName {
  relu: None;
  sigmoid: None;
  tanh: None;
  /** The axis the probabilities sum to 1 along (default -1). */
  softmax: { axis?: number };
  leaky_relu: { negative_slope?: number };
  elu: { alpha?: number };
  selu: None;
  softplus: { beta?: number; threshold?: number };
  softsign: None;
  tanhshrink: None;
  logsigmoid: None;
  hardshrink: { lambd?: number };
  hardtanh: { min_val?: number; max_val?: number };
  softmin: { axis?: number };
  softshrink: { lambd?: number };
  threshold: { threshold: number; value: number };
}
export type ActivationName = keyof ActivationOptionsByName;
/** The options of Activation(name): input_shape and that activation's own. */
export type ActivationOptions<N extends ActivationName = ActivationName> = LayerOptions & ActivationOptionsByName[N];

type Fn = (x: Tensor, o: Record<string, unknown>) => Tensor;
const axis = { axis: { check: int(), default: -1 } };
/** A unary op by name, its options checked by its catalog schema. */
const op = (name: string, fn: Fn) => ({ fn, attrs: getOp(name).attrs as AttrSchema<Record<string, unknown>> });
const plain = (fn: (x: Tensor) => Tensor) => ({ fn: (x: Tensor) => fn(x), attrs: {} });

// A Map: a name from a file ('constructor', 'toString') must never hit Object's properties.
const ACTIVATIONS = new Map<string, { fn: Fn; attrs: AttrSchema<Record<string, unknown>> }>(
  Object.entries({
    relu: plain(U.relu),
    sigmoid: plain(U.sigmoid),
    tanh: plain(U.tanh),
    softmax: { fn: (x, o) => softmax(x, (o.axis as number) ?? -1), attrs: axis },
    leaky_relu: op('leaky_relu', (x, o) => U.leaky_relu(x, o)),
    elu: op('elu', (x, o) => U.elu(x, o)),
    selu: plain(U.selu),
    softplus: op('softplus', (x, o) => U.softplus(x, o)),
    softsign: plain(U.softsign),
    tanhshrink: plain(U.tanhshrink),
    logsigmoid: plain(U.logsigmoid),
    hardshrink: op('hardshrink', (x, o) => U.hardshrink(x, o)),
    hardtanh: op('hardtanh', (x, o) => U.hardtanh(x, o)),
    softmin: { fn: (x, o) => softmin(x, (o.axis as number) ?? -1), attrs: axis },
    softshrink: op('softshrink', (x, o) => U.softshrink(x, o)),
    threshold: op('threshold', (x, o) => U.threshold(x, o as never)),
  } satisfies Record<ActivationName, { fn: Fn; attrs: AttrSchema<any> }>),
);

/** Every activation name Activation() accepts. */
export const ACTIVATION_NAMES = [...ACTIVATIONS.keys()] as readonly ActivationName[];

/** The schema of Activation(name)'s options (an AttrError for an unknown name). */
function schemaOf(name: unknown): AttrSchema<Record<string, unknown>> {
  const entry = typeof name === 'string' ? ACTIVATIONS.get(name) : undefined;
  if (!entry) throw new AttrError(`Activation: unknown activation ${typeof name === 'string' ? `'${name}'` : String(name)} (valid: ${ACTIVATION_NAMES.join(', ')})`);
  return { ...LAYER_OPTIONS, ...entry.attrs } as AttrSchema<Record<string, unknown>>;
}

export class Activation<N extends ActivationName = ActivationName> extends Layer {
  readonly activation: N;
  /** The options as given (without input_shape): what get_config() stores. */
  readonly options: Record<string, unknown>;
  private readonly fn: Fn;

  constructor(name: N = 'relu' as N, options: ActivationOptions<N> = {} as ActivationOptions<N>) {
    // Checked under the activation's name first, so a bad option says which activation it is for.
    const schema = schemaOf(name);
    parseAttrs(`Activation('${name}')`, schema, options);
    super(options, schema);
    const { input_shape: _, ...rest } = options as Record<string, unknown>;
    this.activation = name;
    this.options = rest;
    this.fn = ACTIVATIONS.get(name)!.fn;
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

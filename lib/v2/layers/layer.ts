// The base of every layer: parameters created lazily once the input shape is known (from the
// `input_shape` option, the layer before it, or the first batch), forward through catalog ops so
// the autograd tape records it, and what a model needs to train, summarise and save it.
import { ArgError, DtypeError, RavdlError, ShapeError } from '../../errors.js';
import { no_grad } from '../../autograd/mode.js';
import { keep, tidy } from '../../tensor/scope.js';
import { withoutRecording } from '../../ops/define.js';
import { type Tensor, shapeStr } from '../../tensor/tensor.js';
import { t as tensor } from '../../tensor/create.js';
import type { DType } from '../../tensor/dtype.js';
import { zeros } from '../../ops/creation.js';
import { sameShape } from '../../ops/shape-rules.js';
import { type AttrCheck, type AttrSchema, any, describe as describeValue, parseAttrs } from '../../ops/attrs.js';

/** Options every layer constructor accepts. */
export interface LayerOptions {
  /** Shape of one sample (without the batch dimension), as in the seed's `input_shape=(n_features,)`. */
  input_shape?: readonly number[] | number | null;
}

/**
 * The schema (lib/ops/attrs.ts, as the ops use) of the options every layer takes; a layer with
 * options of its own passes `{ ...LAYER_OPTIONS, ...its own }` to the Layer constructor, which
 * rejects unknown options and ill-typed values (AttrError naming the layer and the option).
 */
export const LAYER_OPTIONS = {
  // Checked as a sample shape by the constructor (a ShapeError, like a wrong input later).
  input_shape: { check: any as AttrCheck<LayerOptions['input_shape']>, default: undefined as LayerOptions['input_shape'] },
};

export type NamedTensors = Array<[string, Tensor]>;

/**
 * Where saved parameters and buffers come from. take() checks that a tensor `name` of `shape`
 * (float32) is there before it decodes anything, and throws a typed error naming `owner` if not.
 */
export interface StateSource {
  take(owner: string, name: string, shape: readonly number[]): Tensor;
}

// While set (by withStateSource), build() takes every parameter and buffer from the source
// instead of initialising it, so a layer never allocates more than the file holds.
let stateSource: StateSource | null = null;

/** Runs fn (which builds layers) with their parameters and buffers taken from source. */
export function withStateSource<T>(source: StateSource, fn: () => T): T {
  const outer = stateSource;
  stateSource = source;
  try {
    return fn();
  } finally {
    stateSource = outer;
  }
}

/** A StateSource over tensors by name (checks dtype and shape). */
export function mapStateSource(values: ReadonlyMap<string, Tensor>): StateSource {
  return {
    take(owner, name, shape) {
      const v = values.get(name);
      if (!v) throw new ArgError(`${owner}: no saved value for '${name}'`);
      if (v.dtype !== 'float32') throw new DtypeError(`${owner}: saved '${name}' is ${v.dtype}, expected float32`);
      if (!sameShape(v.shape, shape)) throw new ShapeError(`${owner}: saved '${name}' has shape ${shapeStr(v.shape)}, expected ${shapeStr(shape)}`);
      return v;
    },
  };
}

export abstract class Layer {
  /** Shape of one sample; null until given or inferred. */
  input_shape: number[] | null;
  /** false freezes the parameters (the optimizer skips them). */
  trainable = true;
  /** Set by the model that owns the layer (e.g. 'dense_1'); prefixes parameter names. */
  name = '';
  /** Trainable parameters by local name (e.g. W, w0), created by build(). */
  protected readonly params = new Map<string, Tensor>();
  /** Non-trainable state saved with the weights (e.g. running statistics). */
  protected readonly buffers = new Map<string, Tensor>();
  private builtFor: number[] | null = null;

  /**
   * Validates `options` against `schema` (the layer's own options and LAYER_OPTIONS; a subclass
   * without options of its own leaves the default). Subclasses read their options with
   * parseAttrs(name, schema, options) from the same schema.
   */
  constructor(options: LayerOptions = {}, schema: AttrSchema<any> = LAYER_OPTIONS) {
    const s = parseAttrs(this.layer_name(), schema, options).input_shape as LayerOptions['input_shape'];
    this.input_shape = s == null ? null : checkSampleShape(this.layer_name(), typeof s === 'number' ? [s] : Array.isArray(s) ? [...s] : (s as never));
  }

  /** The class name shown by summary() and stored by save(). */
  layer_name(): string {
    return this.constructor.name;
  }

  /**
   * The base of the name a model gives this layer (then `_1`, `_2`, ...): the class name in
   * snake case, a dimension suffix joined to a short word and set apart after a long one
   * (Dense: 'dense', Conv2D: 'conv2d', MaxPooling2D: 'max_pooling_2d', BatchNormalization1D:
   * 'batch_normalization_1d'). Names in saved models are kept as saved.
   */
  defaultName(): string {
    return snakeCase(this.layer_name());
  }

  /** dtype of the input the layer takes (int32 for Embedding). */
  input_dtype(): DType {
    return 'float32';
  }

  /** Constructor arguments as JSON (enough to rebuild the layer with from_config). */
  abstract get_config(): Record<string, unknown>;

  /** Computes the output from x (a batch) with catalog ops. Called by _forward_pass after build(). */
  protected abstract forward(x: Tensor, training: boolean): Tensor;

  /** Creates the parameters for a sample shape; the default has none. */
  protected _build(_input_shape: number[]): void {}

  get built(): boolean {
    return this.builtFor !== null;
  }

  /**
   * Creates the parameters for samples of `input_shape` (once). Later batches may have other
   * sample shapes where the layer allows it (a Dense over (seq, features) with another seq
   * length); where they do not fit the parameters, the ops say so, prefixed with this layer.
   */
  build(input_shape: readonly number[]): void {
    if (this.builtFor) return;
    const shape = checkSampleShape(this.layer_name(), [...input_shape]);
    if (this.input_shape && !sameShape(this.input_shape, shape)) {
      throw new ShapeError(`${this.describe()}: input_shape is ${shapeStr(this.input_shape)} but got samples of shape ${shapeStr(shape)}`);
    }
    this.input_shape = shape;
    no_grad(() => this._build(shape));
    this.builtFor = shape;
  }

  /** Runs the layer on a batch (first dimension = samples); builds it on first use. */
  _forward_pass(x: Tensor, training = true): Tensor {
    if (x == null || typeof (x as Tensor).shape !== 'object') throw new ArgError(`${this.describe()}: input must be a Tensor, got ${String(x)}`);
    if (x.ndim < 1) throw new ShapeError(`${this.describe()}: input must have a batch dimension, got a 0-d tensor`);
    const fresh = !this.builtFor;
    this.build(x.shape.slice(1));
    // A layer first called on a batch on a device makes its parameters there.
    if (fresh && x.device !== 'cpu') for (const [, t] of this.state_tensors()) t._moveTo(x.device);
    try {
      return this.forward(x, training);
    } catch (e) {
      if (e instanceof RavdlError && !e.message.startsWith(this.describe())) e.message = `${this.describe()}: ${e.message}`;
      throw e;
    }
  }

  /** Output sample shape for an input sample shape, found by running one zero sample (no gradient). */
  output_shape(input_shape: readonly number[] | null = this.input_shape): number[] {
    if (!input_shape) throw new ShapeError(`${this.describe()}: its input shape is not known yet (give input_shape to the first layer)`);
    return tidy(() => no_grad(() => this._forward_pass(zeros([1, ...input_shape], { dtype: this.input_dtype() }), false).shape.slice(1)));
  }

  /** Trainable parameters, named `${layer}.${param}`. */
  parameters(): NamedTensors {
    return [...this.params].map(([k, v]) => [this.prefix(k), v]);
  }

  /** Parameters and buffers, named like parameters(): what save() writes. */
  state_tensors(): NamedTensors {
    return [...this.parameters(), ...[...this.buffers].map(([k, v]): [string, Tensor] => [this.prefix(k), v])];
  }

  /** Number of trainable values (summary's Parameters column). */
  parameters_count(): number {
    let n = 0;
    for (const p of this.params.values()) n += p.size;
    return n;
  }

  /**
   * Replaces parameter or buffer values by name (from state_tensors()); dtypes and shapes must
   * match. Every value is checked before any is copied.
   */
  load_state(values: ReadonlyMap<string, Tensor> | StateSource): void {
    const src = values instanceof Map ? mapStateSource(values) : (values as StateSource);
    if (typeof src?.take !== 'function') throw new ArgError(`${this.describe()}.load_state: expected a Map of name -> Tensor, got ${String(values)}`);
    const pairs = this.state_tensors().map(([full, target]) => [target, src.take(this.describe(), full, target.shape)] as const);
    for (const [target, v] of pairs) target._copyFrom(v);
  }

  /** A trainable parameter from `initial` (checked against `shape`) or from `init()`. */
  protected addParam(name: string, shape: number[], initial: unknown, init: () => Tensor): Tensor {
    const p = this.makeTensor(name, shape, initial, init).requires_grad_(true);
    this.params.set(name, p);
    return p;
  }

  /** A non-trainable buffer saved with the weights. */
  protected addBuffer(name: string, shape: number[], initial: unknown, init: () => Tensor): Tensor {
    const b = this.makeTensor(name, shape, initial, init);
    this.buffers.set(name, b);
    return b;
  }

  /** Error-message prefix: the class and, once the model named it, the layer's name. */
  describe(): string {
    return this.name ? `${this.layer_name()} '${this.name}'` : this.layer_name();
  }

  private prefix(k: string): string {
    return this.name ? `${this.name}.${k}` : k;
  }

  private makeTensor(name: string, shape: number[], initial: unknown, init: () => Tensor): Tensor {
    let v: Tensor;
    if (stateSource) v = stateSource.take(this.describe(), this.prefix(name), shape);
    else if (initial == null) v = withoutRecording(init); // initial values are data (graph constants), not graph nodes
    else {
      v = tensor(initial as never, { dtype: 'float32' });
      if (!sameShape(v.shape, shape)) {
        throw new ShapeError(`${this.describe()}: initial ${name} has shape ${shapeStr(v.shape)}, expected ${shapeStr(shape)}`);
      }
    }
    return keep(v);
  }
}

function checkSampleShape(where: string, s: number[]): number[] {
  if (!Array.isArray(s) || !s.every((d) => Number.isSafeInteger(d) && d > 0)) throw new ShapeError(`${where}: input_shape must be positive integers, got ${Array.isArray(s) ? shapeStr(s) : describeValue(s)}`);
  return s;
}

/** 'BatchNormalization1D' -> 'batch_normalization_1d', 'Conv2D' -> 'conv2d', 'HTTPBlock' -> 'http_block'. */
export function snakeCase(name: string): string {
  // Words: capitalised runs, acronyms (before a capitalised word), digit groups with a trailing 'D'.
  const words = name.match(/[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+[dD]?(?![a-z])|\d+/g) ?? [name];
  let out = '';
  for (const w of words) {
    const dim = /^\d/.test(w);
    const prev = out.slice(out.lastIndexOf('_') + 1);
    out += out === '' || (dim && prev.length <= 4 && /[a-z]$/.test(prev)) ? w.toLowerCase() : `_${w.toLowerCase()}`;
  }
  return out;
}

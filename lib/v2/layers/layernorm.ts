// LayerNormalization (torch.nn.LayerNorm): normalizes over the trailing normalized_shape dims,
// then scales by W (init ones) and shifts by w0 (init zeros), both of normalized_shape.
import { AttrError, ShapeError } from '../../errors.js';
import { type Tensor, shapeStr } from '../../tensor/tensor.js';
import { layer_norm } from '../../ops/norm.js';
import { ones, zeros } from '../../ops/creation.js';
import { any, num, parseAttrs } from '../../ops/attrs.js';
import { LAYER_OPTIONS, Layer, type LayerOptions } from './layer.js';

export interface LayerNormalizationOptions extends LayerOptions {
  epsilon?: number;
  /** Of normalized_shape. */
  initial_W?: unknown;
  initial_w0?: unknown;
}

const schema = {
  ...LAYER_OPTIONS,
  epsilon: { check: num({ gt: 0 }), default: 1e-5 },
  initial_W: { check: any, default: undefined as unknown },
  initial_w0: { check: any, default: undefined as unknown },
};

export class LayerNormalization extends Layer {
  /** As given: null means the last dim of the input (fixed at build). */
  readonly normalized_shape: number[] | null;
  readonly epsilon: number;
  private readonly initial_W: unknown;
  private readonly initial_w0: unknown;
  private dims: number[] = [];

  constructor(normalized_shape: number | readonly number[] | null = null, options: LayerNormalizationOptions = {}) {
    super(options, schema);
    const o = parseAttrs('LayerNormalization', schema, options);
    const ns = normalized_shape == null ? null : typeof normalized_shape === 'number' ? [normalized_shape] : [...normalized_shape];
    if (ns && (ns.length === 0 || !ns.every((d) => Number.isSafeInteger(d) && d > 0))) {
      throw new AttrError(`LayerNormalization: normalized_shape must be a positive integer or a non-empty list of them, got ${JSON.stringify(normalized_shape)}`);
    }
    this.normalized_shape = ns;
    this.epsilon = o.epsilon;
    this.initial_W = o.initial_W;
    this.initial_w0 = o.initial_w0;
  }

  get_config(): Record<string, unknown> {
    return { normalized_shape: this.normalized_shape, epsilon: this.epsilon, input_shape: this.input_shape };
  }

  protected _build(input_shape: number[]): void {
    const ns = this.normalized_shape ?? input_shape.slice(-1);
    const k = ns.length;
    // Only sample dims can be normalized: the batch dim must stay outside normalized_shape.
    if (k > input_shape.length || input_shape.slice(input_shape.length - k).some((d, i) => d !== ns[i])) {
      throw new ShapeError(`${this.describe()}: normalized_shape ${shapeStr(ns)} does not match the trailing dims of samples of shape ${shapeStr(input_shape)}`);
    }
    this.dims = ns;
    this.addParam('W', ns, this.initial_W, () => ones(ns));
    this.addParam('w0', ns, this.initial_w0, () => zeros(ns));
  }

  protected forward(x: Tensor): Tensor {
    return layer_norm(x, this.dims, this.params.get('W')!, this.params.get('w0')!, { eps: this.epsilon });
  }
}

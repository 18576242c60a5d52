// Embedding (torch.nn.Embedding): int32 ids (N, ...) -> rows of W (vocab_size, embed_dim),
// W initialized N(0, 1) like torch. Ids outside [0, vocab_size) raise a RangeIndexError.
import { AttrError, DtypeError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { DType } from '../../tensor/dtype.js';
import { embedding } from '../../ops/embedding.js';
import { randn } from '../../ops/creation.js';
import { any, parseAttrs } from '../../ops/attrs.js';
import { LAYER_OPTIONS, Layer, type LayerOptions } from './layer.js';

export interface EmbeddingOptions extends LayerOptions {
  /** (vocab_size, embed_dim). */
  initial_W?: unknown;
}

const schema = { ...LAYER_OPTIONS, initial_W: { check: any, default: undefined as unknown } };

export class Embedding extends Layer {
  readonly vocab_size: number;
  readonly embed_dim: number;
  private readonly initial_W: unknown;

  constructor(vocab_size: number, embed_dim: number, options: EmbeddingOptions = {}) {
    super(options, schema);
    for (const [k, v] of [['vocab_size', vocab_size], ['embed_dim', embed_dim]] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new AttrError(`Embedding: ${k} must be a positive integer, got ${String(v)}`);
    }
    this.vocab_size = vocab_size;
    this.embed_dim = embed_dim;
    this.initial_W = parseAttrs('Embedding', schema, options).initial_W;
  }

  override input_dtype(): DType {
    return 'int32';
  }

  get_config(): Record<string, unknown> {
    return { vocab_size: this.vocab_size, embed_dim: this.embed_dim, input_shape: this.input_shape };
  }

  protected _build(): void {
    const shape = [this.vocab_size, this.embed_dim];
    this.addParam('W', shape, this.initial_W, () => randn(shape));
  }

  protected forward(x: Tensor): Tensor {
    if (x.dtype !== 'int32') throw new DtypeError(`${this.describe()}: ids must be int32, got ${x.dtype} (use R.t(ids, { dtype: 'int32' }))`);
    return embedding(x, this.params.get('W')!);
  }
}

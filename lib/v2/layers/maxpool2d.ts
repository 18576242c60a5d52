// MaxPooling2D (torch.nn.MaxPool2d) over (N, C, H, W).
// With return_indices the layer still returns only the pooled tensor (a model chains one tensor
// from layer to layer); the argmax indices of the last forward are kept in `last_indices`.
import { AttrError, ShapeError } from '../../errors.js';
import { type Tensor, shapeStr } from '../../tensor/tensor.js';
import { keep } from '../../tensor/scope.js';
import { max_pool2d } from '../../ops/conv.js';
import { bool, intPair, nullable, parseAttrs } from '../../ops/attrs.js';
import { LAYER_OPTIONS, Layer, type LayerOptions } from './layer.js';

type Pair = number | [number, number];

export interface MaxPooling2DOptions extends LayerOptions {
  /** Defaults to kernel_size (null). */
  stride?: Pair | null;
  padding?: Pair;
  dilation?: Pair;
  return_indices?: boolean;
  ceil_mode?: boolean;
}

const schema = {
  ...LAYER_OPTIONS,
  stride: { check: nullable(intPair({ min: 1 })), default: null as Pair | null },
  padding: { check: intPair({ min: 0 }), default: 0 as Pair },
  dilation: { check: intPair({ min: 1 }), default: 1 as Pair },
  return_indices: { check: bool, default: false },
  ceil_mode: { check: bool, default: false },
};

const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

export class MaxPooling2D extends Layer {
  readonly kernel_size: Pair;
  readonly stride: Pair | null;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly return_indices: boolean;
  readonly ceil_mode: boolean;
  /**
   * With return_indices: the int32 argmax indices of the last forward, shaped like its output,
   * each a flat index into its input's H*W plane (torch's convention); null otherwise. The next
   * forward disposes it and stores its own.
   */
  last_indices: Tensor | null = null;

  constructor(kernel_size: Pair, options: MaxPooling2DOptions = {}) {
    super(options, schema);
    const o = parseAttrs('MaxPooling2D', schema, options);
    this.kernel_size = intPair({ min: 1 })(kernel_size, (e) => {
      throw new AttrError(`MaxPooling2D: kernel_size must be ${e}, got ${JSON.stringify(kernel_size)}`);
    });
    const k = pair(this.kernel_size);
    // torch: "pad should be at most half of effective kernel size"
    pair(o.padding).forEach((p, i) => {
      if (p > k[i]! / 2) throw new AttrError(`MaxPooling2D: padding ${JSON.stringify(o.padding)} must be at most half of kernel_size ${JSON.stringify(kernel_size)}`);
    });
    this.stride = o.stride;
    this.padding = o.padding;
    this.dilation = o.dilation;
    this.return_indices = o.return_indices;
    this.ceil_mode = o.ceil_mode;
  }

  get_config(): Record<string, unknown> {
    const { kernel_size, stride, padding, dilation, return_indices, ceil_mode, input_shape } = this;
    return { kernel_size, stride, padding, dilation, return_indices, ceil_mode, input_shape };
  }

  protected _build(input_shape: number[]): void {
    if (input_shape.length !== 3) throw new ShapeError(`${this.describe()}: input must be (N, C, H, W), got samples of shape ${shapeStr(input_shape)}`);
  }

  protected forward(x: Tensor): Tensor {
    const { kernel_size, stride, padding, dilation, ceil_mode } = this;
    const [y, idx] = max_pool2d(x, { kernel_size, stride, padding, dilation, ceil_mode, return_indices: true });
    if (this.return_indices) {
      this.last_indices?.dispose();
      this.last_indices = keep(idx!);
    }
    return y;
  }
}

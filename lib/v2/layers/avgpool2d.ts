// AveragePooling2D (torch.nn.AvgPool2d) and GlobalAveragePooling2D (the mean of each channel's
// plane, like Keras's; torch's AdaptiveAvgPool2d(1) then Flatten) over (N, C, H, W).
import { AttrError, ShapeError } from '../../errors.js';
import { type Tensor, shapeStr } from '../../tensor/tensor.js';
import { avg_pool2d, global_avg_pool2d } from '../../ops/pool.js';
import { bool, int, intPair, nullable, parseAttrs } from '../../ops/attrs.js';
import { LAYER_OPTIONS, Layer, type LayerOptions } from './layer.js';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

export interface AveragePooling2DOptions extends LayerOptions {
  /** Defaults to kernel_size (null). */
  stride?: Pair | null;
  /** Implicit zero padding, at most half the kernel. */
  padding?: Pair;
  ceil_mode?: boolean;
  /** Count the zero padding in each window's divisor (default true, as torch). */
  count_include_pad?: boolean;
  divisor_override?: number | null;
}

const schema = {
  ...LAYER_OPTIONS,
  stride: { check: nullable(intPair({ min: 1 })), default: null as Pair | null },
  padding: { check: intPair({ min: 0 }), default: 0 as Pair },
  ceil_mode: { check: bool, default: false },
  count_include_pad: { check: bool, default: true },
  divisor_override: { check: nullable(int({ min: 1 })), default: null as number | null },
};

function checkImages(layer: Layer, input_shape: number[]): void {
  if (input_shape.length !== 3) throw new ShapeError(`${layer.describe()}: input must be (N, C, H, W), got samples of shape ${shapeStr(input_shape)}`);
}

export class AveragePooling2D extends Layer {
  readonly kernel_size: Pair;
  readonly stride: Pair | null;
  readonly padding: Pair;
  readonly ceil_mode: boolean;
  readonly count_include_pad: boolean;
  readonly divisor_override: number | null;

  constructor(kernel_size: Pair, options: AveragePooling2DOptions = {}) {
    super(options, schema);
    const o = parseAttrs('AveragePooling2D', schema, options);
    this.kernel_size = intPair({ min: 1 })(kernel_size, (e) => {
      throw new AttrError(`AveragePooling2D: kernel_size must be ${e}, got ${JSON.stringify(kernel_size)}`);
    });
    const k = pair(this.kernel_size);
    // torch: "pad should be at most half of kernel size"
    pair(o.padding).forEach((p, i) => {
      if (p > k[i]! / 2) throw new AttrError(`AveragePooling2D: padding ${JSON.stringify(o.padding)} must be at most half of kernel_size ${JSON.stringify(kernel_size)}`);
    });
    ({ stride: this.stride, padding: this.padding, ceil_mode: this.ceil_mode, count_include_pad: this.count_include_pad, divisor_override: this.divisor_override } = o);
  }

  get_config(): Record<string, unknown> {
    const { kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, input_shape } = this;
    return { kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, input_shape };
  }

  protected _build(input_shape: number[]): void {
    checkImages(this, input_shape);
  }

  protected forward(x: Tensor): Tensor {
    const { kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override } = this;
    return avg_pool2d(x, { kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override });
  }
}

export interface GlobalAveragePooling2DOptions extends LayerOptions {
  /** Keep H and W as 1s: (N, C, 1, 1) instead of (N, C). */
  keepdims?: boolean;
}

const globalSchema = { ...LAYER_OPTIONS, keepdims: { check: bool, default: false } };

export class GlobalAveragePooling2D extends Layer {
  readonly keepdims: boolean;

  constructor(options: GlobalAveragePooling2DOptions = {}) {
    super(options, globalSchema);
    this.keepdims = parseAttrs('GlobalAveragePooling2D', globalSchema, options).keepdims;
  }

  get_config(): Record<string, unknown> {
    return { keepdims: this.keepdims, input_shape: this.input_shape };
  }

  protected _build(input_shape: number[]): void {
    checkImages(this, input_shape);
  }

  protected forward(x: Tensor): Tensor {
    return global_avg_pool2d(x, { keepdims: this.keepdims });
  }
}

// Conv2D (torch.nn.Conv2d): 2-D convolution over (N, C, H, W) with W in torch's layout
// (out_channels, in_channels / groups, kh, kw) and torch's default initialization.
import { AttrError, ShapeError } from '../../errors.js';
import { type Tensor, shapeStr } from '../../tensor/tensor.js';
import { conv2d } from '../../ops/conv.js';
import { uniform } from '../../ops/creation.js';
import { any, bool, int, intPair, oneOf, parseAttrs } from '../../ops/attrs.js';
import { LAYER_OPTIONS, Layer, type LayerOptions } from './layer.js';

type Pair = number | [number, number];

export interface Conv2DOptions extends LayerOptions {
  stride?: Pair;
  /** An int, an [h, w] pair, 'same' (stride 1 only, as in torch) or 'valid'. */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  padding_mode?: 'zeros' | 'reflect' | 'replicate' | 'circular';
  /** (out_channels, in_channels / groups, kh, kw), as torch stores Conv2d.weight. */
  initial_W?: unknown;
  /** (out_channels). */
  initial_w0?: unknown;
}

const pairMin0 = intPair({ min: 0 });
const schema = {
  ...LAYER_OPTIONS,
  stride: { check: intPair({ min: 1 }), default: 1 as Pair },
  padding: {
    check: (v: unknown, bad: (e: string) => never): Pair | 'same' | 'valid' =>
      v === 'same' || v === 'valid' ? v : pairMin0(v, () => bad("an integer >= 0, a pair of them, 'same' or 'valid'")),
    default: 0 as Pair | 'same' | 'valid',
  },
  dilation: { check: intPair({ min: 1 }), default: 1 as Pair },
  groups: { check: int({ min: 1 }), default: 1 },
  bias: { check: bool, default: true },
  padding_mode: { check: oneOf('zeros', 'reflect', 'replicate', 'circular'), default: 'zeros' as const },
  initial_W: { check: any, default: undefined as unknown },
  initial_w0: { check: any, default: undefined as unknown },
};

const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

export class Conv2D extends Layer {
  readonly in_channels: number;
  readonly out_channels: number;
  readonly kernel_size: [number, number];
  readonly stride: Pair;
  readonly padding: Pair | 'same' | 'valid';
  readonly dilation: Pair;
  readonly groups: number;
  readonly bias: boolean;
  readonly padding_mode: 'zeros' | 'reflect' | 'replicate' | 'circular';
  private readonly initial_W: unknown;
  private readonly initial_w0: unknown;

  constructor(in_channels: number, out_channels: number, kernel_size: Pair, options: Conv2DOptions = {}) {
    super(options, schema);
    const o = parseAttrs('Conv2D', schema, options);
    for (const [k, v] of [['in_channels', in_channels], ['out_channels', out_channels]] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new AttrError(`Conv2D: ${k} must be a positive integer, got ${String(v)}`);
    }
    this.kernel_size = pair(intPair({ min: 1 })(kernel_size, (e) => {
      throw new AttrError(`Conv2D: kernel_size must be ${e}, got ${JSON.stringify(kernel_size)}`);
    }));
    if (in_channels % o.groups || out_channels % o.groups) {
      throw new AttrError(`Conv2D: in_channels (${in_channels}) and out_channels (${out_channels}) must both be divisible by groups (${o.groups})`);
    }
    if (o.padding === 'same' && pair(o.stride).some((s) => s !== 1)) throw new AttrError(`Conv2D: padding='same' needs stride 1, got stride ${JSON.stringify(o.stride)}`);
    this.in_channels = in_channels;
    this.out_channels = out_channels;
    this.stride = o.stride;
    this.padding = o.padding;
    this.dilation = o.dilation;
    this.groups = o.groups;
    this.bias = o.bias;
    this.padding_mode = o.padding_mode;
    this.initial_W = o.initial_W;
    this.initial_w0 = o.initial_w0;
  }

  get_config(): Record<string, unknown> {
    const { in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, input_shape } = this;
    return { in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, input_shape };
  }

  protected _build(input_shape: number[]): void {
    if (input_shape.length !== 3) throw new ShapeError(`${this.describe()}: input must be (N, C, H, W), got samples of shape ${shapeStr(input_shape)}`);
    if (input_shape[0] !== this.in_channels) {
      throw new ShapeError(`${this.describe()}: in_channels is ${this.in_channels} but the input has ${input_shape[0]} channels (samples of shape ${shapeStr(input_shape)})`);
    }
    const [kh, kw] = this.kernel_size;
    const wShape = [this.out_channels, this.in_channels / this.groups, kh, kw];
    // torch's default: kaiming_uniform(a=sqrt(5)) gives U(±1/sqrt(fan_in)); the bias uses the same bound.
    const bound = 1 / Math.sqrt(wShape[1]! * kh * kw);
    this.addParam('W', wShape, this.initial_W, () => uniform(wShape, -bound, bound));
    if (this.bias) this.addParam('w0', [this.out_channels], this.initial_w0, () => uniform([this.out_channels], -bound, bound));
  }

  protected forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups, padding_mode } = this;
    return conv2d(x, this.params.get('W')!, this.params.get('w0') ?? null, { stride, padding, dilation, groups, padding_mode });
  }
}

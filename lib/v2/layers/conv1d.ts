// Conv1D (torch.nn.Conv1d): 1-D convolution over (N, C, L) with W in torch's layout
// (out_channels, in_channels / groups, kernel_size) and torch's default initialization.
import { AttrError, ShapeError } from '../../errors.js';
import { type Tensor, shapeStr } from '../../tensor/tensor.js';
import { conv1d } from '../../ops/conv1d.js';
import { uniform } from '../../ops/creation.js';
import { type AttrCheck, any, bool, int, oneOf, parseAttrs } from '../../ops/attrs.js';
import { LAYER_OPTIONS, Layer, type LayerOptions } from './layer.js';

type Padding = number | 'same' | 'valid';
type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface Conv1DOptions extends LayerOptions {
  stride?: number;
  /** An int, 'same' (stride 1 only, as in torch) or 'valid'. */
  padding?: Padding;
  dilation?: number;
  groups?: number;
  bias?: boolean;
  padding_mode?: PaddingMode;
  /** (out_channels, in_channels / groups, kernel_size), as torch stores Conv1d.weight. */
  initial_W?: unknown;
  /** (out_channels). */
  initial_w0?: unknown;
}

const padding: AttrCheck<Padding> = (v, bad) =>
  v === 'same' || v === 'valid' || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) ? v : bad("an integer >= 0, 'same' or 'valid'");
const schema = {
  ...LAYER_OPTIONS,
  stride: { check: int({ min: 1 }), default: 1 },
  padding: { check: padding, default: 0 as Padding },
  dilation: { check: int({ min: 1 }), default: 1 },
  groups: { check: int({ min: 1 }), default: 1 },
  bias: { check: bool, default: true },
  padding_mode: { check: oneOf<PaddingMode>('zeros', 'reflect', 'replicate', 'circular'), default: 'zeros' as PaddingMode },
  initial_W: { check: any, default: undefined as unknown },
  initial_w0: { check: any, default: undefined as unknown },
};

export class Conv1D extends Layer {
  readonly in_channels: number;
  readonly out_channels: number;
  readonly kernel_size: number;
  readonly stride: number;
  readonly padding: Padding;
  readonly dilation: number;
  readonly groups: number;
  readonly bias: boolean;
  readonly padding_mode: PaddingMode;
  private readonly initial_W: unknown;
  private readonly initial_w0: unknown;

  constructor(in_channels: number, out_channels: number, kernel_size: number, options: Conv1DOptions = {}) {
    super(options, schema);
    const o = parseAttrs('Conv1D', schema, options);
    for (const [k, v] of [['in_channels', in_channels], ['out_channels', out_channels], ['kernel_size', kernel_size]] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new AttrError(`Conv1D: ${k} must be a positive integer, got ${JSON.stringify(v)}`);
    }
    if (in_channels % o.groups || out_channels % o.groups) {
      throw new AttrError(`Conv1D: in_channels (${in_channels}) and out_channels (${out_channels}) must both be divisible by groups (${o.groups})`);
    }
    if (o.padding === 'same' && o.stride !== 1) throw new AttrError(`Conv1D: padding='same' needs stride 1, got stride ${o.stride}`);
    this.in_channels = in_channels;
    this.out_channels = out_channels;
    this.kernel_size = kernel_size;
    ({ stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups, bias: this.bias, padding_mode: this.padding_mode } = o);
    this.initial_W = o.initial_W;
    this.initial_w0 = o.initial_w0;
  }

  get_config(): Record<string, unknown> {
    const { in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, input_shape } = this;
    return { in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, input_shape };
  }

  protected _build(input_shape: number[]): void {
    if (input_shape.length !== 2) throw new ShapeError(`${this.describe()}: input must be (N, C, L), got samples of shape ${shapeStr(input_shape)}`);
    if (input_shape[0] !== this.in_channels) {
      throw new ShapeError(`${this.describe()}: in_channels is ${this.in_channels} but the input has ${input_shape[0]} channels (samples of shape ${shapeStr(input_shape)})`);
    }
    const wShape = [this.out_channels, this.in_channels / this.groups, this.kernel_size];
    // torch's default: kaiming_uniform(a=sqrt(5)) gives U(±1/sqrt(fan_in)); the bias uses the same bound.
    const bound = 1 / Math.sqrt(wShape[1]! * this.kernel_size);
    this.addParam('W', wShape, this.initial_W, () => uniform(wShape, -bound, bound));
    if (this.bias) this.addParam('w0', [this.out_channels], this.initial_w0, () => uniform([this.out_channels], -bound, bound));
  }

  protected forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups, padding_mode } = this;
    return conv1d(x, this.params.get('W')!, this.params.get('w0') ?? null, { stride, padding, dilation, groups, padding_mode });
  }
}

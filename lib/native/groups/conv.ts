// Shape functions of the conv group (bindings/conv.cpp): pad, conv2d and max pooling, which the
// op catalog infers shapes with (the kernels run through runKernel, groups/kernel.ts).
// Errors: ERR_ARG (wrong kind of argument), ERR_SHAPE (shapes that do not fit), ERR_ATTR (bad
// attribute).

/** 'zeros' pads with 0; the others pad like the pad op with that mode, then convolve. */
export type ConvPaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';
export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/** torch.nn.Conv2d's options. Pairs are [h, w]; a single number applies to both. */
export interface Conv2dAttrs {
  /** >= 1, default 1. */
  stride?: number | [number, number];
  /**
   * >= 0 on both sides (default 0), 'valid' (= 0) or 'same' (output size = input size; stride
   * must be 1; the total dilation*(k-1) is split with the odd element at the bottom/right).
   */
  padding?: number | [number, number] | 'same' | 'valid';
  /** >= 1, default 1. */
  dilation?: number | [number, number];
  /** Must divide both channel counts; default 1 (groups = C gives a depthwise conv). */
  groups?: number;
  /** Default 'zeros'. reflect needs padding < H and W; circular padding <= H and W. */
  padding_mode?: ConvPaddingMode;
}

/** torch.nn.MaxPool2d's options. Pairs are [h, w]; a single number applies to both. */
export interface MaxPool2dAttrs {
  /** Required, >= 1. */
  kernel_size: number | [number, number];
  /** >= 1; null/undefined means kernel_size. */
  stride?: number | [number, number] | null;
  /** In [0, kernel_size/2], default 0 (implicit -inf padding). */
  padding?: number | [number, number];
  /** >= 1, default 1. */
  dilation?: number | [number, number];
  /** Round the output size up (the last window must still start inside the input or the left padding). */
  ceil_mode?: boolean;
}

export interface ConvBinding {
  /** Output shape of pad (validates pads and mode as pad does). */
  pad_shape(xShape: number[], pads: number[], mode: PadMode): number[];

  /** Output shape [N, Cout, OH, OW] of conv2d; validates like conv2d (the single source of the shape rule). */
  conv2d_shape(xShape: number[], wShape: number[], attrs?: Conv2dAttrs): number[];

  /**
   * Pooled shape: O = floor_or_ceil((I + 2*padding - dilation*(k-1) - 1) / stride) + 1 per spatial
   * dim; with ceil_mode, O -= 1 when the last window would start at or past I + padding.
   */
  maxpool2d_shape(xShape: number[], attrs: MaxPool2dAttrs): number[];
}

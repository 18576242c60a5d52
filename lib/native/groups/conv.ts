// Native functions of the conv kernel group (bindings/conv.cpp): pad, conv2d and its
// gradients, maxpool2d and its gradient, and the shape functions of each.
// All tensors are C-contiguous float32 (indices int32); outputs are caller-allocated and must
// not overlap inputs. Errors: ERR_DTYPE (wrong typed array), ERR_ARG (wrong kind of argument,
// aliasing output), ERR_SHAPE (length/shape mismatch), ERR_ATTR (bad attribute), ERR_INDEX
// (maxpool indices out of range).

/** 'zeros' pads with 0; the others pad like {@link ConvBinding.pad} with that mode, then convolve. */
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
  /**
   * out = x padded on its last k = pads.length/2 dims.
   * `pads` = [before, after] pairs IN DIM ORDER, outermost padded dim first: for NCHW padded
   * on H and W, [top, bottom, left, right]. (torch's F.pad lists the LAST dim first.)
   * A negative pad crops (torch's F.pad): the negative pads of a dim remove at most all of it.
   * mode 'constant' fills `value`; 'reflect' needs each positive pad < the dim size and
   * 'replicate' a non-empty dim (both index the uncropped dim); 'circular' crops first, then
   * wraps around the cropped part, each positive pad <= its size.
   * out shape: x's with dim d grown by before_d + after_d (see {@link pad_shape}).
   */
  pad(x: Float32Array, xShape: number[], pads: number[], mode: PadMode, value: number, out: Float32Array): void;
  /**
   * Gradient of pad: gx = 0, then every element of gy is summed into the x position it was
   * copied from (constant padding drops its gradient). gx shape = gyShape minus the pads.
   */
  pad_backward(gy: Float32Array, gyShape: number[], pads: number[], mode: PadMode, gx: Float32Array): void;
  /** Output shape of pad (validates pads and mode as pad does). */
  pad_shape(xShape: number[], pads: number[], mode: PadMode): number[];

  /**
   * 2-D convolution (cross-correlation like torch) over NCHW.
   * x: [N, C, H, W], w: [Cout, C/groups, KH, KW], bias: [Cout] or null,
   * out: [N, Cout, OH, OW] with OH = floor((H + padTop + padBottom - dilation*(KH-1) - 1) / stride) + 1
   * (same for W); see {@link conv2d_shape}.
   * Algorithm: im2col + GEMM per sample (1x1 stride-1 unpadded convs skip im2col); 3x3
   * stride-1 undilated single-group convs with >= 8 channels in and out use
   * Winograd F(2x2, 3x3) for the forward pass and the weight gradient (same results up to float
   * rounding, ~1e-6 relative); the input gradient is always GEMM + col2im (measured faster).
   * Large batches are split across threads by samples. Scratch memory (im2col columns, Winograd
   * tiles) stays under 64 MiB per call: bigger problems run in blocks of output positions.
   * An empty output allocates nothing.
   */
  conv2d(
    x: Float32Array, xShape: number[], w: Float32Array, wShape: number[], bias: Float32Array | null,
    out: Float32Array, attrs?: Conv2dAttrs,
  ): void;
  /** gx (shape xShape) = dL/dx of conv2d given gy = dL/dout (shape conv2d_shape(xShape, wShape, attrs)). */
  conv2d_backward_input(
    gy: Float32Array, gyShape: number[], w: Float32Array, wShape: number[], gx: Float32Array,
    xShape: number[], attrs?: Conv2dAttrs,
  ): void;
  /** gw (shape wShape) = dL/dw of conv2d given gy and the forward input x. */
  conv2d_backward_weight(
    gy: Float32Array, gyShape: number[], x: Float32Array, xShape: number[], gw: Float32Array,
    wShape: number[], attrs?: Conv2dAttrs,
  ): void;
  /** gb[c] = sum of gy[:, c, :, :]; gy is 4-D, gb has gyShape[1] elements. */
  conv2d_backward_bias(gy: Float32Array, gyShape: number[], gb: Float32Array): void;
  /** Output shape [N, Cout, OH, OW] of conv2d; validates like conv2d (the single source of the shape rule). */
  conv2d_shape(xShape: number[], wShape: number[], attrs?: Conv2dAttrs): number[];

  /**
   * Max pooling over [N, C, H, W] or [C, H, W]. out and indices have the pooled shape
   * (see {@link maxpool2d_shape}); indices are flat positions into each H*W plane (like
   * torch's return_indices); NaN propagates. A window holding no input element (only with
   * large dilation) gives -Infinity and index -1.
   */
  maxpool2d(x: Float32Array, xShape: number[], out: Float32Array, indices: Int32Array, attrs: MaxPool2dAttrs): void;
  /**
   * gx (shape xShape) = 0, then gx[plane][indices[i]] += gy[i]. gy/indices have the pooled
   * shape (same rank and leading dims as xShape); each index must be in [0, H*W) or -1, else ERR_INDEX.
   */
  maxpool2d_backward(gy: Float32Array, gyShape: number[], indices: Int32Array, gx: Float32Array, xShape: number[]): void;
  /**
   * Pooled shape: O = floor_or_ceil((I + 2*padding - dilation*(k-1) - 1) / stride) + 1 per spatial
   * dim; with ceil_mode, O -= 1 when the last window would start at or past I + padding.
   */
  maxpool2d_shape(xShape: number[], attrs: MaxPool2dAttrs): number[];
  /**
   * Average pooling over caller-given windows: output (oh, ow) of each plane averages rows
   * [h0[oh], h1[oh]) and columns [w0[ow], w1[ow]), the sum (in double) divided by div[oh * OW + ow].
   * out has x's leading dims and [h0.length, w0.length]. Windows outside the plane are ERR_ARG.
   */
  avgpool2d(x: Float32Array, xShape: number[], h0: Int32Array, h1: Int32Array, w0: Int32Array, w1: Int32Array, div: Int32Array, out: Float32Array): void;
  /** avgpool2d's gradient: gx (shape xShape) = 0, then gy / div added to each element of its window. */
  avgpool2d_backward(gy: Float32Array, gyShape: number[], h0: Int32Array, h1: Int32Array, w0: Int32Array, w1: Int32Array, div: Int32Array, gx: Float32Array, xShape: number[]): void;
}

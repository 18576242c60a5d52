// Native functions of the nn group (bindings/nn.cpp): batch_norm, layer_norm and mse_loss with
// optional outputs (the benchmarks and kernel tests call them; the catalog's ops run through
// runKernel), and the shape functions of cross_entropy and mse_loss.
// Float tensors are Float32Array (C-contiguous); outputs are passed in and every size is checked
// (ERR_SHAPE); `null` skips an optional input or output.

export type Reduction = 'mean' | 'sum' | 'none';

export interface BatchNormAttrs {
  /** true (default): batch statistics; false: running statistics. */
  training?: boolean;
  /**
   * PyTorch's meaning, in [0, 1] (default 0.1): running = (1 - momentum) * running + momentum * batch.
   * Keras' momentum m (e.g. 0.99) is 1 - m here; the layer converts, the kernel does not.
   */
  momentum?: number;
  /** Added to the variance, > 0 (default 1e-5). */
  eps?: number;
}

export interface NnBinding {
  /**
   * Batch normalization over channel dim 1 of x (N, C), (N, C, L) or (N, C, H, W); out has x's
   * shape (may be x itself). gamma, beta, runningMean, runningVar, saveMean, saveInvstd hold C
   * floats. Training: normalizes with the biased batch variance; updates runningMean/runningVar in
   * place when given (runningVar with the unbiased variance); needs more than one value per channel,
   * or none: an empty batch leaves the running stats unchanged and writes zeros to saveMean/saveInvstd
   * (as PyTorch 1.13; the backward then gives zero gradGamma/gradBeta).
   * Inference: requires the running stats. saveMean/saveInvstd (when given) receive the mean and
   * 1/sqrt(var + eps) used, which is what batch_norm_backward takes.
   */
  batch_norm(
    x: Float32Array, xShape: number[], gamma: Float32Array | null, beta: Float32Array | null,
    runningMean: Float32Array | null, runningVar: Float32Array | null, out: Float32Array,
    saveMean: Float32Array | null, saveInvstd: Float32Array | null, attrs?: BatchNormAttrs,
  ): void;
  /**
   * Gradients of batch_norm. gradOut and x have `shape`; saveMean/saveInvstd are what batch_norm
   * wrote. attrs.training must match the forward (false: the statistics are constants). gradX has
   * x's shape (may be gradOut itself); gradGamma/gradBeta hold C floats; any output may be null.
   */
  batch_norm_backward(
    gradOut: Float32Array, x: Float32Array, shape: number[], gamma: Float32Array | null,
    saveMean: Float32Array, saveInvstd: Float32Array, gradX: Float32Array | null,
    gradGamma: Float32Array | null, gradBeta: Float32Array | null, attrs?: { training?: boolean },
  ): void;

  /**
   * Layer normalization over the trailing dims `normalizedShape` of x; out has x's shape (may be
   * x). weight/bias have normalizedShape. mean/rstd (when given) receive one value per row,
   * numel(x) / numel(normalizedShape), rstd = 1/sqrt(var + eps). eps > 0, default 1e-5.
   */
  layer_norm(
    x: Float32Array, xShape: number[], normalizedShape: number[], weight: Float32Array | null,
    bias: Float32Array | null, out: Float32Array, mean: Float32Array | null, rstd: Float32Array | null,
    eps?: number,
  ): void;
  /** Gradients of layer_norm from the mean/rstd it wrote; any output may be null. */
  layer_norm_backward(
    gradOut: Float32Array, x: Float32Array, shape: number[], normalizedShape: number[],
    mean: Float32Array, rstd: Float32Array, weight: Float32Array | null, gradX: Float32Array | null,
    gradWeight: Float32Array | null, gradBias: Float32Array | null,
  ): void;

  /** Loss shape: [] for 'mean'/'sum', [N, d1, ...] for 'none'. */
  cross_entropy_shape(logitsShape: number[], reduction?: Reduction): number[];

  /** Mean squared error of same-length pred/target; out: 1 value (mean/sum) or pred's length (none). */
  mse_loss(pred: Float32Array, target: Float32Array, out: Float32Array, reduction?: Reduction): void;
  /** gradPred = 2 (pred - target) * scale (1/n for mean, gradLoss per element for none), gradTarget = -gradPred; either may be null. */
  mse_loss_backward(
    pred: Float32Array, target: Float32Array, gradLoss: Float32Array, gradPred: Float32Array | null,
    gradTarget: Float32Array | null, reduction?: Reduction,
  ): void;
  /** Loss shape: [] for 'mean'/'sum', predShape for 'none'. */
  mse_loss_shape(predShape: number[], reduction?: Reduction): number[];
}

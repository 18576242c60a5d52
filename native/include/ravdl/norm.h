// Normalization kernels: batch norm (channel = dim 1) and layer norm (last k dims).
// Destination-passing: every output is a caller-owned buffer whose size the kernel checks.
#pragma once
#include <optional>

#include "ravdl/tensor.h"

namespace ravdl {

// An optional buffer: std::nullopt means "not given" (e.g. affine off, no running stats).
template <class T>
using Opt = std::optional<Span<T>>;
using OptCF = Opt<const float>;
using OptF = Opt<float>;

namespace detail {
// Outputs of in-place-capable kernels: `out` may be exactly `in`, or disjoint from it.
template <class A, class B>
void check_same_or_disjoint(const char* op, const char* out_name, const A* out, size_t n_out,
                            const char* in_name, const B* in, size_t n_in) {
  if (static_cast<const void*>(out) == static_cast<const void*>(in) && n_out == n_in) return;
  check_no_alias(op, out_name, out, n_out, in_name, in, n_in);
}
}  // namespace detail

struct BatchNormAttrs {
  bool training = true;
  // PyTorch's meaning: running = (1 - momentum) * running + momentum * batch_stat, in [0, 1].
  // (Keras' momentum m corresponds to 1 - m; the layer converts, the kernel does not.)
  double momentum = 0.1;
  double eps = 1e-5;  // must be > 0
};

// x: (N, C), (N, C, L) or (N, C, H, W); gamma, beta, running_mean, running_var: C floats each.
// Training: normalizes with the biased batch variance, updates running stats in place (when
// given; running_var gets the unbiased variance n/(n-1)), writes save_mean / save_invstd =
// 1/sqrt(var + eps) (when given). Needs more than one value per channel, or none: an empty
// batch (N*H*W = 0) leaves the running stats unchanged and writes zeros to save_mean/invstd
// (torch 1.13's behaviour; its backward gives zero grad_gamma / grad_beta).
// Inference: needs running stats; save_mean / save_invstd (when given) receive running_mean and
// 1/sqrt(running_var + eps), which batch_norm_backward with training=false expects.
// out has x's shape; it may be x itself (in place) but must not partially overlap it.
void batch_norm_forward(CFView x, OptCF gamma, OptCF beta, OptF running_mean, OptF running_var,
                        FSpan out, OptF save_mean, OptF save_invstd, const BatchNormAttrs& attrs);

// Gradients of batch_norm_forward. mean / invstd are the save_mean / save_invstd it wrote.
// training=true: the closed form through the batch statistics; training=false: the statistics
// are constants, grad_x = grad_out * gamma * invstd. grad_gamma / grad_beta (C floats) do not
// need gamma. Any gradient output may be omitted.
void batch_norm_backward(CFView grad_out, CFView x, OptCF gamma, Span<const float> mean,
                         Span<const float> invstd, bool training, OptF grad_x, OptF grad_gamma,
                         OptF grad_beta);

// x: (..., *normalized_shape); each row of numel(normalized_shape) values is normalized with
// its own mean and biased variance. weight / bias have normalized_shape. mean / rstd (when
// given) receive one value per row (numel(x) / numel(normalized_shape)), rstd = 1/sqrt(var+eps).
// out may be x itself.
void layer_norm_forward(CFView x, const Shape& normalized_shape, OptCF weight, OptCF bias,
                        FSpan out, OptF mean, OptF rstd, double eps);

// Gradients of layer_norm_forward given the mean / rstd it wrote. Any output may be omitted.
void layer_norm_backward(CFView grad_out, CFView x, const Shape& normalized_shape,
                         Span<const float> mean, Span<const float> rstd, OptCF weight, OptF grad_x,
                         OptF grad_weight, OptF grad_bias);

}  // namespace ravdl

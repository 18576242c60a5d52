// Losses: fused softmax cross-entropy (like torch.nn.functional.cross_entropy) and MSE.
#pragma once
#include <string>

#include "ravdl/norm.h"
#include "ravdl/tensor.h"

namespace ravdl {

enum class Reduction { Mean, Sum, None };
// "mean" | "sum" | "none"; anything else is ERR_ATTR naming op and value.
Reduction parse_reduction(const char* op, const std::string& s);

struct CrossEntropyAttrs {
  Reduction reduction = Reduction::Mean;
  int64_t ignore_index = -100;   // class-index targets only
  double label_smoothing = 0.0;  // in [0, 1]
};

// Shape of the loss: [] for mean/sum, [N, d1, ...] for none. logits: (N, C, d1, ...).
Shape cross_entropy_shape(const Shape& logits_shape, Reduction r);
Shape mse_loss_shape(const Shape& pred_shape, Reduction r);

// Class-index targets: target has shape (N, d1, ...), each value in [0, C) or ignore_index
// (else ERR_INDEX). weight (C floats) is optional. Like PyTorch: ignored positions give 0;
// mean divides by the number (or total class weight) of non-ignored positions; with label
// smoothing eps the loss is (1-eps)*nll + eps/C * sum_c(-w_c*logp_c) (0 where ignored), with the
// same mean denominator for both terms. out: cross_entropy_shape(...).
void cross_entropy_forward(CFView logits, Span<const int32_t> target, OptCF weight, FSpan out,
                           const CrossEntropyAttrs& attrs);
// grad_logits (logits' shape) given grad_loss (1 value for mean/sum, one per position for none).
// The softmax is recomputed from the logits.
void cross_entropy_backward(CFView logits, Span<const int32_t> target, OptCF weight,
                            Span<const float> grad_loss, FSpan grad_logits,
                            const CrossEntropyAttrs& attrs);

// Probability targets: target has logits' shape (ignore_index does not apply); mean divides by
// the number of positions N*d1*...; label smoothing mixes the target with the uniform one.
void cross_entropy_prob_forward(CFView logits, Span<const float> target, OptCF weight, FSpan out,
                                const CrossEntropyAttrs& attrs);
void cross_entropy_prob_backward(CFView logits, Span<const float> target, OptCF weight,
                                 Span<const float> grad_loss, FSpan grad_logits,
                                 const CrossEntropyAttrs& attrs);

// Mean squared error of same-length pred / target; out: 1 value (mean/sum) or pred's length.
void mse_loss_forward(Span<const float> pred, Span<const float> target, FSpan out, Reduction r);
// grad_pred = 2 (pred - target) * scale, grad_target = -grad_pred; either may be omitted.
void mse_loss_backward(Span<const float> pred, Span<const float> target,
                       Span<const float> grad_loss, OptF grad_pred, OptF grad_target, Reduction r);

}  // namespace ravdl

// Fused optimizer updates, in place on the parameter and its state buffers, following the
// single-tensor algorithms of torch.optim (PyTorch 1.13) step for step. All buffers have the
// same length (ERR_SHAPE); hyper-parameters are checked like torch's (ERR_ATTR).
#pragma once
#include <cstdint>

#include "ravdl/tensor.h"

namespace ravdl {

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool amsgrad = false;
  bool decoupled_weight_decay = false;  // true = AdamW: param *= 1 - lr*wd; false: grad += wd*param
  bool maximize = false;
};
// `step` is the 1-based count of this update (used for the bias corrections). max_exp_avg_sq
// is required (and updated) exactly when amsgrad is set; pass {} otherwise.
void adam_step(FSpan param, Span<const float> grad, FSpan exp_avg, FSpan exp_avg_sq,
               FSpan max_exp_avg_sq, int64_t step, const AdamOptions& o);

struct RmspropOptions {
  double lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0.0, momentum = 0.0;
  bool centered = false, maximize = false;
};
// momentum_buf is required when momentum > 0, grad_avg when centered; all states start at 0.
void rmsprop_step(FSpan param, Span<const float> grad, FSpan square_avg, FSpan momentum_buf,
                  FSpan grad_avg, const RmspropOptions& o);

struct SgdOptions {
  double lr = 1e-3, momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false, maximize = false;
};
// momentum_buf is required when momentum != 0; on step 1 it is set to the (decayed) gradient
// itself, as torch does when the buffer does not exist yet; later steps update it.
void sgd_step(FSpan param, Span<const float> grad, FSpan momentum_buf, int64_t step,
              const SgdOptions& o);

}  // namespace ravdl

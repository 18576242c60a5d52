// CPU kernels of the nn group in the registry: batch_norm, layer_norm, losses, embedding,
// dropout and the optimizer updates, with their backward ops. Names and attributes are the op
// catalog's; what the catalog op adds around a core kernel (copies of running statistics, the
// float mask of dropout, the optimizer outputs starting as copies of their inputs) is done here.
#include <cstring>
#include <vector>

#include "ravdl/embedding.h"
#include "ravdl/loss.h"
#include "ravdl/norm.h"
#include "ravdl/optim.h"
#include "ravdl/random.h"
#include "registry_util.h"

namespace ravdl::detail {
namespace {
using namespace reg;

Reduction reduction(const KernelCall& c) {
  static const char* names[] = {"mean", "sum", "none"};
  return parse_reduction(c.op.c_str(), names[c.attrs.choice(c.op.c_str(), "reduction", {"mean", "sum", "none"}, 0)]);
}
const std::vector<AttrDecl> kReduction = {{"reduction", {"mean", "sum", "none"}}};

CrossEntropyAttrs ce_attrs(const KernelCall& c) {
  CrossEntropyAttrs a;
  a.reduction = reduction(c);
  a.ignore_index = c.attrs.integer(c.op.c_str(), "ignore_index", -100);
  a.label_smoothing = c.attrs.num(c.op.c_str(), "label_smoothing", 0.0);
  return a;
}

// Copies input `from` into output `to` unless they are one buffer (an in-place run).
void copy_into(KernelCall& c, size_t from, size_t to) {
  Span<const float> src = in_fs(c, from);
  FSpan dst = out_fs(c, to);
  if (src.size != dst.size) fail(ErrorCode::Shape, c.op, ": output ", to, " must have input ", from, "'s ", src.size, " elements, got ", dst.size);
  if (dst.data != src.data && src.size) std::memcpy(dst.data, src.data, src.size * sizeof(float));
}

// Outputs follow the present state inputs (`states`, in order): output k starts as a copy of
// the k-th present one. Returns, per state input, its output index (-1 when absent).
std::vector<int> start_states(KernelCall& c, std::initializer_list<size_t> states) {
  std::vector<int> out, own;
  for (size_t i : states)
    if (i < c.inputs.size() && !absent(c, i)) own.push_back(static_cast<int>(i));
  check_outputs_fresh(c, own);
  int k = 0;
  for (size_t i : states) {
    if (i >= c.inputs.size() || absent(c, i)) {
      out.push_back(-1);
      continue;
    }
    if (k >= static_cast<int>(c.outputs.size())) fail(ErrorCode::Arg, c.op, ": one output per given state input is needed");
    copy_into(c, i, k);
    out.push_back(k++);
  }
  if (k != static_cast<int>(c.outputs.size())) fail(ErrorCode::Arg, c.op, ": expected ", k, " outputs, got ", c.outputs.size());
  return out;
}
FSpan state(const KernelCall& c, int k) { return k < 0 ? FSpan{} : out_fs(c, k); }

}  // namespace

void register_nn_kernels() {
  // (x, weight?, bias?, running_mean?, running_var?) -> [y, save_mean, save_invstd, new_running_mean, new_running_var]
  declare_attrs("batch_norm", {{"training", {}}, {"momentum", {}}, {"eps", {}}});
  register_kernel("batch_norm", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 5, 5, {1, 2, 3, 4});
    check_outputs_fresh(c);
    CFView x = in_f(c, 0);
    expect_out_shape(c, 0, x.shape);
    bool rm = !absent(c, 3), rv = !absent(c, 4);
    if (rm) copy_into(c, 3, 3);
    if (rv) copy_into(c, 4, 4);
    if (x.numel() == 0) return;  // an empty batch: nothing to normalize, running stats unchanged
    BatchNormAttrs a;
    a.training = flag(c, "training", false);
    a.momentum = c.attrs.num("batch_norm", "momentum", 0.1);
    a.eps = c.attrs.num("batch_norm", "eps", 1e-5);
    batch_norm_forward(x, opt_in_fs(c, 1), opt_in_fs(c, 2), rm ? OptF(out_fs(c, 3)) : std::nullopt,
                       rv ? OptF(out_fs(c, 4)) : std::nullopt, out_fs(c, 0), out_fs(c, 1), out_fs(c, 2), a);
  });
  // (gy, x, weight?, save_mean, save_invstd) -> [gx, gweight, gbias]
  declare_attrs("batch_norm_backward", {{"training", {}}});
  register_kernel("batch_norm_backward", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 5, 3, {2});
    check_outputs_fresh(c);
    CFView x = in_f(c, 1);
    if (c.inputs[0].shape != x.shape) fail(ErrorCode::Shape, c.op, ": gy must have x's shape ", shape_str(x.shape), ", got ", shape_str(c.inputs[0].shape));
    if (x.numel() == 0) {  // an empty batch: the weight and bias gradients are sums of nothing
      for (size_t k = 1; k < 3; ++k) {
        FSpan g = out_fs(c, k);
        std::fill(g.data, g.data + g.size, 0.0f);
      }
      return;
    }
    expect_out_shape(c, 0, x.shape);
    batch_norm_backward(in_f(c, 0), x, opt_in_fs(c, 2), in_fs(c, 3), in_fs(c, 4), flag(c, "training", false), out_fs(c, 0),
                        out_fs(c, 1), out_fs(c, 2));
  });

  // (x, weight?, bias?) -> [y, mean, rstd]
  declare_attrs("layer_norm", {{"normalized_shape", {}}, {"eps", {}}});
  register_kernel("layer_norm", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 3, 3, {1, 2});
    CFView x = in_f(c, 0);
    expect_out_shape(c, 0, x.shape);
    layer_norm_forward(x, c.attrs.ints("layer_norm", "normalized_shape"), opt_in_fs(c, 1), opt_in_fs(c, 2), out_fs(c, 0),
                       out_fs(c, 1), out_fs(c, 2), c.attrs.num("layer_norm", "eps", 1e-5));
  });
  // (gy, x, mean, rstd, weight?) -> [gx, gweight, gbias]
  declare_attrs("layer_norm_backward", {{"normalized_shape", {}}});
  register_kernel("layer_norm_backward", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 5, 3, {4});
    CFView x = in_f(c, 1);
    if (c.inputs[0].shape != x.shape) fail(ErrorCode::Shape, c.op, ": gy must have x's shape ", shape_str(x.shape), ", got ", shape_str(c.inputs[0].shape));
    expect_out_shape(c, 0, x.shape);
    layer_norm_backward(CFView{in_fs(c, 0).data, x.shape}, x, c.attrs.ints("layer_norm_backward", "normalized_shape"), in_fs(c, 2),
                        in_fs(c, 3), opt_in_fs(c, 4), out_fs(c, 0), out_fs(c, 1), out_fs(c, 2));
  });

  // (pred, target) -> loss; (pred, target, gloss) -> [gpred, gtarget]
  declare_attrs("mse_loss", kReduction);
  register_kernel("mse_loss", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 2, 1);
    Reduction r = reduction(c);
    expect_out_shape(c, 0, mse_loss_shape(c.inputs[0].shape, r));
    mse_loss_forward(in_fs(c, 0), in_fs(c, 1), out_fs(c, 0), r);
  });
  declare_attrs("mse_loss_backward", kReduction);
  register_kernel("mse_loss_backward", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 3, 2);
    mse_loss_backward(in_fs(c, 0), in_fs(c, 1), in_fs(c, 2), out_fs(c, 0), out_fs(c, 1), reduction(c));
  });

  // (logits, target (int32 class indices or float32 probabilities), weight?) -> loss
  std::vector<AttrDecl> ce = {{"reduction", {"mean", "sum", "none"}}, {"ignore_index", {}}, {"label_smoothing", {}}};
  declare_attrs("cross_entropy", ce);
  register_kernel("cross_entropy", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 3, 1, {2});
    CFView z = in_f(c, 0);
    CrossEntropyAttrs a = ce_attrs(c);
    expect_out_shape(c, 0, cross_entropy_shape(z.shape, a.reduction));
    if (c.inputs[1].dtype == DType::I32) cross_entropy_forward(z, in_is(c, 1), opt_in_fs(c, 2), out_fs(c, 0), a);
    else cross_entropy_prob_forward(z, in_fs(c, 1), opt_in_fs(c, 2), out_fs(c, 0), a);
  });
  // (logits, target, weight?, gloss) -> glogits
  declare_attrs("cross_entropy_backward", ce);
  register_kernel("cross_entropy_backward", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 4, 1, {2});
    CFView z = in_f(c, 0);
    expect_out_shape(c, 0, z.shape);
    CrossEntropyAttrs a = ce_attrs(c);
    if (c.inputs[1].dtype == DType::I32) cross_entropy_backward(z, in_is(c, 1), opt_in_fs(c, 2), in_fs(c, 3), out_fs(c, 0), a);
    else cross_entropy_prob_backward(z, in_fs(c, 1), opt_in_fs(c, 2), in_fs(c, 3), out_fs(c, 0), a);
  });

  // (ids, weight [V, D]) -> [...ids.shape, D]
  declare_attrs("embedding", {{"padding_idx", {}}});
  register_kernel("embedding", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 2, 1);
    CFView w = in_f(c, 1);
    if (w.shape.size() != 2) fail(ErrorCode::Shape, "embedding: weight must be [V, D], got ", shape_str(w.shape));
    Shape y = c.inputs[0].shape;
    y.push_back(w.shape[1]);
    expect_out_shape(c, 0, y);
    embedding(w, in_is(c, 0), out_fs(c, 0));
  });
  // (gy, ids) -> gw [num_weights, D]
  declare_attrs("embedding_backward", {{"padding_idx", {}}, {"num_weights", {}}});
  register_kernel("embedding_backward", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 2, 1);
    const Shape& gw = c.outputs[0].shape;
    if (gw.size() != 2) fail(ErrorCode::Shape, "embedding_backward: gw must be [V, D], got ", shape_str(gw));
    std::optional<int64_t> pad;
    if (c.attrs.has("padding_idx")) pad = c.attrs.integer("embedding_backward", "padding_idx", 0);
    embedding_backward(in_fs(c, 0), in_is(c, 1), gw[0], gw[1], pad, out_fs(c, 0));
  });

  // x -> [y, mask (0 or 1/(1-p))]; the identity unless training.
  declare_attrs("dropout", {{"p", {}}, {"training", {}}, {"seed", {}}, {"offset", {}}});
  register_kernel("dropout", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 2);
    check_outputs_fresh(c);
    Span<const float> x = in_fs(c, 0);
    expect_out_shape(c, 0, c.inputs[0].shape);
    expect_out_shape(c, 1, c.inputs[0].shape);
    FSpan y = out_fs(c, 0), mask = out_fs(c, 1);
    double p = c.attrs.num("dropout", "p", 0.5);
    std::fill(mask.data, mask.data + mask.size, 1.0f);
    if (!flag(c, "training", true) || p == 0.0) {
      if (y.data != x.data && x.size) std::memcpy(y.data, x.data, x.size * sizeof(float));
      return;
    }
    std::vector<uint8_t> keep(x.size);
    dropout(x, y, {keep.data(), keep.size()}, p, c.attrs.integer("dropout", "seed", 0), c.attrs.integer("dropout", "offset", 0));
    // 1 * kept / (1 - p): the same scale the forward used.
    dropout_backward({mask.data, mask.size}, {keep.data(), keep.size()}, p, mask);
  });

  // (param, grad, exp_avg, exp_avg_sq[, max_exp_avg_sq]) -> (param, exp_avg, exp_avg_sq[, max_exp_avg_sq])
  declare_attrs("adam_update", {{"lr", {}}, {"beta1", {}}, {"beta2", {}}, {"eps", {}}, {"weight_decay", {}}, {"amsgrad", {}},
                                {"decoupled_weight_decay", {}}, {"step", {}}});
  register_kernel("adam_update", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 5, c.outputs.size(), {4});
    auto k = start_states(c, {0, 2, 3, 4});
    AdamOptions o;
    const char* op = "adam_update";
    o.lr = c.attrs.num(op, "lr", o.lr);
    o.beta1 = c.attrs.num(op, "beta1", o.beta1);
    o.beta2 = c.attrs.num(op, "beta2", o.beta2);
    o.eps = c.attrs.num(op, "eps", o.eps);
    o.weight_decay = c.attrs.num(op, "weight_decay", o.weight_decay);
    o.amsgrad = flag(c, "amsgrad", o.amsgrad);
    o.decoupled_weight_decay = flag(c, "decoupled_weight_decay", o.decoupled_weight_decay);
    adam_step(state(c, k[0]), in_fs(c, 1), state(c, k[1]), state(c, k[2]), state(c, k[3]), c.attrs.integer(op, "step", 1), o);
  });
  // (param, grad, square_avg[, momentum_buffer][, grad_avg]) -> the present ones but grad
  declare_attrs("rmsprop_update", {{"lr", {}}, {"alpha", {}}, {"eps", {}}, {"weight_decay", {}}, {"momentum", {}}, {"centered", {}}});
  register_kernel("rmsprop_update", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 5, c.outputs.size(), {3, 4});
    auto k = start_states(c, {0, 2, 3, 4});
    RmspropOptions o;
    const char* op = "rmsprop_update";
    o.lr = c.attrs.num(op, "lr", o.lr);
    o.alpha = c.attrs.num(op, "alpha", o.alpha);
    o.eps = c.attrs.num(op, "eps", o.eps);
    o.weight_decay = c.attrs.num(op, "weight_decay", o.weight_decay);
    o.momentum = c.attrs.num(op, "momentum", o.momentum);
    o.centered = flag(c, "centered", o.centered);
    rmsprop_step(state(c, k[0]), in_fs(c, 1), state(c, k[1]), state(c, k[2]), state(c, k[3]), o);
  });
  // (param, grad[, momentum_buffer]) -> (param[, momentum_buffer])
  declare_attrs("sgd_update", {{"lr", {}}, {"momentum", {}}, {"dampening", {}}, {"weight_decay", {}}, {"nesterov", {}}, {"step", {}}});
  register_kernel("sgd_update", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 3, c.outputs.size(), {2});
    auto k = start_states(c, {0, 2});
    SgdOptions o;
    const char* op = "sgd_update";
    o.lr = c.attrs.num(op, "lr", o.lr);
    o.momentum = c.attrs.num(op, "momentum", o.momentum);
    o.dampening = c.attrs.num(op, "dampening", o.dampening);
    o.weight_decay = c.attrs.num(op, "weight_decay", o.weight_decay);
    o.nesterov = flag(c, "nesterov", o.nesterov);
    sgd_step(state(c, k[0]), in_fs(c, 1), state(c, k[1]), c.attrs.integer(op, "step", 1), o);
  });
}

}  // namespace ravdl::detail

// CPU kernels of matmul, convolution, max pooling and padding in the registry, with their
// backward ops. Names and attributes are the op catalog's; a backward op's target shape
// (x_shape, w_shape, shape) is its output's shape, so kernels read it from there.
#include "ravdl/conv.h"
#include "ravdl/matmul.h"
#include "ravdl/pad.h"
#include "ravdl/pool.h"
#include "registry_util.h"

namespace ravdl::detail {
namespace {
using namespace reg;

const std::vector<AttrDecl>& conv_decls() {
  static const std::vector<AttrDecl> d = {{"stride", {}}, {"padding", {"same", "valid"}}, {"dilation", {}}, {"groups", {}},
                                          {"padding_mode", {"zeros", "reflect", "replicate", "circular"}}};
  return d;
}

// conv2d's attributes; conv1d's (scalars) act on the width of a unit-height image.
Conv2dAttrs conv_attrs(const KernelCall& c, bool one_d) {
  const char* op = c.op.c_str();
  auto lift = [&](std::array<int64_t, 2> v, int64_t h) { return one_d ? std::array<int64_t, 2>{h, v[1]} : v; };
  Conv2dAttrs a;
  a.stride = lift(pair_attr(c, "stride", {1, 1}), 1);
  if (c.attrs.is_choice("padding")) {
    a.padding_kind = c.attrs.choice(op, "padding", {"same", "valid"}, 0) == 0 ? ConvPadding::Same : ConvPadding::Valid;
  } else {
    a.padding = lift(pair_attr(c, "padding", {0, 0}), 0);
  }
  a.dilation = lift(pair_attr(c, "dilation", {1, 1}), 1);
  a.groups = c.attrs.integer(op, "groups", 1);
  a.padding_mode = static_cast<ConvPaddingMode>(c.attrs.choice(op, "padding_mode", {"zeros", "reflect", "replicate", "circular"}, 0));
  return a;
}

// (N, C, L) as (N, C, 1, L).
Shape unit_height(const KernelCall& c, const Shape& s, const char* name) {
  if (s.size() != 3) fail(ErrorCode::Shape, c.op, ": ", name, " must be 3-D, got ", shape_str(s));
  return {s[0], s[1], 1, s[2]};
}

void conv_forward(KernelCall& c, bool one_d) {
  expect_counts(c, 3, 1);
  CFView x = in_f(c, 0), w = in_f(c, 1);
  if (one_d) {
    x.shape = unit_height(c, x.shape, "x");
    w.shape = unit_height(c, w.shape, "w");
  }
  Conv2dAttrs a = conv_attrs(c, one_d);
  Shape y = conv2d_shape(x.shape, w.shape, a);
  if (one_d) y = {y[0], y[1], y[3]};
  expect_out_shape(c, 0, y);
  conv2d(x, w, opt_in_fs(c, 2), out_fs(c, 0), a);
}

MaxPool2dAttrs pool_attrs(const KernelCall& c) {
  if (!c.attrs.has("kernel_size")) fail(ErrorCode::Attr, c.op, ": attribute 'kernel_size' is required");
  MaxPool2dAttrs a;
  a.kernel_size = pair_attr(c, "kernel_size", {1, 1});
  if (c.attrs.has("stride")) a.stride = pair_attr(c, "stride", {1, 1});
  a.padding = pair_attr(c, "padding", {0, 0});
  a.dilation = pair_attr(c, "dilation", {1, 1});
  a.ceil_mode = flag(c, "ceil_mode", false);
  return a;
}

PadMode pad_mode(const KernelCall& c) {
  return static_cast<PadMode>(c.attrs.choice(c.op.c_str(), "mode", {"constant", "reflect", "replicate", "circular"}, 0));
}

}  // namespace

void register_conv_kernels() {
  // matmul with torch.matmul semantics (1-D operands, batch broadcasting).
  declare_attrs("matmul", {{"trans_a", {}}, {"trans_b", {}}});
  register_kernel("matmul", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 2, 1);
    CFView a = in_f(c, 0), b = in_f(c, 1);
    bool ta = flag(c, "trans_a", false), tb = flag(c, "trans_b", false);
    expect_out_shape(c, 0, matmul_shape(a.shape, b.shape, ta, tb));
    matmul(a, b, ta, tb, out_fs(c, 0));
  });

  declare_attrs("conv2d", conv_decls());
  register_kernel("conv2d", DeviceType::CPU, [](KernelCall& c) { conv_forward(c, false); });
  declare_attrs("conv1d", conv_decls());
  register_kernel("conv1d", DeviceType::CPU, [](KernelCall& c) { conv_forward(c, true); });
  // (gy, w) -> gx
  declare_attrs("conv2d_backward_input", conv_decls());
  register_kernel("conv2d_backward_input", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 2, 1);
    conv2d_backward_input(in_f(c, 0), in_f(c, 1), c.outputs[0].shape, out_fs(c, 0), conv_attrs(c, false));
  });
  // (gy, x) -> gw
  declare_attrs("conv2d_backward_weight", conv_decls());
  register_kernel("conv2d_backward_weight", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 2, 1);
    conv2d_backward_weight(in_f(c, 0), in_f(c, 1), c.outputs[0].shape, out_fs(c, 0), conv_attrs(c, false));
  });
  register_kernel("conv2d_backward_bias", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 1);
    CFView gy = in_f(c, 0);
    if (gy.shape.size() == 4) expect_out_shape(c, 0, {gy.shape[1]});
    conv2d_backward_bias(gy, out_fs(c, 0));
  });

  // x -> [y, indices (int32)]
  declare_attrs("max_pool2d", {{"kernel_size", {}}, {"stride", {}}, {"padding", {}}, {"dilation", {}}, {"ceil_mode", {}}});
  register_kernel("max_pool2d", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 2);
    CFView x = in_f(c, 0);
    MaxPool2dAttrs a = pool_attrs(c);
    Shape y = maxpool2d_shape(x.shape, a);
    expect_out_shape(c, 0, y);
    expect_out_shape(c, 1, y);
    maxpool2d(x, out_fs(c, 0), out_is(c, 1), a);
  });
  // (gy, indices) -> gx
  register_kernel("max_pool2d_backward", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 2, 1);
    CFView gy = in_f(c, 0);
    CIView idx = in_i(c, 1);
    if (idx.shape != gy.shape) fail(ErrorCode::Shape, c.op, ": indices must have gy's shape ", shape_str(gy.shape), ", got ", shape_str(idx.shape));
    maxpool2d_backward(gy, idx, c.outputs[0].shape, out_fs(c, 0));
  });

  declare_attrs("pad", {{"pads", {}}, {"mode", {"constant", "reflect", "replicate", "circular"}}, {"value", {}}});
  register_kernel("pad", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 1);
    CFView x = in_f(c, 0);
    auto pads = c.attrs.ints("pad", "pads");
    PadMode mode = pad_mode(c);
    expect_out_shape(c, 0, pad_shape("pad", x.shape, pads, mode));
    pad(x, pads, mode, static_cast<float>(c.attrs.num("pad", "value", 0.0)), out_fs(c, 0));
  });
  declare_attrs("pad_backward", {{"pads", {}}, {"mode", {"constant", "reflect", "replicate", "circular"}}});
  register_kernel("pad_backward", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 1);
    auto pads = c.attrs.ints("pad_backward", "pads");
    PadMode mode = pad_mode(c);
    expect_out_shape(c, 0, pad_backward_shape("pad_backward", c.inputs[0].shape, pads, mode));
    pad_backward(in_f(c, 0), pads, mode, out_fs(c, 0));
  });
}

}  // namespace ravdl::detail

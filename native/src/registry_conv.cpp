// CPU kernels of matmul, convolution, max pooling and padding in the registry, with their
// backward ops. Names and attributes are the op catalog's; a backward op's target shape
// (x_shape, w_shape, shape) is its output's shape, so kernels read it from there.
#include <algorithm>

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
  expect_counts(c, 3, 1, {2});
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

// Average pooling's windows (see PoolWindows) between a plane of x [H, W] and one of y [OH, OW].
struct Windows {
  std::vector<int32_t> h0, h1, w0, w1, div;
  PoolWindows view() const { return {{h0.data(), h0.size()}, {h1.data(), h1.size()}, {w0.data(), w0.size()}, {w1.data(), w1.size()}, {div.data(), div.size()}}; }
};

// [H, W] and [OH, OW] of x and y, each (N, C, H, W) or (C, H, W) with the same leading dims.
std::array<int64_t, 4> planes(const KernelCall& c, const Shape& x, const Shape& y) {
  if ((x.size() != 3 && x.size() != 4) || y.size() != x.size() || !std::equal(x.begin(), x.end() - 2, y.begin()))
    fail(ErrorCode::Shape, c.op, ": x ", shape_str(x), " and y ", shape_str(y), " must be (N, C, H, W) or (C, H, W) with the same leading dims");
  size_t r = x.size();
  return {x[r - 2], x[r - 1], y[r - 2], y[r - 1]};
}

// avg_pool2d's windows: clipped to the padded input first, whose window size is the divisor
// with count_include_pad (torch's rule).
Windows avg_windows(const KernelCall& c, const Shape& x, const Shape& y) {
  auto [H, W, OH, OW] = planes(c, x, y);
  auto k = pair_attr(c, "kernel_size", {1, 1});
  auto st = c.attrs.has("stride") ? pair_attr(c, "stride", {1, 1}) : k;
  auto pad = pair_attr(c, "padding", {0, 0});
  Windows w;
  std::vector<int32_t> hp, wp;
  auto axis = [](int64_t O, int64_t I, int64_t k, int64_t s, int64_t p, std::vector<int32_t>& lo, std::vector<int32_t>& hi, std::vector<int32_t>& padded) {
    for (int64_t o = 0; o < O; ++o) {
      int64_t start = o * s - p, stop = std::min(start + k, I + p);
      padded.push_back(static_cast<int32_t>(stop - start));
      lo.push_back(static_cast<int32_t>(std::max<int64_t>(start, 0)));
      hi.push_back(static_cast<int32_t>(std::min(stop, I)));
    }
  };
  axis(OH, H, k[0], st[0], pad[0], w.h0, w.h1, hp);
  axis(OW, W, k[1], st[1], pad[1], w.w0, w.w1, wp);
  bool include = flag(c, "count_include_pad", true);
  bool override_div = c.attrs.has("divisor_override");
  int64_t d = c.attrs.integer(c.op.c_str(), "divisor_override", 1);
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ow = 0; ow < OW; ++ow)
      w.div.push_back(static_cast<int32_t>(override_div ? d : include ? int64_t(hp[oh]) * wp[ow] : int64_t(w.h1[oh] - w.h0[oh]) * (w.w1[ow] - w.w0[ow])));
  return w;
}

// avg_pool2d's output shape: the pooling rule of max pooling with dilation 1.
Shape avg_shape(const KernelCall& c, const Shape& x) {
  MaxPool2dAttrs a;
  a.kernel_size = pair_attr(c, "kernel_size", {1, 1});
  if (c.attrs.has("stride")) a.stride = pair_attr(c, "stride", {1, 1});
  a.padding = pair_attr(c, "padding", {0, 0});
  a.ceil_mode = flag(c, "ceil_mode", false);
  return maxpool2d_shape(x, a);
}

// adaptive_avg_pool2d's windows: output i reads [floor(i * I / O), ceil((i + 1) * I / O)).
Windows adaptive_windows(const KernelCall& c, const Shape& x, const Shape& y) {
  auto [H, W, OH, OW] = planes(c, x, y);
  Windows w;
  auto axis = [](int64_t O, int64_t I, std::vector<int32_t>& lo, std::vector<int32_t>& hi) {
    for (int64_t i = 0; i < O; ++i) {
      lo.push_back(static_cast<int32_t>(i * I / O));
      hi.push_back(static_cast<int32_t>(((i + 1) * I + O - 1) / O));
    }
  };
  axis(OH, H, w.h0, w.h1);
  axis(OW, W, w.w0, w.w1);
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ow = 0; ow < OW; ++ow) w.div.push_back((w.h1[oh] - w.h0[oh]) * (w.w1[ow] - w.w0[ow]));
  return w;
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

  // Average pooling: the windows come from the attributes and the input and output shapes.
  std::vector<AttrDecl> avg = {{"kernel_size", {}}, {"stride", {}}, {"padding", {}}, {"ceil_mode", {}}, {"count_include_pad", {}}, {"divisor_override", {}}};
  declare_attrs("avg_pool2d", avg);
  register_kernel("avg_pool2d", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 1);
    if (!c.attrs.has("kernel_size")) fail(ErrorCode::Attr, c.op, ": attribute 'kernel_size' is required");
    expect_out_shape(c, 0, avg_shape(c, c.inputs[0].shape));
    Windows w = avg_windows(c, c.inputs[0].shape, c.outputs[0].shape);
    avgpool2d(in_f(c, 0), out_fs(c, 0), w.view());
  });
  // gy -> gx (x_shape is the output's shape)
  declare_attrs("avg_pool2d_backward", avg);
  register_kernel("avg_pool2d_backward", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 1);
    if (!c.attrs.has("kernel_size")) fail(ErrorCode::Attr, c.op, ": attribute 'kernel_size' is required");
    Shape gy = avg_shape(c, c.outputs[0].shape);
    if (c.inputs[0].shape != gy) fail(ErrorCode::Shape, c.op, ": gy must have shape ", shape_str(gy), " (avg_pool2d of x ", shape_str(c.outputs[0].shape), "), got ", shape_str(c.inputs[0].shape));
    Windows w = avg_windows(c, c.outputs[0].shape, c.inputs[0].shape);
    avgpool2d_backward(in_f(c, 0), c.outputs[0].shape, out_fs(c, 0), w.view());
  });
  register_kernel("adaptive_avg_pool2d", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 1);
    Windows w = adaptive_windows(c, c.inputs[0].shape, c.outputs[0].shape);
    avgpool2d(in_f(c, 0), out_fs(c, 0), w.view());
  });
  register_kernel("adaptive_avg_pool2d_backward", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 1);
    Windows w = adaptive_windows(c, c.outputs[0].shape, c.inputs[0].shape);
    avgpool2d_backward(in_f(c, 0), c.outputs[0].shape, out_fs(c, 0), w.view());
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

// CPU kernels of the data-movement and random ops in the registry: permute, concat, split,
// slice (+ backward), uniform, normal. The data-movement ops take float32 or int32 tensors.
#include "ravdl/random.h"
#include "ravdl/shape_ops.h"
#include "registry_util.h"

namespace ravdl::detail {
namespace {
using namespace reg;

// Every tensor of the call has the first input's dtype (float32 or int32); returns whether int32.
bool common_int(const KernelCall& c) {
  if (c.inputs.empty()) fail(ErrorCode::Arg, c.op, ": needs at least one input");
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (c.inputs[i].dtype == DType::Absent) fail(ErrorCode::Arg, c.op, ": input ", i, " is required");
  DType d = c.inputs[0].dtype;
  if (d != DType::F32 && d != DType::I32) fail(ErrorCode::Dtype, c.op, ": input 0 must be float32 or int32");
  for (auto* list : {&c.inputs, &c.outputs})
    for (size_t i = 0; i < list->size(); ++i)
      if ((*list)[i].dtype != d) fail(ErrorCode::Dtype, c.op, ": every tensor must be ", dtype_name(d), " like input 0");
  return d == DType::I32;
}

template <class T>
View<const T> in_view(const KernelCall& c, size_t i) {
  return View<const T>{static_cast<const T*>(c.inputs[i].data), c.inputs[i].shape};
}
template <class T>
Span<T> out_span(const KernelCall& c, size_t i) {
  return {static_cast<T*>(c.outputs[i].data), static_cast<size_t>(c.outputs[i].numel())};
}

template <class T>
void concat_as(KernelCall& c, int64_t axis) {
  std::vector<View<const T>> views;
  for (size_t i = 0; i < c.inputs.size(); ++i) views.push_back(in_view<T>(c, i));
  concat<T>(views, axis, out_span<T>(c, 0));
}
template <class T>
void split_as(KernelCall& c, int64_t axis, const std::vector<int64_t>& sizes) {
  std::vector<Span<T>> outs;
  for (size_t i = 0; i < c.outputs.size(); ++i) outs.push_back(out_span<T>(c, i));
  split<T>(in_view<T>(c, 0), axis, sizes, outs);
}

void random_kernel(bool normal, KernelCall& c) {
  expect_counts(c, 0, 1);
  const char* op = c.op.c_str();
  double a = c.attrs.num(op, "a", 0.0), b = c.attrs.num(op, "b", 1.0);
  int64_t seed = c.attrs.integer(op, "seed", 0), offset = c.attrs.integer(op, "offset", 0);
  if (normal) rand_normal(out_fs(c, 0), a, b, seed, offset);
  else rand_uniform(out_fs(c, 0), a, b, seed, offset);
}

}  // namespace

void register_shape_kernels() {
  declare_attrs("permute", {{"perm", {}}});
  register_kernel("permute", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 1);
    bool is_int = common_int(c);
    auto perm = c.attrs.ints("permute", "perm");
    expect_out_shape(c, 0, permute_shape(c.inputs[0].shape, perm));
    if (is_int) permute<int32_t>(in_view<int32_t>(c, 0), perm, out_span<int32_t>(c, 0));
    else permute<float>(in_view<float>(c, 0), perm, out_span<float>(c, 0));
  });
  // (tensors...) -> y
  declare_attrs("concat", {{"axis", {}}});
  register_kernel("concat", DeviceType::CPU, [](KernelCall& c) {
    if (c.outputs.size() != 1) expect_counts(c, c.inputs.size(), 1);
    bool is_int = common_int(c);
    int64_t axis = c.attrs.integer("concat", "axis", 0);
    std::vector<Shape> shapes;
    for (auto& t : c.inputs) shapes.push_back(t.shape);
    expect_out_shape(c, 0, concat_shape(shapes, axis));
    if (is_int) concat_as<int32_t>(c, axis);
    else concat_as<float>(c, axis);
  });
  // x -> one output per size
  declare_attrs("split", {{"sizes", {}}, {"axis", {}}});
  register_kernel("split", DeviceType::CPU, [](KernelCall& c) {
    if (c.inputs.size() != 1) expect_counts(c, 1, c.outputs.size());
    bool is_int = common_int(c);
    int64_t axis = c.attrs.integer("split", "axis", 0);
    auto sizes = c.attrs.ints("split", "sizes");
    if (is_int) split_as<int32_t>(c, axis, sizes);
    else split_as<float>(c, axis, sizes);
  });
  std::vector<AttrDecl> slice_attrs = {{"starts", {}}, {"ends", {}}, {"steps", {}}};
  declare_attrs("slice", slice_attrs);
  register_kernel("slice", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 1);
    bool is_int = common_int(c);
    auto s = c.attrs.ints("slice", "starts"), e = c.attrs.ints("slice", "ends"), k = c.attrs.ints("slice", "steps");
    expect_out_shape(c, 0, slice_shape(c.inputs[0].shape, s, e, k));
    if (is_int) slice<int32_t>(in_view<int32_t>(c, 0), s, e, k, out_span<int32_t>(c, 0));
    else slice<float>(in_view<float>(c, 0), s, e, k, out_span<float>(c, 0));
  });
  // dy -> gx (the output's shape is x's)
  declare_attrs("slice_backward", slice_attrs);
  register_kernel("slice_backward", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 1);
    const char* op = "slice_backward";
    slice_backward(in_f(c, 0), c.outputs[0].shape, c.attrs.ints(op, "starts"), c.attrs.ints(op, "ends"), c.attrs.ints(op, "steps"),
                   out_fs(c, 0));
  });

  // () -> values of the output's shape from the Philox stream (seed, offset)
  std::vector<AttrDecl> rand_attrs = {{"a", {}}, {"b", {}}, {"seed", {}}, {"offset", {}}};
  declare_attrs("uniform", rand_attrs);
  register_kernel("uniform", DeviceType::CPU, [](KernelCall& c) { random_kernel(false, c); });
  declare_attrs("normal", rand_attrs);
  register_kernel("normal", DeviceType::CPU, [](KernelCall& c) { random_kernel(true, c); });
}

}  // namespace ravdl::detail

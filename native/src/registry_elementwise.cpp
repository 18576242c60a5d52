// CPU kernels of the elementwise group in the registry: unary ops and their backward ops,
// broadcasting binary ops, where, broadcast_to, sum_to. Names are the op catalog's.
#include <cstring>

#include "ravdl/elementwise.h"
#include "ravdl/reduce.h"
#include "registry_util.h"

namespace ravdl::detail {
namespace {
using namespace reg;

// The catalog's name of a native unary kernel (most are the same).
const char* unary_catalog_name(const char* native) {
  if (std::strcmp(native, "log") == 0) return "natlog";
  if (std::strcmp(native, "sqrt") == 0) return "square_root";
  return native;
}

const char* binary_catalog_name(BinaryOp op) {
  const char* n = binary_name(op);
  static const std::pair<const char*, const char*> renamed[] = {{"gt", "greater"}, {"lt", "less"}, {"eq", "equal"},
      {"ge", "greater_equal"}, {"le", "less_equal"}, {"ne", "not_equal"}};
  for (auto [from, to] : renamed)
    if (std::strcmp(n, from) == 0) return to;
  return n;
}

UnaryParams unary_params(const KernelCall& c, const UnaryInfo& u) {
  UnaryParams p;
  for (int k = 0; k < u.nparams; ++k) {
    const std::vector<double>* v = c.attrs.values(u.param_names[k]);
    if (!v) continue;
    if (v->size() != 1) fail(ErrorCode::Attr, c.op, ": attribute '", u.param_names[k], "' must be one number, got ", v->size());
    p.p[k] = (*v)[0];
    p.has[k] = true;
  }
  return p;
}

void same_shape(const KernelCall& c, size_t in, size_t out) {
  if (c.inputs[in].shape != c.outputs[out].shape)
    fail(ErrorCode::Shape, c.op, ": output ", out, " must have input ", in, "'s shape ", shape_str(c.inputs[in].shape), ", got ",
         shape_str(c.outputs[out].shape));
}

void binary_kernel(BinaryOp op, KernelCall& c) {
  expect_counts(c, 2, 1);
  Span<const float> a = in_fs(c, 0), b = in_fs(c, 1);
  const Shape &as = c.inputs[0].shape, &bs = c.inputs[1].shape;
  if (as == bs) {  // the flat path: no broadcasting index arithmetic
    expect_out_shape(c, 0, as);
    binary_flat(op, a, b, out_fs(c, 0));
    return;
  }
  expect_out_shape(c, 0, broadcast_shapes(c.op.c_str(), as, bs));
  binary(op, in_f(c, 0), in_f(c, 1), out_f(c, 0));
}

}  // namespace

void register_elementwise_kernels() {
  int count = 0;
  const UnaryInfo* table = unary_table(&count);
  for (int k = 0; k < count; ++k) {
    const UnaryInfo* u = &table[k];
    std::string name = unary_catalog_name(u->name);
    std::vector<AttrDecl> attrs;
    for (int i = 0; i < u->nparams; ++i) attrs.push_back({u->param_names[i], {}});
    declare_attrs(name, attrs);
    register_kernel(name, DeviceType::CPU, [u](KernelCall& c) {
      expect_counts(c, 1, 1);
      same_shape(c, 0, 0);
      unary(u->op, in_fs(c, 0), out_fs(c, 0), u->nparams ? unary_params(c, *u) : UnaryParams{});
    });
    if (!u->has_backward || u->op == UnaryOp::Sign) continue;  // sign has no gradient in the catalog
    declare_attrs(name + "_backward", attrs);
    // (x or y, dy) -> dx
    register_kernel(name + "_backward", DeviceType::CPU, [u](KernelCall& c) {
      expect_counts(c, 2, 1);
      same_shape(c, 0, 0);
      same_shape(c, 1, 0);
      unary_backward(u->op, in_fs(c, 0), in_fs(c, 1), out_fs(c, 0), unary_params(c, *u));
    });
  }

  const BinaryOp binaries[] = {
#define RAVDL_ENTRY(name, E) BinaryOp::E,
      RAVDL_BINARY_OPS(RAVDL_ENTRY)
#undef RAVDL_ENTRY
  };
  for (BinaryOp op : binaries)
    register_kernel(binary_catalog_name(op), DeviceType::CPU, [op](KernelCall& c) { binary_kernel(op, c); });

  // (cond, a, b) -> y, all three broadcast together.
  register_kernel("where", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 3, 1);
    CFView cond = in_f(c, 0), a = in_f(c, 1), b = in_f(c, 2);
    expect_out_shape(c, 0, broadcast_shapes("where", broadcast_shapes("where", cond.shape, a.shape), b.shape));
    where(cond, a, b, out_f(c, 0));
  });
  // The target shape is the output's.
  register_kernel("broadcast_to", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 1);
    broadcast_to(in_f(c, 0), out_f(c, 0));
  });
  register_kernel("sum_to", DeviceType::CPU, [](KernelCall& c) {
    expect_counts(c, 1, 1);
    sum_to(in_f(c, 0), out_f(c, 0));
  });
}

}  // namespace ravdl::detail

// Elementwise kernels: unary activations and math with their derivatives, NumPy-broadcasting
// binary ops, comparisons and logical ops (float32 0/1 results), where, broadcast_to.
// Every op is defined once in a table (the X-macros below); the loops are templated on a
// functor per op, so each inner loop is a tight loop the compiler can vectorize.
#pragma once
#include <cstdint>

#include "ravdl/tensor.h"

namespace ravdl {

// X(snake_name, EnumName). Definitions follow torch.nn.functional / torch exactly.
#define RAVDL_UNARY_OPS(X)                                                                    \
  X(relu, Relu) X(sigmoid, Sigmoid) X(tanh, Tanh) X(leaky_relu, LeakyRelu) X(elu, Elu)        \
  X(selu, Selu) X(softplus, Softplus) X(softsign, Softsign) X(tanhshrink, Tanhshrink)         \
  X(logsigmoid, Logsigmoid) X(hardshrink, Hardshrink) X(hardtanh, Hardtanh)                   \
  X(softshrink, Softshrink) X(threshold, Threshold) X(exp, Exp) X(log, Log) X(sqrt, Sqrt)     \
  X(abs, Abs) X(sign, Sign) X(neg, Neg) X(pow_scalar, PowScalar) X(clip, Clip)                \
  X(logical_not, LogicalNot)

#define RAVDL_BINARY_OPS(X)                                                                   \
  X(add, Add) X(sub, Sub) X(mul, Mul) X(div, Div) X(pow, Pow) X(maximum, Maximum)             \
  X(minimum, Minimum) X(eq, Eq) X(ne, Ne) X(lt, Lt) X(le, Le) X(gt, Gt) X(ge, Ge)             \
  X(logical_and, LogicalAnd) X(logical_or, LogicalOr) X(logical_xor, LogicalXor)

#define RAVDL_ENUM_ENTRY(name, E) E,
enum class UnaryOp { RAVDL_UNARY_OPS(RAVDL_ENUM_ENTRY) };
enum class BinaryOp { RAVDL_BINARY_OPS(RAVDL_ENUM_ENTRY) };
#undef RAVDL_ENUM_ENTRY

// What a unary backward reads besides grad_out: the forward input x or the forward output y.
enum class Saved { Input, Output };

// Static description of a unary op (drives the Node binding and documentation).
struct UnaryInfo {
  UnaryOp op;
  const char* name;             // "leaky_relu"
  int nparams;                  // 0, 1 or 2 scalar parameters
  const char* param_names[2];   // {"negative_slope"}
  double defaults[2];           // NaN: the parameter is required (threshold, pow_scalar)
  bool nullable_params;         // clip: a missing bound means unbounded
  bool has_backward;            // false only for logical_not
  Saved saved;                  // what <op>_backward reads
};

// All unary ops in table order, and the entry of one op.
const UnaryInfo* unary_table(int* count);
const UnaryInfo& unary_info(UnaryOp op);

// Scalar parameters of a unary op: has[i] false = use the default (or unbounded for clip).
struct UnaryParams {
  double p[2] = {0, 0};
  bool has[2] = {false, false};
  UnaryParams() = default;
  UnaryParams(double a) : p{a, 0}, has{true, false} {}
  UnaryParams(double a, double b) : p{a, b}, has{true, true} {}
};

// out[i] = op(x[i]). out must have x's length; out may be x itself (in place), but must not
// partially overlap it. Parameters are validated (ERR_ATTR) before any write.
void unary(UnaryOp op, Span<const float> x, FSpan out, const UnaryParams& params = {});

// grad_in[i] = grad_out[i] * op'(x[i]), reading `saved` = x or y as unary_info(op).saved says.
// All three lengths must match; grad_in may be grad_out or saved itself (exactly).
void unary_backward(UnaryOp op, Span<const float> saved, Span<const float> grad_out,
                    FSpan grad_in, const UnaryParams& params = {});

const char* binary_name(BinaryOp op);

// out = a op b with NumPy broadcasting; out.shape must equal broadcast_shapes(a, b).
// Comparisons and logical ops write 1.0f / 0.0f (nonzero, NaN included, counts as true).
// out may be a or b itself when that operand already has the output's shape.
void binary(BinaryOp op, CFView a, CFView b, FView out);
// The same on flat arrays of one length (no broadcasting, no shapes): the small-call fast path.
void binary_flat(BinaryOp op, Span<const float> a, Span<const float> b, FSpan out);

// out = cond != 0 ? a : b, all three broadcast to out.shape (which must be their broadcast).
void where(View<const float> cond, CFView a, CFView b, FView out);
void where(View<const uint8_t> cond, CFView a, CFView b, FView out);

// Copies x broadcast to out.shape; x.shape must broadcast to exactly out.shape.
void broadcast_to(CFView x, FView out);

}  // namespace ravdl

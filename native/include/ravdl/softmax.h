// Softmax family along any axis, numerically stable (the max of each slice is subtracted).
// The last axis runs on contiguous rows; inner axes run column-blocked over the trailing dims.
#pragma once
#include <cstdint>
#include <cstring>

#include "ravdl/norm.h"
#include "ravdl/tensor.h"

namespace ravdl {

enum class SoftmaxKind { Softmax, LogSoftmax, Softmin };

// out = softmax(x) / log_softmax(x) / softmax(-x) along `axis` (negative counts from the end).
// out has x's shape and may be x itself, but must not partially overlap it.
void softmax_forward(SoftmaxKind kind, CFView x, int64_t axis, FSpan out);

// grad_x from the forward output y and grad_out (both of x's shape):
//   softmax:     y * (g - sum(g * y))
//   log_softmax: g - exp(y) * sum(g)
//   softmin:     -(y * (g - sum(g * y)))
// grad_x may be y or grad_out itself.
void softmax_backward(SoftmaxKind kind, CFView y, Span<const float> grad_out, int64_t axis,
                      FSpan grad_x);

namespace detail {
// exp(x) in float, branch-free so that loops over it vectorize: x = n*ln2 + r, |r| <= ln2/2,
// exp(r) by a degree-7 polynomial (Cephes coefficients, ~1 ulp), 2^n assembled in the exponent
// bits. Exact 0 below -87.3 (no denormals); NaN stays NaN. Callers pass x <= 0 (x - max).
inline float exp_approx(float x) {
  const float lo = -87.3f, hi = 88.3f;
  float xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  float shifted = xc * 1.44269504f + magic;
  float nf = shifted - magic;
  float r = xc - nf * 0.693359375f;
  r = r + nf * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  uint32_t sb, mb;
  std::memcpy(&sb, &shifted, 4);
  std::memcpy(&mb, &magic, 4);
  uint32_t bits = (sb - mb + 127u) << 23;  // unsigned: garbage (not UB) for NaN, then p is NaN
  float scale;
  std::memcpy(&scale, &bits, 4);
  float res = p * scale;
  return x < lo ? 0.0f : res;
}
// Contiguous-row helpers shared with the losses (AVX-512 when the CPU has it):
// max of sgn*z, and sum of exp(sgn*z - m), also stored to `out` unless it is null.
float row_max(const float* z, int64_t n, float sgn);
float row_expsum(const float* z, int64_t n, float sgn, float m, float* out);
}  // namespace detail

}  // namespace ravdl

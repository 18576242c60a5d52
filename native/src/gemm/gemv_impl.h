// The matrix-vector product behind sgemm when A has one row (batch-1 inference and its
// backward): y = alpha * op(B) x + beta * y over columns [0, n) of op(B), where op(B) is
// B^T (trans_b: rows of B are dotted with x, contiguous) or B (rows of B are scaled by x[k]
// and summed). Included by one translation unit per SIMD level; everything here has internal
// linkage so code built for one level can never be picked by the linker for another.
#pragma once
#include <cstdint>

namespace {

constexpr int kLanes = 16;  // independent accumulators: the compiler maps them to SIMD registers

// y[j] = alpha * dot(B[j*ldb : j*ldb+k], x) + beta * y[j] for j in [0, n).
void gemv_rows(int64_t n, int64_t k, float alpha, const float* x, const float* B, int64_t ldb,
               float beta, float* y) {
  for (int64_t j = 0; j < n; ++j) {
    const float* b = B + j * ldb;
    float acc[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= k; i += kLanes)
      for (int l = 0; l < kLanes; ++l) acc[l] += b[i + l] * x[i + l];
    float s = 0.0f;
    for (int l = 0; l < kLanes; ++l) s += acc[l];
    for (; i < k; ++i) s += b[i] * x[i];
    y[j] = beta == 0.0f ? alpha * s : alpha * s + beta * y[j];
  }
}

// y[0:n] = alpha * sum_i x[i] * B[i*ldb : i*ldb+n] + beta * y[0:n].
void gemv_cols(int64_t n, int64_t k, float alpha, const float* x, const float* B, int64_t ldb,
               float beta, float* y) {
  if (beta == 0.0f)
    for (int64_t j = 0; j < n; ++j) y[j] = 0.0f;
  else if (beta != 1.0f)
    for (int64_t j = 0; j < n; ++j) y[j] *= beta;
  for (int64_t i = 0; i < k; ++i) {
    const float a = alpha * x[i];
    const float* b = B + i * ldb;
    for (int64_t j = 0; j < n; ++j) y[j] += a * b[j];
  }
}

void gemv_impl(bool trans_b, int64_t n, int64_t k, float alpha, const float* x, const float* B,
               int64_t ldb, float beta, float* y) {
  if (trans_b)
    gemv_rows(n, k, alpha, x, B, ldb, beta, y);
  else
    gemv_cols(n, k, alpha, x, B, ldb, beta, y);
}

}  // namespace

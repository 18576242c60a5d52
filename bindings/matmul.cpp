// Binding of the matmul group: matmul's shape function and the raw gemm entry point (tests,
// benchmarks). matmul itself runs through runKernel (bindings/kernel.cpp).
#include "common.h"
#include "ravdl/gemm.h"
#include "ravdl/matmul.h"

namespace ravdl::node {
namespace {

Napi::Array shape_to_js(Napi::Env env, const Shape& s) {
  Napi::Array arr = Napi::Array::New(env, s.size());
  for (size_t i = 0; i < s.size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, double(s[i])));
  return arr;
}

}  // namespace

void register_matmul(Napi::Env env, Napi::Object exports) {
  // matmul_shape(aShape, bShape, transA = false, transB = false) -> number[]
  exports.Set("matmul_shape", fn(env, "matmul_shape", [](const Napi::CallbackInfo& info) {
    const char* op = "matmul_shape";
    Shape a = arg_shape(info, 0, op, "aShape"), b = arg_shape(info, 1, op, "bShape");
    bool ta = arg_bool_or(info, 2, op, "transA", false);
    bool tb = arg_bool_or(info, 3, op, "transB", false);
    return shape_to_js(info.Env(), matmul_shape(a, b, ta, tb));
  }));

  // gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, backend?)
  exports.Set("gemm", fn(env, "gemm", [](const Napi::CallbackInfo& info) {
    const char* op = "gemm";
    bool ta = arg_bool(info, 0, op, "transA"), tb = arg_bool(info, 1, op, "transB");
    int64_t M = arg_int(info, 2, op, "M"), N = arg_int(info, 3, op, "N"), K = arg_int(info, 4, op, "K");
    float alpha = static_cast<float>(arg_num(info, 5, op, "alpha"));
    Span<float> A = arg_f32(info, 6, op, "A");
    int64_t lda = arg_int(info, 7, op, "lda");
    Span<float> B = arg_f32(info, 8, op, "B");
    int64_t ldb = arg_int(info, 9, op, "ldb");
    float beta = static_cast<float>(arg_num(info, 10, op, "beta"));
    Span<float> C = arg_f32(info, 11, op, "C");
    int64_t ldc = arg_int(info, 12, op, "ldc");
    GemmPath path = GemmPath::Current;
    if (arg_present(info, 13)) {
      std::string name = arg_str(info, 13, op, "backend");
      if (name == "blas") path = GemmPath::Blas;
      else if (name == "builtin") path = GemmPath::Builtin;
      else fail(ErrorCode::Attr, "gemm: backend must be 'blas' or 'builtin', got '", name, "'");
    }
    sgemm_checked(ta, tb, M, N, K, alpha, Span<const float>{A.data, A.size}, lda,
                  Span<const float>{B.data, B.size}, ldb, beta, C, ldc, path);
    return info.Env().Undefined();
  }));
}

}  // namespace ravdl::node

// Engine-wide controls: backend report, thread count, GEMM backend selection; the
// physical-limit probes of the benchmark suite (FMA peak, triad bandwidth).
#include "common.h"
#include "ravdl/backend.h"
#include "ravdl/cuda.h"
#include "ravdl/gemm.h"
#include "ravdl/parallel.h"
#include "ravdl/probe.h"

namespace ravdl::node {

// backendInfo().cuda: { built, available, reason?, devices: [{ name, memoryBytes, computeCapability }] }.
static Napi::Object cuda_object(Napi::Env e) {
  const CudaStatus& s = cuda_status();
  Napi::Object o = Napi::Object::New(e);
  o.Set("built", s.built);
  o.Set("available", s.available);
  if (!s.available) o.Set("reason", s.reason);
  Napi::Array devices = Napi::Array::New(e, s.devices.size());
  for (size_t i = 0; i < s.devices.size(); i++) {
    Napi::Object d = Napi::Object::New(e);
    d.Set("name", s.devices[i].name);
    d.Set("memoryBytes", static_cast<double>(s.devices[i].memory_bytes));
    d.Set("computeCapability", std::to_string(s.devices[i].cc_major) + "." + std::to_string(s.devices[i].cc_minor));
    devices.Set(static_cast<uint32_t>(i), d);
  }
  o.Set("devices", devices);
  return o;
}

void register_core(Napi::Env env, Napi::Object exports) {
  exports.Set("backendInfo", fn(env, "backendInfo", [](const Napi::CallbackInfo& info) {
    BackendInfo b = backend_info();
    Napi::Env e = info.Env();
    Napi::Object o = Napi::Object::New(e);
    o.Set("blas", b.blas);
    o.Set("gemm", b.gemm);
    o.Set("simd", b.simd);
    o.Set("threads", b.threads);
    o.Set("hardwareThreads", b.hardware_threads);
    o.Set("cuda", cuda_object(e));
    o.Set("version", b.version);
    return o;
  }));
  exports.Set("setNumThreads", fn(env, "setNumThreads", [](const Napi::CallbackInfo& info) {
    int64_t n = arg_int(info, 0, "setNumThreads", "n");
    if (n < 0 || n > 1024)
      fail(ErrorCode::Attr, "setNumThreads: n must be in [0, 1024] (0 = default), got ", n);
    set_num_threads(static_cast<int>(n));
    return info.Env().Undefined();
  }));
  exports.Set("getNumThreads", fn(env, "getNumThreads", [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), get_num_threads());
  }));
  exports.Set("setGemmBackend", fn(env, "setGemmBackend", [](const Napi::CallbackInfo& info) {
    std::string name = arg_str(info, 0, "setGemmBackend", "backend");
    if (name == "blas") set_gemm_backend(GemmBackend::Blas);
    else if (name == "builtin") set_gemm_backend(GemmBackend::Builtin);
    else fail(ErrorCode::Attr, "setGemmBackend: backend must be 'blas' or 'builtin', got '", name, "'");
    return info.Env().Undefined();
  }));
  // Frees a typed array's memory now instead of at the next garbage collection: detaches its
  // ArrayBuffer (every view of it then has length 0, so nothing can touch the freed memory).
  // Only whole, non-shared, detachable buffers; returns whether it released one.
  exports.Set("releaseBuffer", fn(env, "releaseBuffer", [](const Napi::CallbackInfo& info) {
    Napi::Env e = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray())
      fail(ErrorCode::Arg, "releaseBuffer: expected a typed array");
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    napi_value buf_value;
    bool is_ab = false;
    if (napi_get_typedarray_info(e, ta, nullptr, nullptr, nullptr, &buf_value, nullptr) != napi_ok ||
        napi_is_arraybuffer(e, buf_value, &is_ab) != napi_ok || !is_ab)
      return Napi::Boolean::New(e, false);  // e.g. backed by a SharedArrayBuffer
    Napi::ArrayBuffer ab(e, buf_value);
    if (ta.ByteOffset() != 0 || ta.ByteLength() != ab.ByteLength() || ab.IsDetached())
      return Napi::Boolean::New(e, false);
    if (napi_detach_arraybuffer(e, ab) != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(e, &pending);
      if (pending) {
        napi_value ignored;
        napi_get_and_clear_last_exception(e, &ignored);
      }
      return Napi::Boolean::New(e, false);  // not detachable (e.g. a WebAssembly memory)
    }
    return Napi::Boolean::New(e, true);
  }));
  // Both probes check their ranges in the core (ERR_ARG), which also bounds their run time.
  exports.Set("probe_fma_gflops", fn(env, "probe_fma_gflops", [](const Napi::CallbackInfo& info) {
    double ms = arg_num(info, 0, "probe_fma_gflops", "ms");
    int64_t threads = arg_int_or(info, 1, "probe_fma_gflops", "threads", 0);
    if (threads < 0 || threads > 1024)
      fail(ErrorCode::Arg, "probe_fma_gflops: threads must be in [0, 1024], got ", threads);
    return Napi::Number::New(info.Env(), probe_fma_gflops(ms, static_cast<int>(threads)));
  }));
  exports.Set("probe_triad_gbps", fn(env, "probe_triad_gbps", [](const Napi::CallbackInfo& info) {
    int64_t n = arg_int(info, 0, "probe_triad_gbps", "n");
    int64_t reps = arg_int(info, 1, "probe_triad_gbps", "reps");
    return Napi::Number::New(info.Env(), probe_triad_gbps(n, reps));
  }));
}

}  // namespace ravdl::node

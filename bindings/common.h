// Argument parsing and error conversion shared by every binding file. Bindings only parse,
// call the core and convert errors: all validation of shapes and values lives in the core.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ravdl/error.h"
#include "ravdl/registry.h"
#include "ravdl/shape.h"
#include "ravdl/tensor.h"

namespace ravdl::node {

// Throws a JS Error with `.code` (ERR_SHAPE, ...) from a core error of binding function `fn`;
// a message that names no op (e.g. numel's "shape [...] has too many elements") gets "fn: ".
[[noreturn]] void throw_js(Napi::Env env, const ravdl::Error& e, const std::string& fn);

// Pointers into typed arrays stay valid only while no JS runs, but reading an attribute object
// or a list can run JS (a getter, a Proxy trap) that detaches or resizes a buffer whose pointer
// was already taken. Every typed array read during a call is recorded in the call's SpanScope;
// every read that can run JS ends with check_spans(), which fails with ERR_ARG if one changed.
struct TakenSpan {
  napi_value array;
  void* data;
  size_t length;
};
class SpanScope {
 public:
  SpanScope();
  ~SpanScope();
  SpanScope(const SpanScope&) = delete;
  SpanScope& operator=(const SpanScope&) = delete;

 private:
  std::vector<TakenSpan> spans_;
  std::vector<TakenSpan>* saved_;
};
void check_spans(Napi::Env env, const char* op);

// Wraps a binding body so that core errors become typed JS errors and no other C++ exception
// escapes. Usage: exports.Set("add", fn(env, "add", [](const Napi::CallbackInfo& info) {...}))
// A Napi::Error (also what throw_js itself raises when the environment is terminating: a worker
// being stopped, process.exit) goes to node-addon-api's callback wrapper, which the build's
// NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS makes drop quietly instead of aborting the process.
template <class F>
Napi::Function fn(Napi::Env env, const char* name, F body) {
  return Napi::Function::New(
      env,
      [body, op = std::string(name)](const Napi::CallbackInfo& info) -> Napi::Value {
        SpanScope spans;
        try {
          return body(info);
        } catch (const ravdl::Error& e) {
          throw_js(info.Env(), e, op);
        } catch (const Napi::Error&) {
          throw;
        } catch (const std::bad_alloc&) {
          throw_js(info.Env(), ravdl::Error(ErrorCode::Arg, "out of memory"), op);
        } catch (const std::exception& e) {
          throw_js(info.Env(), ravdl::Error(ErrorCode::Internal, e.what()), op);
        } catch (...) {
          throw_js(info.Env(), ravdl::Error(ErrorCode::Internal, "unknown native exception"), op);
        }
      },
      name);
}

// Start of a typed array's elements (byte offset applied), recorded in the call's SpanScope;
// works for SharedArrayBuffer-backed arrays too. nullptr when detached.
void* typed_data(const Napi::TypedArray& ta);
// For entries that read typed arrays only from their arguments (no getter can run after the
// pointer is taken, so nothing is recorded): false when v is not a typed array; else its
// element type, length and data.
bool typed_info(napi_env env, napi_value v, napi_typedarray_type* type, size_t* length, void** data);

// Reads argument i of op; each throws ERR_ARG / ERR_DTYPE naming op, argument and value.
Span<float> arg_f32(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
Span<int32_t> arg_i32(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
Span<uint8_t> arg_u8(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
Shape arg_shape(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
std::vector<int64_t> arg_ints(const Napi::CallbackInfo& info, size_t i, const char* op,
                              const char* name);
int64_t arg_int(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
double arg_num(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
bool arg_bool(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
std::string arg_str(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
// Optional variants: return `fallback` when the argument is undefined or null.
int64_t arg_int_or(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name,
                   int64_t fallback);
double arg_num_or(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name,
                  double fallback);
bool arg_bool_or(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name,
                 bool fallback);
bool arg_present(const Napi::CallbackInfo& info, size_t i);

// Attribute-object readers, for ops with many attributes: obj[key] with the same checks.
Napi::Object arg_obj(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
int64_t attr_int(Napi::Object o, const char* key, const char* op, int64_t fallback);
double attr_num(Napi::Object o, const char* key, const char* op, double fallback);
bool attr_bool(Napi::Object o, const char* key, const char* op, bool fallback);
std::string attr_str(Napi::Object o, const char* key, const char* op, const std::string& fallback);
// An int or a list of ints, expanded to `n` values (e.g. stride 2 -> [2, 2]).
std::vector<int64_t> attr_ints(Napi::Object o, const char* key, const char* op, size_t n,
                               std::vector<int64_t> fallback);
bool attr_has(Napi::Object o, const char* key);

// Typed-array view helpers: a (buffer, shape) pair checked against each other.
inline CFView cview(const char* op, const char* name, Span<float> s, Shape shape) {
  return view<const float>(op, name, s.data, s.size, std::move(shape));
}
inline FView mview(const char* op, const char* name, Span<float> s, Shape shape) {
  return view<float>(op, name, s.data, s.size, std::move(shape));
}

// A tensor's memory on a CUDA device (bindings/device.cpp): what a device buffer external holds.
struct DeviceBuffer {
  int index;     // cuda:index
  void* ptr;     // the device address
  size_t bytes;
  int64_t length;  // elements
  DType dtype;
  bool live;     // false once freed
};
// The device buffer v is, or nullptr when v is anything else.
DeviceBuffer* device_buffer(napi_env env, napi_value v);

// Each group of kernels registers its functions here (one file per group).
void register_core(Napi::Env env, Napi::Object exports);
void register_elementwise(Napi::Env env, Napi::Object exports);
void register_matmul(Napi::Env env, Napi::Object exports);
void register_conv(Napi::Env env, Napi::Object exports);
void register_nn(Napi::Env env, Napi::Object exports);
void register_misc(Napi::Env env, Napi::Object exports);
void register_kernel_entry(Napi::Env env, Napi::Object exports);
void register_device(Napi::Env env, Napi::Object exports);

}  // namespace ravdl::node

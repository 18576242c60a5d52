#include "common.h"

#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

namespace ravdl::node {
namespace {

std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_float32_array: return "Float32Array";
      case napi_float64_array: return "Float64Array";
      case napi_int32_array: return "Int32Array";
      case napi_uint8_array: return "Uint8Array";
      case napi_bigint64_array: return "BigInt64Array";
      default: return "a typed array of another type";
    }
  }
  if (v.IsArray()) return "an array";
  if (v.IsNumber()) {
    std::ostringstream os;
    os << v.As<Napi::Number>().DoubleValue();
    return os.str();
  }
  if (v.IsString()) return "'" + v.As<Napi::String>().Utf8Value() + "'";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsFunction()) return "a function";
  if (v.IsObject()) return "an object";
  return "a value of another type";
}

[[noreturn]] void bad_arg(ErrorCode code, const char* op, const char* name, const char* want,
                          const Napi::Value& got) {
  fail(code, op, ": ", name, " must be ", want, ", got ", describe(got));
}

template <class T>
Span<T> typed(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name,
              napi_typedarray_type type, const char* want) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray()) bad_arg(ErrorCode::Arg, op, name, want, v);
  auto ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != type) bad_arg(ErrorCode::Dtype, op, name, want, v);
  return Span<T>{static_cast<T*>(typed_data(ta)), ta.ElementLength()};
}

int64_t to_int(const Napi::Value& v, const char* op, const char* name) {
  if (!v.IsNumber()) bad_arg(ErrorCode::Arg, op, name, "an integer", v);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740991.0)
    bad_arg(ErrorCode::Attr, op, name, "an integer", v);
  return static_cast<int64_t>(d);
}

double to_num(const Napi::Value& v, const char* op, const char* name) {
  if (!v.IsNumber()) bad_arg(ErrorCode::Arg, op, name, "a number", v);
  return v.As<Napi::Number>().DoubleValue();
}

std::vector<int64_t> to_ints(const Napi::Value& v, const char* op, const char* name) {
  if (!v.IsArray()) bad_arg(ErrorCode::Arg, op, name, "an array of integers", v);
  auto arr = v.As<Napi::Array>();
  uint32_t n = arr.Length();
  if (n > 64) fail(ErrorCode::Arg, op, ": ", name, " has ", n, " entries (at most 64)");
  std::vector<int64_t> out(n);
  for (uint32_t k = 0; k < n; ++k) out[k] = to_int(arr.Get(k), op, name);
  check_spans(v.Env(), op);
  return out;
}

}  // namespace

thread_local std::vector<TakenSpan>* taken_spans = nullptr;

SpanScope::SpanScope() : saved_(taken_spans) { taken_spans = &spans_; }
SpanScope::~SpanScope() { taken_spans = saved_; }

void* typed_data(const Napi::TypedArray& ta) {
  // Not ta.ArrayBuffer().Data(): napi_get_arraybuffer_info rejects a SharedArrayBuffer.
  void* data = nullptr;
  size_t length = 0;
  if (napi_get_typedarray_info(ta.Env(), ta, nullptr, &length, &data, nullptr, nullptr) != napi_ok) return nullptr;
  if (taken_spans) taken_spans->push_back({ta, data, length});
  return data;
}

bool typed_info(napi_env env, napi_value v, napi_typedarray_type* type, size_t* length, void** data) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return false;
  if (napi_get_typedarray_info(env, v, type, length, data, nullptr, nullptr) != napi_ok) return false;
  return true;
}

void check_spans(Napi::Env env, const char* op) {
  if (!taken_spans) return;
  for (const TakenSpan& s : *taken_spans) {
    void* data = nullptr;
    size_t length = 0;
    if (napi_get_typedarray_info(env, s.array, nullptr, &length, &data, nullptr, nullptr) != napi_ok ||
        data != s.data || length != s.length)
      fail(ErrorCode::Arg, op, ": a typed array argument was detached or resized while the arguments "
           "were read (by a getter or a Proxy)");
  }
}

void throw_js(Napi::Env env, const ravdl::Error& e, const std::string& fn) {
  std::string msg = e.what();
  // "op: ..." already names an op (a shape function may speak for its op: "concat: ...").
  size_t colon = msg.find(": ");
  bool named = colon != std::string::npos && colon > 0 &&
               msg.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == colon;
  Napi::Error err = Napi::Error::New(env, named ? msg : fn + ": " + msg);
  err.Set("code", Napi::String::New(env, e.code_name()));
  throw err;
}

bool arg_present(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() && !info[i].IsUndefined() && !info[i].IsNull();
}

Span<float> arg_f32(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  return typed<float>(info, i, op, name, napi_float32_array, "a Float32Array");
}
Span<int32_t> arg_i32(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  return typed<int32_t>(info, i, op, name, napi_int32_array, "an Int32Array");
}
Span<uint8_t> arg_u8(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  return typed<uint8_t>(info, i, op, name, napi_uint8_array, "a Uint8Array");
}

Shape arg_shape(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  Shape s = to_ints(info[i], op, name);
  for (int64_t d : s)
    if (d < 0) fail(ErrorCode::Shape, op, ": ", name, " ", shape_str(s), " has a negative dimension");
  numel(s);  // rejects overflow
  return s;
}

std::vector<int64_t> arg_ints(const Napi::CallbackInfo& info, size_t i, const char* op,
                              const char* name) {
  return to_ints(info[i], op, name);
}
int64_t arg_int(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  return to_int(info[i], op, name);
}
double arg_num(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  return to_num(info[i], op, name);
}
bool arg_bool(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsBoolean()) bad_arg(ErrorCode::Arg, op, name, "a boolean", v);
  return v.As<Napi::Boolean>().Value();
}
std::string arg_str(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsString()) bad_arg(ErrorCode::Arg, op, name, "a string", v);
  return v.As<Napi::String>().Utf8Value();
}
int64_t arg_int_or(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name,
                   int64_t fallback) {
  return arg_present(info, i) ? arg_int(info, i, op, name) : fallback;
}
double arg_num_or(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name,
                  double fallback) {
  return arg_present(info, i) ? arg_num(info, i, op, name) : fallback;
}
bool arg_bool_or(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name,
                 bool fallback) {
  return arg_present(info, i) ? arg_bool(info, i, op, name) : fallback;
}

Napi::Object arg_obj(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  Napi::Value v = info[i];
  if (v.IsUndefined() || v.IsNull()) return Napi::Object::New(info.Env());
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray() || v.IsFunction())
    bad_arg(ErrorCode::Arg, op, name, "an object of attributes", v);
  return v.As<Napi::Object>();
}

bool attr_has(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}
namespace {
// o[key] (undefined/null: absent), read once; a getter may run, hence check_spans.
std::optional<Napi::Value> attr_get(Napi::Object o, const char* key, const char* op) {
  Napi::Value v = o.Get(key);
  check_spans(o.Env(), op);
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  return v;
}
}  // namespace
int64_t attr_int(Napi::Object o, const char* key, const char* op, int64_t fallback) {
  auto v = attr_get(o, key, op);
  return v ? to_int(*v, op, key) : fallback;
}
double attr_num(Napi::Object o, const char* key, const char* op, double fallback) {
  auto v = attr_get(o, key, op);
  return v ? to_num(*v, op, key) : fallback;
}
bool attr_bool(Napi::Object o, const char* key, const char* op, bool fallback) {
  auto v = attr_get(o, key, op);
  if (!v) return fallback;
  if (!v->IsBoolean()) bad_arg(ErrorCode::Attr, op, key, "a boolean", *v);
  return v->As<Napi::Boolean>().Value();
}
std::string attr_str(Napi::Object o, const char* key, const char* op, const std::string& fallback) {
  auto v = attr_get(o, key, op);
  if (!v) return fallback;
  if (!v->IsString()) bad_arg(ErrorCode::Attr, op, key, "a string", *v);
  return v->As<Napi::String>().Utf8Value();
}
std::vector<int64_t> attr_ints(Napi::Object o, const char* key, const char* op, size_t n,
                               std::vector<int64_t> fallback) {
  auto got = attr_get(o, key, op);
  if (!got) return fallback;
  Napi::Value v = *got;
  if (v.IsNumber()) return std::vector<int64_t>(n, to_int(v, op, key));
  std::vector<int64_t> out = to_ints(v, op, key);
  if (out.size() != n)
    fail(ErrorCode::Attr, op, ": ", key, " must be an integer or a list of ", n, " integers, got ",
         out.size(), " values");
  return out;
}

}  // namespace ravdl::node

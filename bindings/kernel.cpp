// The generic kernel entry: every catalog op with a native kernel runs through runKernel, which
// finds the kernel by (op, device) in the registry (native/include/ravdl/registry.h). A new op
// or a new backend registers kernels in the core and needs no code here.
//
//   runKernel(op, device, inputs, outputs, attrs)
//     op       a catalog op name, or a handle from kernelHandle(op, device) (skips the lookup)
//     device   'cpu', 'cuda' or 'cuda:N'
//     inputs   [data, shape, data, shape, ...]: data a Float32Array (float32) or an Int32Array
//              (int32) holding exactly numel(shape) elements; null, null for an absent optional
//              input. outputs likewise (never absent), written by the kernel.
//     attrs    Float64Array or array of numbers: the op's declared attributes (kernelAttrs(op))
//              in order, each as its count then its values; count 0 leaves it at its default.
//              A string attribute is one value, -(1 + its index in the declared choices).
//   kernelHandle(op, device) -> number     kernelOps(device) -> string[]
//   kernelAttrs(op) -> [name, choices][]   (ERR_ARG for an unknown op)
//   cudaLibraryOps() -> { ops: string[], reason? }: the CUDA library's kernel list, no device needed
#include <cmath>
#include <cstring>

#include "common.h"
#include "ravdl/cuda.h"
#include "ravdl/registry.h"

namespace ravdl::node {
namespace {

constexpr const char* kFn = "runKernel";
constexpr size_t kMaxTensors = 4096;   // per side; concat of many tensors stays far below
constexpr size_t kMaxAttrValues = 1 << 16;

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
};

std::string utf8(napi_env env, napi_value v, const char* what) {
  char buf[128];
  size_t len = 0;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_string) fail(ErrorCode::Arg, what, " must be a string");
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok) fail(ErrorCode::Arg, what, " is not readable");
  if (len + 1 >= sizeof buf) fail(ErrorCode::Arg, what, " is too long");
  return std::string(buf, len);
}

Device parse_device(napi_env env, napi_value v) {
  std::string s = utf8(env, v, "device");
  Device d;
  if (s == "cpu") return d;
  d.type = DeviceType::CUDA;
  if (s == "cuda") return d;
  if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.size() <= 8 && s.find_first_not_of("0123456789", 5) == std::string::npos) {
    d.index = std::stoi(s.substr(5));
    return d;
  }
  fail(ErrorCode::Arg, "device must be 'cpu', 'cuda' or 'cuda:N', got '", s, "'");
}

Shape read_shape(napi_env env, napi_value v, const std::string& op, const char* side, size_t k) {
  bool is_array = false;
  napi_is_array(env, v, &is_array);
  if (!is_array) fail(ErrorCode::Arg, op, ": ", side, " ", k, " shape must be an array of integers");
  uint32_t n = 0;
  napi_get_array_length(env, v, &n);
  if (n > 64) fail(ErrorCode::Arg, op, ": ", side, " ", k, " shape has ", n, " dims (at most 64)");
  Shape s(n);
  for (uint32_t i = 0; i < n; ++i) {
    napi_value e;
    double d = NAN;
    if (napi_get_element(env, v, i, &e) != napi_ok || napi_get_value_double(env, e, &d) != napi_ok)
      fail(ErrorCode::Arg, op, ": ", side, " ", k, " shape must be an array of integers");
    if (!(d >= 0 && d <= 9007199254740991.0) || d != std::floor(d))
      fail(ErrorCode::Shape, op, ": ", side, " ", k, " shape has an invalid dimension ", d);
    s[i] = static_cast<int64_t>(d);
  }
  return s;
}

// [data, shape, ...] into tensor arguments; absent (null, null) only where `allow_absent`.
void read_tensors(napi_env env, napi_value v, const std::string& op, const char* side, bool allow_absent,
                  std::vector<TensorArg>& out) {
  bool is_array = false;
  napi_is_array(env, v, &is_array);
  if (!is_array) fail(ErrorCode::Arg, op, ": ", side, "s must be an array [data, shape, ...]");
  uint32_t n = 0;
  napi_get_array_length(env, v, &n);
  if (n % 2 != 0) fail(ErrorCode::Arg, op, ": ", side, "s must hold (data, shape) pairs, got ", n, " entries");
  if (n / 2 > kMaxTensors) fail(ErrorCode::Arg, op, ": at most ", kMaxTensors, " ", side, "s, got ", n / 2);
  out.resize(n / 2);
  for (uint32_t k = 0; k < n / 2; ++k) {
    napi_value data, shape;
    napi_get_element(env, v, 2 * k, &data);
    napi_get_element(env, v, 2 * k + 1, &shape);
    napi_valuetype dt, st;
    napi_typeof(env, data, &dt);
    napi_typeof(env, shape, &st);
    TensorArg& t = out[k];
    if (dt == napi_null || dt == napi_undefined) {
      if (!allow_absent) fail(ErrorCode::Arg, op, ": ", side, " ", k, " is required, got ", dt == napi_null ? "null" : "undefined");
      if (st != napi_null && st != napi_undefined) fail(ErrorCode::Arg, op, ": absent ", side, " ", k, " must have a null shape");
      t.dtype = DType::Absent;
      continue;
    }
    napi_typedarray_type type;
    size_t length = 0;
    void* ptr = nullptr;
    if (!typed_info(env, data, &type, &length, &ptr))
      fail(ErrorCode::Arg, op, ": ", side, " ", k, " data must be a Float32Array or an Int32Array");
    if (type == napi_float32_array) t.dtype = DType::F32;
    else if (type == napi_int32_array) t.dtype = DType::I32;
    else fail(ErrorCode::Dtype, op, ": ", side, " ", k, " data must be a Float32Array or an Int32Array");
    t.data = ptr;
    t.shape = read_shape(env, shape, op, side, k);
    if (static_cast<size_t>(numel(t.shape)) != length)
      fail(ErrorCode::Shape, op, ": ", side, " ", k, " has ", length, " elements but shape ", shape_str(t.shape), " needs ",
           numel(t.shape));
  }
}

// Outputs must not overlap each other, nor an input unless they are exactly that input (an
// in-place run, which the kernel then accepts or refuses).
void check_aliasing(const KernelCall& c) {
  auto bytes = [](const TensorArg& t) { return static_cast<size_t>(t.numel()) * 4; };
  auto hit = [&](const TensorArg& a, const TensorArg& b) {
    return overlaps(static_cast<const char*>(a.data), bytes(a), static_cast<const char*>(b.data), bytes(b));
  };
  for (size_t k = 0; k < c.outputs.size(); ++k) {
    for (size_t j = 0; j < k; ++j)
      if (hit(c.outputs[k], c.outputs[j])) fail(ErrorCode::Arg, c.op, ": outputs ", j, " and ", k, " share memory");
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      const TensorArg& in = c.inputs[i];
      if (in.dtype == DType::Absent || !hit(c.outputs[k], in)) continue;
      if (in.data != c.outputs[k].data || bytes(in) != bytes(c.outputs[k]))
        fail(ErrorCode::Arg, c.op, ": output ", k, " partially overlaps input ", i);
    }
  }
}

double attr_value(napi_env env, napi_value arr, const double* f64, uint32_t i, const std::string& op) {
  if (f64) return f64[i];
  napi_value e;
  double d = NAN;
  if (napi_get_element(env, arr, i, &e) != napi_ok || napi_get_value_double(env, e, &d) != napi_ok)
    fail(ErrorCode::Attr, op, ": attrs must be numbers");
  return d;
}

// The flat attribute list, decoded with the op's declared names.
void read_attrs(napi_env env, napi_value v, const std::string& op, Attrs& attrs) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_undefined || t == napi_null) return;
  const double* f64 = nullptr;
  uint32_t n = 0;
  napi_typedarray_type type;
  size_t length = 0;
  void* ptr = nullptr;
  bool is_array = false;
  if (typed_info(env, v, &type, &length, &ptr)) {
    if (type != napi_float64_array) fail(ErrorCode::Dtype, op, ": attrs must be a Float64Array or an array of numbers");
    f64 = static_cast<const double*>(ptr);
    if (length > kMaxAttrValues) fail(ErrorCode::Attr, op, ": too many attribute values (", length, ")");
    n = static_cast<uint32_t>(length);
  } else if (napi_is_array(env, v, &is_array) == napi_ok && is_array) {
    napi_get_array_length(env, v, &n);
    if (n > kMaxAttrValues) fail(ErrorCode::Attr, op, ": too many attribute values (", n, ")");
  } else {
    fail(ErrorCode::Arg, op, ": attrs must be a Float64Array or an array of numbers");
  }
  if (n == 0) return;
  std::vector<AttrDecl> decls = op_attrs(op);
  uint32_t pos = 0;
  for (const AttrDecl& d : decls) {
    if (pos >= n) break;  // the remaining attributes are absent
    double count = attr_value(env, v, f64, pos++, op);
    if (!(count >= 0 && count <= n - pos) || count != std::floor(count))
      fail(ErrorCode::Attr, op, ": attribute '", d.name, "' has a bad value count ", count);
    if (count == 0) continue;
    std::vector<double> values(static_cast<size_t>(count));
    for (double& x : values) x = attr_value(env, v, f64, pos++, op);
    attrs.set(d.name, std::move(values));
  }
  if (pos != n) fail(ErrorCode::Attr, op, ": ", n - pos, " attribute values more than op '", op, "' declares (", decls.size(), " attributes)");
}

// The op's handle for device d, after checking the op exists.
int resolve(const std::string& op, const Device& d) {
  if (!op_known(op)) fail(ErrorCode::Arg, "unknown op '", op, "'");
  if (d.type == DeviceType::CUDA) cuda_status();  // the CUDA kernels register when the library loads
  return kernel_handle(op, d.type);
}

Napi::Value run(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  if (info.Length() < 4) fail(ErrorCode::Arg, "expected (op, device, inputs, outputs, attrs?), got ", info.Length(), " arguments");
  Device dev = parse_device(env, info[1]);
  KernelCall call;
  int handle;
  napi_valuetype t;
  napi_typeof(env, info[0], &t);
  if (t == napi_number) {
    double h = info[0].As<Napi::Number>().DoubleValue();
    if (!(h >= 0 && h < 1e9) || h != std::floor(h)) fail(ErrorCode::Arg, "op handle must be a kernelHandle() number, got ", h);
    handle = static_cast<int>(h);
    auto [op, type] = handle_key(handle);
    if (type != dev.type) fail(ErrorCode::Device, op, ": handle ", handle, " is for device '", device_type_name(type), "', not '", device_type_name(dev.type), "'");
    call.op = std::move(op);
  } else if (t == napi_string) {
    call.op = utf8(env, info[0], "op");
    handle = resolve(call.op, dev);
  } else {
    fail(ErrorCode::Arg, "op must be a catalog op name or a kernel handle");
  }
  call.device = dev.type;
  call.device_index = dev.index;
  read_tensors(env, info[2], call.op, "input", true, call.inputs);
  read_tensors(env, info[3], call.op, "output", false, call.outputs);
  read_attrs(env, info[4], call.op, call.attrs);
  check_spans(info.Env(), call.op.c_str());  // an array getter may have detached a buffer read before
  check_aliasing(call);
  run_kernel(handle, call);
  return info.Env().Undefined();
}

}  // namespace

void register_kernel_entry(Napi::Env env, Napi::Object exports) {
  exports.Set("runKernel", fn(env, kFn, run));
  exports.Set("kernelHandle", fn(env, "kernelHandle", [](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string op = arg_str(info, 0, "kernelHandle", "op");
    return Napi::Number::New(info.Env(), resolve(op, parse_device(info.Env(), info[1])));
  }));
  exports.Set("kernelOps", fn(env, "kernelOps", [](const Napi::CallbackInfo& info) -> Napi::Value {
    Device d = parse_device(info.Env(), info[0]);
    if (d.type == DeviceType::CUDA) cuda_status();  // the CUDA kernels register when the library loads
    auto ops = kernel_ops(d.type);
    Napi::Array a = Napi::Array::New(info.Env(), ops.size());
    for (size_t i = 0; i < ops.size(); ++i) a.Set(static_cast<uint32_t>(i), ops[i]);
    return a;
  }));
  exports.Set("cudaLibraryOps", fn(env, "cudaLibraryOps", [](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string why;
    auto ops = cuda_library_ops(why);
    Napi::Object o = Napi::Object::New(info.Env());
    Napi::Array a = Napi::Array::New(info.Env(), ops.size());
    for (size_t i = 0; i < ops.size(); ++i) a.Set(static_cast<uint32_t>(i), ops[i]);
    o.Set("ops", a);
    if (!why.empty()) o.Set("reason", why);
    return o;
  }));
  exports.Set("kernelAttrs", fn(env, "kernelAttrs", [](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string op = arg_str(info, 0, "kernelAttrs", "op");
    if (!op_known(op)) fail(ErrorCode::Arg, "kernelAttrs: unknown op '", op, "'");
    auto decls = op_attrs(op);
    Napi::Env e = info.Env();
    Napi::Array a = Napi::Array::New(e, decls.size());
    for (size_t i = 0; i < decls.size(); ++i) {
      Napi::Array choices = Napi::Array::New(e, decls[i].choices.size());
      for (size_t k = 0; k < decls[i].choices.size(); ++k) choices.Set(static_cast<uint32_t>(k), decls[i].choices[k]);
      Napi::Array pair = Napi::Array::New(e, 2);
      pair.Set(0u, decls[i].name);
      pair.Set(1u, choices);
      a.Set(static_cast<uint32_t>(i), pair);
    }
    return a;
  }));
}

}  // namespace ravdl::node

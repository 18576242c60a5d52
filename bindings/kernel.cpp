// The generic kernel entry: every catalog op with a native kernel runs through runKernel, which
// finds the kernel by (op, device) in the registry (native/include/ravdl/registry.h). A new op
// or a new backend registers kernels in the core and needs no code here.
//
//   runKernel(op, device, meta, ...data)
//     op      a catalog op name, or a handle from kernelHandle(op, device) (skips the lookup)
//     device  'cpu', 'cuda' or 'cuda:N'; or as a number: -1 for the CPU, N for cuda:N
//     meta    Float64Array describing the call (one typed array: reading JS arrays element by
//             element cost more than the small kernels themselves):
//               used: how many values of meta this call uses, this one included (the rest is
//                 ignored, so one buffer can be reused for every call),
//               nInputs, nOutputs,
//               for each input then each output: ndim, then its ndim dims (ndim -1: an absent
//                 optional input),
//               then the op's declared attributes (kernelAttrs(op)) in order, each as its
//                 count then its values (count 0, or left off at the end: the default);
//                 a string attribute is one value, -(1 + its index in the declared choices).
//     data    one typed array per input then per output: Float32Array (float32) or Int32Array
//             (int32) of exactly numel(shape) elements, or for a call on cuda:N a device buffer
//             of cuda:N (bindings/device.cpp); null for an absent input. Outputs are
//             written. An output may be exactly an input (in place, where the kernel allows
//             it); any other overlap is ERR_ARG.
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
constexpr int64_t kMaxTensors = 4096;  // per side; concat of many tensors stays far below

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
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_number) {  // the fast form: -1 for the CPU, N for cuda:N
    double n = NAN;
    napi_get_value_double(env, v, &n);
    if (n == -1) return Device{};
    if (!(n >= 0 && n <= 9999) || n != std::floor(n)) fail(ErrorCode::Arg, "device must be 'cpu', 'cuda', 'cuda:N', -1 (cpu) or N (cuda:N), got ", n);
    return Device{DeviceType::CUDA, static_cast<int>(n)};
  }
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

std::string device_str(const Device& d) {
  return d.type == DeviceType::CPU ? std::string("cpu") : "cuda:" + std::to_string(d.index);
}

// Reads meta left to right; every read is bounds-checked (ERR_ARG naming what is missing).
struct Meta {
  const double* v;
  size_t n, pos = 0;
  const std::string& op;
  Device device;
  double next(const char* what) {
    if (pos >= n) fail(ErrorCode::Arg, op, ": meta ends before ", what);
    return v[pos++];
  }
  int64_t count(const char* what, int64_t lo, int64_t hi) {
    double d = next(what);
    if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d))
      fail(ErrorCode::Arg, op, ": meta has a bad ", what, " ", d, " (an integer in [", lo, ", ", hi, "] is needed)");
    return static_cast<int64_t>(d);
  }
};

// One tensor: its shape from meta, its data from argument `arg`.
void read_tensor(napi_env env, napi_value data, Meta& m, const char* side, int64_t k, bool allow_absent, TensorArg& t) {
  const std::string& op = m.op;
  int64_t ndim = m.count("ndim", allow_absent ? -1 : 0, 64);
  napi_valuetype dt;
  napi_typeof(env, data, &dt);
  if (ndim < 0) {
    if (dt != napi_null && dt != napi_undefined) fail(ErrorCode::Arg, op, ": ", side, " ", k, " is absent (ndim -1) but has data");
    t.data = nullptr;
    t.shape.clear();
    t.dtype = DType::Absent;
    return;
  }
  t.data = nullptr;
  t.shape.resize(static_cast<size_t>(ndim));
  for (auto& d : t.shape) {
    double x = m.next("a dim");
    if (!(x >= 0 && x <= 9007199254740991.0) || x != std::floor(x)) fail(ErrorCode::Shape, op, ": ", side, " ", k, " has an invalid dimension ", x);
    d = static_cast<int64_t>(x);
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* ptr = nullptr;
  if (dt == napi_null || dt == napi_undefined)
    fail(ErrorCode::Arg, op, ": ", side, " ", k, " is required, got ", dt == napi_null ? "null" : "undefined");
  if (dt == napi_external) {
    const DeviceBuffer* b = device_buffer(env, data);
    if (!b) fail(ErrorCode::Arg, op, ": ", side, " ", k, " must be a typed array or a device buffer");
    if (!b->live) fail(ErrorCode::Arg, op, ": ", side, " ", k, "'s device buffer was freed");
    if (m.device.type != DeviceType::CUDA || m.device.index != b->index)
      fail(ErrorCode::Device, op, ": ", side, " ", k, " is on cuda:", b->index, ", the call runs on ", device_str(m.device));
    t.dtype = b->dtype;
    t.data = b->ptr;
    if (numel(t.shape) != b->length)
      fail(ErrorCode::Shape, op, ": ", side, " ", k, " has ", b->length, " elements but shape ", shape_str(t.shape), " needs ", numel(t.shape));
    return;
  }
  if (m.device.type != DeviceType::CPU)
    fail(ErrorCode::Device, op, ": ", side, " ", k, " is in host memory, the call runs on ", device_str(m.device));
  if (!typed_info(env, data, &type, &length, &ptr))
    fail(ErrorCode::Arg, op, ": ", side, " ", k, " must be a Float32Array or an Int32Array");
  if (type == napi_float32_array) t.dtype = DType::F32;
  else if (type == napi_int32_array) t.dtype = DType::I32;
  else fail(ErrorCode::Dtype, op, ": ", side, " ", k, " must be a Float32Array or an Int32Array");
  t.data = ptr;
  if (static_cast<size_t>(numel(t.shape)) != length)
    fail(ErrorCode::Shape, op, ": ", side, " ", k, " has ", length, " elements but shape ", shape_str(t.shape), " needs ", numel(t.shape));
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

// The attributes after the tensors, decoded with the op's declared names.
void read_attrs(Meta& m, const std::vector<AttrDecl>& decls, Attrs& attrs) {
  for (const AttrDecl& d : decls) {
    if (m.pos >= m.n) return;  // the remaining attributes are left at their defaults
    int64_t count = m.count("attribute value count", 0, static_cast<int64_t>(m.n - m.pos - 1));
    if (count == 0) continue;
    attrs.set(d.name, std::vector<double>(m.v + m.pos, m.v + m.pos + count));
    m.pos += static_cast<size_t>(count);
  }
  if (m.pos != m.n) fail(ErrorCode::Attr, m.op, ": meta has ", m.n - m.pos, " values more than op '", m.op, "' declares (", decls.size(), " attributes)");
}

// The op's handle for device d, after checking the op exists.
int resolve(const std::string& op, const Device& d) {
  if (!op_known(op)) fail(ErrorCode::Arg, "unknown op '", op, "'");
  if (d.type == DeviceType::CUDA) cuda_status();  // the CUDA kernels register when the library loads
  return kernel_handle(op, d.type);
}

Napi::Value run(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  if (info.Length() < 3) fail(ErrorCode::Arg, "expected (op, device, meta, ...data), got ", info.Length(), " arguments");
  Device dev = parse_device(env, info[1]);
  // One call object per thread, reused: its vectors keep their capacity from call to call (a
  // kernel never calls back into JS, so a call cannot start while another is being read).
  static thread_local KernelCall reused;
  KernelCall& call = reused;
  call.attrs = Attrs();
  int handle;
  const std::vector<AttrDecl>* decls;
  napi_valuetype t;
  napi_typeof(env, info[0], &t);
  if (t == napi_number) {
    double h = info[0].As<Napi::Number>().DoubleValue();
    if (!(h >= 0 && h < 1e9) || h != std::floor(h)) fail(ErrorCode::Arg, "op handle must be a kernelHandle() number, got ", h);
    handle = static_cast<int>(h);
    HandleInfo hi = handle_info(handle);
    if (hi.device != dev.type)
      fail(ErrorCode::Device, *hi.op, ": handle ", handle, " is for device '", device_type_name(hi.device), "', not '", device_type_name(dev.type), "'");
    call.op = *hi.op;
    decls = hi.attrs;
  } else if (t == napi_string) {
    call.op = utf8(env, info[0], "op");
    handle = resolve(call.op, dev);
    decls = &op_attrs(call.op);
  } else {
    fail(ErrorCode::Arg, "op must be a catalog op name or a kernel handle");
  }
  call.device = dev.type;
  call.device_index = dev.index;
  napi_typedarray_type type;
  size_t length = 0;
  void* ptr = nullptr;
  if (!typed_info(env, info[2], &type, &length, &ptr) || type != napi_float64_array)
    fail(ErrorCode::Arg, call.op, ": meta must be a Float64Array");
  Meta m{static_cast<const double*>(ptr), length, 0, call.op, dev};
  m.n = static_cast<size_t>(m.count("used length", 3, static_cast<int64_t>(length)));
  int64_t n_in = m.count("input count", 0, kMaxTensors), n_out = m.count("output count", 0, kMaxTensors);
  if (info.Length() != static_cast<size_t>(3 + n_in + n_out))
    fail(ErrorCode::Arg, call.op, ": meta describes ", n_in, " inputs and ", n_out, " outputs, but ", info.Length() - 3, " data arguments follow");
  call.inputs.resize(static_cast<size_t>(n_in));
  call.outputs.resize(static_cast<size_t>(n_out));
  for (int64_t k = 0; k < n_in; ++k) read_tensor(env, info[3 + k], m, "input", k, true, call.inputs[k]);
  for (int64_t k = 0; k < n_out; ++k) read_tensor(env, info[3 + n_in + k], m, "output", k, false, call.outputs[k]);
  read_attrs(m, *decls, call.attrs);
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
    if (!op_known(op)) fail(ErrorCode::Arg, "unknown op '", op, "'");
    const auto& decls = op_attrs(op);
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

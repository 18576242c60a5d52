// Device memory for tensors on a CUDA device: a buffer is a JS external holding a device
// address from the CUDA library's caching allocator (native/include/ravdl/cuda.h). runKernel
// accepts one wherever it accepts a typed array, for a call on the buffer's device.
//
//   deviceAlloc(index, dtype 0 float32 | 1 int32, length) -> buffer   (contents arbitrary)
//   deviceFree(buffer)                  back to the allocator now (idempotent); else when collected
//   deviceUpload(buffer, typedArray)    host -> device (asynchronous on the device's stream)
//   deviceDownload(buffer, typedArray)  device -> host (waits for the stream)
//   deviceCopy(dst, src)                device -> device, same device, dtype and length
//   deviceBufferInfo(buffer) -> { index, dtype, length, live }
//   deviceSynchronize(index)  deviceCachedBytes(index)  deviceEmptyCache(index)
// V8 is told the bytes each live buffer holds, so a loop that leaves its tensors to the garbage
// collector is collected before device memory runs out.
#include "common.h"
#include "ravdl/cuda.h"

namespace ravdl::node {
namespace {

// Tags our externals, so a foreign external is refused rather than read.
constexpr napi_type_tag kBufferTag = {0x72617664'6c646576ULL, 0x6963652d'62756631ULL};

void finalize(napi_env env, void* data, void*) {
  auto* b = static_cast<DeviceBuffer*>(data);
  if (b->live) {
    try {
      cuda_free(b->index, b->ptr);
    } catch (...) {  // nothing can be reported from a finalizer; the allocator keeps the block
    }
    int64_t adjusted = 0;
    napi_adjust_external_memory(env, -static_cast<int64_t>(b->bytes), &adjusted);
  }
  delete b;
}

DeviceBuffer* arg_buffer(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  DeviceBuffer* b = i < info.Length() ? device_buffer(info.Env(), info[i]) : nullptr;
  if (!b) fail(ErrorCode::Arg, "argument ", i, " must be a device buffer (from deviceAlloc)");
  return b;
}

DeviceBuffer* arg_live(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  DeviceBuffer* b = arg_buffer(info, i, fn);
  if (!b->live) fail(ErrorCode::Arg, "the device buffer was freed");
  return b;
}

// The device index of argument i, after checking CUDA can be used there (ERR_DEVICE naming fn).
int arg_index(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  int64_t index = arg_int(info, i, fn, "device index");
  if (index < 0 || index > 9999) fail(ErrorCode::Device, "no device 'cuda:", index, "'");
  cuda_require(fn, static_cast<int>(index));
  return static_cast<int>(index);
}

// The host typed array of argument i, checked against buffer b's dtype and length.
void* host_side(const Napi::CallbackInfo& info, size_t i, const char* fn, const DeviceBuffer& b) {
  napi_typedarray_type type;
  size_t length = 0;
  void* ptr = nullptr;
  if (i >= info.Length() || !typed_info(info.Env(), info[i], &type, &length, &ptr))
    fail(ErrorCode::Arg, "argument ", i, " must be a Float32Array or an Int32Array");
  const DType dt = type == napi_float32_array ? DType::F32 : type == napi_int32_array ? DType::I32 : DType::Absent;
  if (dt != b.dtype) fail(ErrorCode::Dtype, "the host array's dtype differs from the device buffer's");
  if (static_cast<int64_t>(length) != b.length)
    fail(ErrorCode::Shape, "the host array has ", length, " elements, the device buffer ", b.length);
  return ptr;
}

Napi::Value alloc(const Napi::CallbackInfo& info) {
  constexpr const char* F = "deviceAlloc";
  const int index = arg_index(info, 0, F);
  const int64_t dtype = arg_int(info, 1, F, "dtype");
  if (dtype != 0 && dtype != 1) fail(ErrorCode::Dtype, "dtype must be 0 (float32) or 1 (int32), got ", dtype);
  const int64_t length = arg_int(info, 2, F, "length");
  if (length < 0 || length > (int64_t{1} << 40)) fail(ErrorCode::Shape, "invalid length ", length);
  const size_t bytes = static_cast<size_t>(length) * 4;
  auto* b = new DeviceBuffer{index, nullptr, bytes, length, dtype == 0 ? DType::F32 : DType::I32, false};
  try {
    b->ptr = cuda_alloc(index, bytes);
  } catch (...) {
    delete b;
    throw;
  }
  b->live = true;
  napi_value ext;
  napi_env env = info.Env();
  if (napi_create_external(env, b, finalize, nullptr, &ext) != napi_ok) {
    cuda_free(index, b->ptr);
    delete b;
    fail(ErrorCode::Internal, "could not create the buffer object");
  }
  napi_type_tag_object(env, ext, &kBufferTag);
  int64_t adjusted = 0;
  napi_adjust_external_memory(env, static_cast<int64_t>(bytes), &adjusted);
  return Napi::Value(env, ext);
}

Napi::Value release(const Napi::CallbackInfo& info) {
  DeviceBuffer* b = arg_buffer(info, 0, "deviceFree");
  if (b->live) {
    b->live = false;
    int64_t adjusted = 0;
    napi_adjust_external_memory(info.Env(), -static_cast<int64_t>(b->bytes), &adjusted);
    cuda_free(b->index, b->ptr);
  }
  return info.Env().Undefined();
}

Napi::Value upload(const Napi::CallbackInfo& info) {
  DeviceBuffer* b = arg_live(info, 0, "deviceUpload");
  void* host = host_side(info, 1, "deviceUpload", *b);
  cuda_copy_to_device(b->index, b->ptr, host, b->bytes);
  return info.Env().Undefined();
}

Napi::Value download(const Napi::CallbackInfo& info) {
  DeviceBuffer* b = arg_live(info, 0, "deviceDownload");
  void* host = host_side(info, 1, "deviceDownload", *b);
  cuda_copy_to_host(b->index, host, b->ptr, b->bytes);
  return info.Env().Undefined();
}

Napi::Value copy(const Napi::CallbackInfo& info) {
  DeviceBuffer* dst = arg_live(info, 0, "deviceCopy");
  DeviceBuffer* src = arg_live(info, 1, "deviceCopy");
  if (dst->index != src->index) fail(ErrorCode::Device, "from cuda:", src->index, " to cuda:", dst->index, " (copy through the host)");
  if (dst->dtype != src->dtype || dst->length != src->length) fail(ErrorCode::Shape, "the buffers differ in dtype or length");
  if (dst->ptr != src->ptr) cuda_copy_on_device(dst->index, dst->ptr, src->ptr, dst->bytes);
  return info.Env().Undefined();
}

Napi::Value buffer_info(const Napi::CallbackInfo& info) {
  DeviceBuffer* b = arg_buffer(info, 0, "deviceBufferInfo");
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("index", b->index);
  o.Set("dtype", b->dtype == DType::F32 ? "float32" : "int32");
  o.Set("length", static_cast<double>(b->length));
  o.Set("live", b->live);
  return o;
}

}  // namespace

DeviceBuffer* device_buffer(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return nullptr;
  bool ours = false;
  if (napi_check_object_type_tag(env, v, &kBufferTag, &ours) != napi_ok || !ours) return nullptr;
  void* data = nullptr;
  if (napi_get_value_external(env, v, &data) != napi_ok) return nullptr;
  return static_cast<DeviceBuffer*>(data);
}

void register_device(Napi::Env env, Napi::Object exports) {
  exports.Set("deviceAlloc", fn(env, "deviceAlloc", alloc));
  exports.Set("deviceFree", fn(env, "deviceFree", release));
  exports.Set("deviceUpload", fn(env, "deviceUpload", upload));
  exports.Set("deviceDownload", fn(env, "deviceDownload", download));
  exports.Set("deviceCopy", fn(env, "deviceCopy", copy));
  exports.Set("deviceBufferInfo", fn(env, "deviceBufferInfo", buffer_info));
  exports.Set("deviceSynchronize", fn(env, "deviceSynchronize", [](const Napi::CallbackInfo& info) -> Napi::Value {
    cuda_synchronize(arg_index(info, 0, "deviceSynchronize"));
    return info.Env().Undefined();
  }));
  exports.Set("deviceCachedBytes", fn(env, "deviceCachedBytes", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(cuda_cached_bytes(arg_index(info, 0, "deviceCachedBytes"))));
  }));
  exports.Set("deviceEmptyCache", fn(env, "deviceEmptyCache", [](const Napi::CallbackInfo& info) -> Napi::Value {
    cuda_empty_cache(arg_index(info, 0, "deviceEmptyCache"));
    return info.Env().Undefined();
  }));
}

}  // namespace ravdl::node

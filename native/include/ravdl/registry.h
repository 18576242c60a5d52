// The kernel registry: one table keyed by (op name, device type), one generic entry point.
//
// A kernel receives a KernelCall (tensors as data pointer + shape + dtype, attributes by name)
// and writes its outputs. CPU kernels are registered in native/src/registry_cpu.cpp (wrappers
// of the existing checked kernels); CUDA kernels are registered when the CUDA library loads
// (native/src/cuda/loader.cpp forwards each op the plugin lists to the plugin's one `run`).
// So a new kernel is its code, its registration and its test; a new backend registers its ops
// and needs no binding code. Today only a few ops are registered (those with CUDA kernels, and
// their CPU references); the Node binding still calls the CPU kernels directly. Moving every
// binding onto run_kernel() (one generic `runKernel(op, device, inputs, outputs, attrs)` entry)
// is the next step: nothing here is specific to the ops registered so far.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "ravdl/shape.h"

namespace ravdl {

enum class DeviceType { CPU = 0, CUDA = 1 };
const char* device_type_name(DeviceType d);  // "cpu", "cuda"

// Absent: an optional input that was not given (conv2d's bias, ...): data nullptr, shape {}.
enum class DType { Absent = -1, F32 = 0, I32 = 1 };

// A tensor argument: C-contiguous data on the call's device (a host pointer for CPU, a device
// pointer for CUDA).
struct TensorArg {
  void* data = nullptr;
  Shape shape;
  DType dtype = DType::F32;
  int64_t numel() const { return ravdl::numel(shape); }
};

// Attributes by name; each is a list of numbers (a scalar is a list of one).
class Attrs {
 public:
  Attrs() = default;
  Attrs& set(const std::string& name, std::vector<double> values);
  Attrs& set(const std::string& name, double v) { return set(name, std::vector<double>{v}); }
  bool has(const std::string& name) const;
  // The values of an attribute, or nullptr when absent (one lookup, no copy).
  const std::vector<double>* values(const char* name) const;
  // The value of a scalar attribute, or `fallback` when absent (ERR_ATTR when it is a list).
  double num(const char* op, const std::string& name, double fallback) const;
  // An integral scalar (ERR_ATTR when not integral).
  int64_t integer(const char* op, const std::string& name, int64_t fallback) const;
  // A list (empty when absent); every value must be integral.
  std::vector<int64_t> ints(const char* op, const std::string& name) const;
  // A choice attribute (see the top of this file): the index of its value in `choices`, or
  // `fallback` when absent; ERR_ATTR when it is not a choice code of that list.
  int choice(const char* op, const std::string& name, std::initializer_list<const char*> choices, int fallback) const;
  // Whether the attribute holds a choice code (a string) rather than numbers (conv2d's padding).
  bool is_choice(const std::string& name) const;
  const std::vector<std::pair<std::string, std::vector<double>>>& items() const { return items_; }

 private:
  const std::vector<double>* find(const std::string& name) const;
  std::vector<std::pair<std::string, std::vector<double>>> items_;
};

struct KernelCall {
  std::string op;
  DeviceType device = DeviceType::CPU;
  int device_index = 0;
  std::vector<TensorArg> inputs;
  std::vector<TensorArg> outputs;  // allocated by the caller with the op's output shapes
  Attrs attrs;
};

using KernelFn = std::function<void(KernelCall&)>;

// An attribute a kernel reads: its catalog name, and for a string attribute its values.
struct AttrDecl {
  std::string name;
  std::vector<std::string> choices;
};
// Declares op's attributes (catalog names, in the order the binding passes them); every backend's
// kernel of op reads these. Ops without attributes need no declaration.
void declare_attrs(const std::string& op, std::vector<AttrDecl> attrs);
// op's declared attributes (empty when none were declared). Declarations are made when the
// kernels register (before first use), so the reference stays valid and unchanged.
const std::vector<AttrDecl>& op_attrs(const std::string& op);
// Whether op is known: declared or with a kernel on some device.
bool op_known(const std::string& op);

// A resolved (op, device) kernel, to skip the name lookup on every call of a hot path. Handles
// stay valid for the life of the process (a kernel registered again replaces its function).
int kernel_handle(const std::string& op, DeviceType device);  // ERR_DEVICE when none
// Runs the kernel of handle h (from kernel_handle) with call.op and call.device set from it.
void run_kernel(int handle, KernelCall& call);
// The op, device and declared attributes of a handle; ERR_ARG for an unknown handle.
struct HandleInfo {
  const std::string* op;
  DeviceType device;
  const std::vector<AttrDecl>* attrs;
};
HandleInfo handle_info(int handle);
// Kernels are registered before they are used (the CPU ones on first use of the registry, the
// CUDA ones when the library loads, each (op, device) once), so a running kernel's function is
// never replaced under it: run_kernel calls it without copying.

// Registers (or replaces) the kernel of `op` on `device`.
void register_kernel(const std::string& op, DeviceType device, KernelFn fn);
bool has_kernel(const std::string& op, DeviceType device);
// Names of the ops with a kernel on `device`, sorted.
std::vector<std::string> kernel_ops(DeviceType device);
// The generic entry point: runs call.op on call.device; ERR_DEVICE naming the op and the device
// when no kernel is registered there (never a silent run on another device).
void run_kernel(KernelCall& call);

}  // namespace ravdl

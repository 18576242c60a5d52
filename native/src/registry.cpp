// The kernel registry (see registry.h): a map from (op, device) to a kernel, filled with the CPU
// kernels on first use and with the CUDA kernels when the CUDA library loads.
#include "ravdl/registry.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "ravdl/error.h"

namespace ravdl {

namespace detail {
void register_cpu_kernels();  // registry_cpu.cpp
}

const char* device_type_name(DeviceType d) { return d == DeviceType::CUDA ? "cuda" : "cpu"; }

Attrs& Attrs::set(const std::string& name, std::vector<double> values) {
  for (auto& [k, v] : items_) {
    if (k == name) {
      v = std::move(values);
      return *this;
    }
  }
  items_.emplace_back(name, std::move(values));
  return *this;
}

const std::vector<double>* Attrs::find(const std::string& name) const {
  for (auto& [k, v] : items_)
    if (k == name) return &v;
  return nullptr;
}

bool Attrs::has(const std::string& name) const { return find(name) != nullptr; }

double Attrs::num(const char* op, const std::string& name, double fallback) const {
  const auto* v = find(name);
  if (!v) return fallback;
  if (v->size() != 1) fail(ErrorCode::Attr, op, ": attribute '", name, "' must be one number, got ", v->size());
  return (*v)[0];
}

static int64_t to_int(const char* op, const std::string& name, double x) {
  if (!(std::fabs(x) < 9.0e15) || std::trunc(x) != x)
    fail(ErrorCode::Attr, op, ": attribute '", name, "' must be an integer, got ", x);
  return static_cast<int64_t>(x);
}

int64_t Attrs::integer(const char* op, const std::string& name, int64_t fallback) const {
  return has(name) ? to_int(op, name, num(op, name, 0)) : fallback;
}

std::vector<int64_t> Attrs::ints(const char* op, const std::string& name) const {
  std::vector<int64_t> out;
  if (const auto* v = find(name))
    for (double x : *v) out.push_back(to_int(op, name, x));
  return out;
}

namespace {
struct Registry {
  std::mutex mu;
  std::map<std::pair<std::string, int>, KernelFn> table;
};
Registry& registry() {
  static Registry r;
  return r;
}
void ensure_cpu() {
  static std::once_flag once;
  std::call_once(once, [] { detail::register_cpu_kernels(); });
}
}  // namespace

void register_kernel(const std::string& op, DeviceType device, KernelFn fn) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.table[{op, static_cast<int>(device)}] = std::move(fn);
}

bool has_kernel(const std::string& op, DeviceType device) {
  ensure_cpu();
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.table.count({op, static_cast<int>(device)}) > 0;
}

std::vector<std::string> kernel_ops(DeviceType device) {
  ensure_cpu();
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> out;
  for (auto& [key, fn] : r.table)
    if (key.second == static_cast<int>(device)) out.push_back(key.first);
  std::sort(out.begin(), out.end());
  return out;
}

void run_kernel(KernelCall& call) {
  ensure_cpu();
  KernelFn fn;
  {
    auto& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.table.find({call.op, static_cast<int>(call.device)});
    if (it == r.table.end())
      fail(ErrorCode::Device, call.op, ": no kernel for device '", device_type_name(call.device), "'");
    fn = it->second;  // a copy: the kernel runs without the lock
  }
  fn(call);
}

}  // namespace ravdl

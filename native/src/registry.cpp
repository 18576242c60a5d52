// The kernel registry (see registry.h): a map from (op, device) to a kernel, filled with the CPU
// kernels on first use and with the CUDA kernels when the CUDA library loads.
#include "ravdl/registry.h"

#include <algorithm>
#include <cmath>
#include <deque>
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

const std::vector<double>* Attrs::values(const char* name) const {
  for (auto& [k, v] : items_)
    if (k == name) return &v;
  return nullptr;
}

double Attrs::num(const char* op, const std::string& name, double fallback) const {
  const auto* v = find(name);
  if (!v) return fallback;
  if (v->size() != 1) fail(ErrorCode::Attr, op, ": attribute '", name, "' must be one number, got ", v->size());
  return (*v)[0];
}

static int64_t to_int(const char* op, const std::string& name, double x) {
  if (!(std::fabs(x) <= 9007199254740991.0) || std::trunc(x) != x)
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

int Attrs::choice(const char* op, const std::string& name, std::initializer_list<const char*> choices, int fallback) const {
  const auto* v = find(name);
  if (!v) return fallback;
  double code = v->size() == 1 ? (*v)[0] : 0.0;
  int n = static_cast<int>(choices.size());
  if (v->size() != 1 || !(code <= -1.0 && code >= -static_cast<double>(n)) || std::trunc(code) != code) {
    std::string names;
    for (const char* c : choices) names += (names.empty() ? "'" : ", '") + std::string(c) + "'";
    fail(ErrorCode::Attr, op, ": attribute '", name, "' must be one of ", names, " (passed as -1 - its index)");
  }
  return static_cast<int>(-code) - 1;
}

bool Attrs::is_choice(const std::string& name) const {
  const auto* v = find(name);
  return v && v->size() == 1 && (*v)[0] < 0;
}

namespace {
struct Entry {
  std::string op;
  DeviceType device;
  KernelFn fn;
  const std::vector<AttrDecl>* attrs = nullptr;  // found on first use
};
// Entries live in a deque: a handle's op name keeps its address as entries are added.
struct Registry {
  std::mutex mu;
  std::deque<Entry> entries;  // indexed by handle; never shrinks
  std::map<std::pair<std::string, int>, int> index;
  std::map<std::string, std::vector<AttrDecl>> attrs;
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
  auto key = std::make_pair(op, static_cast<int>(device));
  auto it = r.index.find(key);
  if (it != r.index.end()) {
    r.entries[it->second].fn = std::move(fn);
    return;
  }
  r.index[key] = static_cast<int>(r.entries.size());
  r.entries.push_back({op, device, std::move(fn)});
}

void declare_attrs(const std::string& op, std::vector<AttrDecl> attrs) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.attrs[op] = std::move(attrs);
}

const std::vector<AttrDecl>& op_attrs(const std::string& op) {
  static const std::vector<AttrDecl> none;
  ensure_cpu();
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.attrs.find(op);
  return it == r.attrs.end() ? none : it->second;
}

bool op_known(const std::string& op) {
  ensure_cpu();
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (r.attrs.count(op)) return true;
  for (auto& e : r.entries)
    if (e.op == op) return true;
  return false;
}

bool has_kernel(const std::string& op, DeviceType device) {
  ensure_cpu();
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.index.count({op, static_cast<int>(device)}) > 0;
}

std::vector<std::string> kernel_ops(DeviceType device) {
  ensure_cpu();
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> out;
  for (auto& [key, h] : r.index)
    if (key.second == static_cast<int>(device)) out.push_back(key.first);
  std::sort(out.begin(), out.end());
  return out;
}

int kernel_handle(const std::string& op, DeviceType device) {
  ensure_cpu();
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.index.find({op, static_cast<int>(device)});
  if (it == r.index.end()) fail(ErrorCode::Device, op, ": no kernel for device '", device_type_name(device), "'");
  return it->second;
}

HandleInfo handle_info(int handle) {
  static const std::vector<AttrDecl> none;
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (handle < 0 || handle >= static_cast<int>(r.entries.size())) fail(ErrorCode::Arg, "unknown kernel handle ", handle);
  Entry& e = r.entries[handle];
  if (!e.attrs) {
    auto it = r.attrs.find(e.op);
    e.attrs = it == r.attrs.end() ? &none : &it->second;
  }
  return {&e.op, e.device, e.attrs};
}

void run_kernel(int handle, KernelCall& call) {
  const KernelFn* fn;
  {
    auto& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    if (handle < 0 || handle >= static_cast<int>(r.entries.size())) fail(ErrorCode::Arg, "unknown kernel handle ", handle);
    const Entry& e = r.entries[handle];
    if (call.op != e.op) call.op = e.op;
    call.device = e.device;
    fn = &e.fn;  // entries never move (a deque) and are not replaced once in use: no copy
  }
  try {
    (*fn)(call);
  } catch (const Error& err) {
    // A core kernel may speak under its own name ('var: ...' for the op variance): name the op.
    const std::string msg = err.what();
    if (msg.compare(0, call.op.size() + 1, call.op + ":") == 0) throw;
    throw Error(err.code(), call.op + ": " + msg);
  }
}

void run_kernel(KernelCall& call) {
  run_kernel(kernel_handle(call.op, call.device), call);
}

}  // namespace ravdl

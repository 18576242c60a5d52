// Typed errors of the core. Every kernel validates its arguments and throws ravdl::Error
// before touching memory; the Node binding turns it into a JS Error with `.code`.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace ravdl {

enum class ErrorCode {
  Shape,     // ERR_SHAPE: shapes do not fit together, buffer length does not match a shape
  Dtype,     // ERR_DTYPE: wrong element type (e.g. Float64Array where float32 is required)
  Index,     // ERR_INDEX: an index/label/axis value is out of range
  Attr,      // ERR_ATTR: an attribute (stride, padding, p, momentum, mode...) is invalid
  Arg,       // ERR_ARG: wrong number or kind of arguments
  Backend,   // ERR_BACKEND: the requested backend is not available in this build
  Device,    // ERR_DEVICE: unknown/unavailable device, or no kernel for an op on a device
  Internal,  // ERR_INTERNAL: a bug in ravdl, never the caller's fault
};

inline const char* error_code_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::Shape: return "ERR_SHAPE";
    case ErrorCode::Dtype: return "ERR_DTYPE";
    case ErrorCode::Index: return "ERR_INDEX";
    case ErrorCode::Attr: return "ERR_ATTR";
    case ErrorCode::Arg: return "ERR_ARG";
    case ErrorCode::Backend: return "ERR_BACKEND";
    case ErrorCode::Device: return "ERR_DEVICE";
    case ErrorCode::Internal: return "ERR_INTERNAL";
  }
  return "ERR_INTERNAL";
}

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }
  const char* code_name() const { return error_code_name(code_); }

 private:
  ErrorCode code_;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// fail(ErrorCode::Shape, "add: cannot broadcast ", a, " with ", b)
template <class... Parts>
[[noreturn]] void fail(ErrorCode code, const Parts&... parts) {
  std::ostringstream os;
  detail::append(os, parts...);
  throw Error(code, os.str());
}

}  // namespace ravdl

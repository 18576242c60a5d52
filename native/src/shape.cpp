#include "ravdl/shape.h"

#include <algorithm>
#include <limits>
#include <sstream>

namespace ravdl {

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) fail(ErrorCode::Shape, "negative dimension ", d, " in shape ", shape_str(s));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      fail(ErrorCode::Shape, "shape ", shape_str(s), " has too many elements");
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db || db == 1) out[i] = da;
    else if (da == 1) out[i] = db;
    else
      fail(ErrorCode::Shape, op, ": shapes ", shape_str(a), " and ", shape_str(b),
           " cannot be broadcast together (dim ", i, ": ", da, " vs ", db, ")");
  }
  return out;
}

Shape broadcast_strides(const Shape& s, const Shape& target) {
  Shape st(target.size(), 0);
  Shape own = contiguous_strides(s);
  size_t off = target.size() - s.size();
  for (size_t i = 0; i < s.size(); ++i) st[off + i] = s[i] == 1 ? 0 : own[i];
  return st;
}

int64_t normalize_axis(const char* op, int64_t axis, int64_t rank) {
  const int64_t r = rank == 0 ? 1 : rank;  // a 0-d tensor is one element along axis 0 / -1
  if (axis < -r || axis >= r)
    fail(ErrorCode::Index, op, ": axis ", axis, " is out of range for a tensor of rank ", rank);
  return axis < 0 ? axis + r : axis;
}

std::vector<int64_t> normalize_axes(const char* op, const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> out;
  if (axes.empty()) {
    for (int64_t i = 0; i < rank; ++i) out.push_back(i);
    return out;
  }
  for (int64_t a : axes) {
    int64_t n = normalize_axis(op, a, rank);
    if (std::find(out.begin(), out.end(), n) != out.end())
      fail(ErrorCode::Index, op, ": axis ", a, " is repeated");
    out.push_back(n);
  }
  if (rank == 0) return {};  // axis 0 / -1 of a 0-d tensor: its one element, no dim to index
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ravdl

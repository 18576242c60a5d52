// Non-owning views over caller-owned buffers. The core never allocates tensors that
// outlive a call: callers (the Node binding, C++ tests) own all memory.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ravdl/error.h"
#include "ravdl/shape.h"

namespace ravdl {

// A buffer with its element count, e.g. an output whose shape the kernel computes.
template <class T>
struct Span {
  T* data = nullptr;
  size_t size = 0;
};

// A buffer viewed as a C-contiguous tensor of `shape`. Built with view(), which checks
// that the buffer holds exactly numel(shape) elements.
template <class T>
struct View {
  T* data = nullptr;
  Shape shape;
  int64_t numel() const { return ravdl::numel(shape); }
  int64_t dim(int64_t i) const { return shape[static_cast<size_t>(i)]; }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
};

using FView = View<float>;
using CFView = View<const float>;
using IView = View<int32_t>;
using CIView = View<const int32_t>;
using FSpan = Span<float>;
using ISpan = Span<int32_t>;

// view("conv2d", "input", ptr, len, shape): throws ERR_SHAPE if len != numel(shape).
template <class T>
View<T> view(const char* op, const char* name, T* data, size_t size, Shape shape) {
  int64_t n = ravdl::numel(shape);
  if (static_cast<int64_t>(size) != n) {
    fail(ErrorCode::Shape, op, ": ", name, " has ", size, " elements but shape ", shape_str(shape),
         " needs ", n);
  }
  if (n > 0 && data == nullptr) fail(ErrorCode::Arg, op, ": ", name, " has no data");
  return View<T>{data, std::move(shape)};
}

// Checks that an output span holds exactly `expected` elements and returns it as a view.
template <class T>
View<T> out_view(const char* op, const char* name, Span<T> out, Shape shape) {
  return view(op, name, out.data, out.size, std::move(shape));
}

}  // namespace ravdl

namespace ravdl {

// True when the byte ranges of two buffers overlap.
template <class A, class B>
bool overlaps(const A* a, size_t a_count, const B* b, size_t b_count) {
  auto a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
  auto a1 = a0 + a_count * sizeof(A), b1 = b0 + b_count * sizeof(B);
  return a_count && b_count && a0 < b1 && b0 < a1;
}

// Kernels whose output may not alias an input (matmul, conv, ...) call this for each input.
template <class A, class B>
void check_no_alias(const char* op, const char* out_name, const A* out, size_t out_count,
                    const char* in_name, const B* in, size_t in_count) {
  if (overlaps(out, out_count, in, in_count))
    fail(ErrorCode::Arg, op, ": ", out_name, " must not share memory with ", in_name);
}

}  // namespace ravdl

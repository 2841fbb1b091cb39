// Helpers shared by the activation, loss, optimizer and dropout bindings. These kernels have
// numpy twins in hpnn.reference; a binding runs the common float32 case natively and returns
// NotImplemented for anything else (other dtypes, bad shapes or values), and the Python wrapper
// then calls the twin, which computes or raises exactly what the reference does.
#pragma once
#include "bindings/array_checks.h"

namespace hpnn {

// Elements per thread below which a second thread costs more than it saves, for an op of
// cost 1 (a load, a compare, a store); expensive ops scale their work by their cost.
constexpr double kPointwiseGrain = 1 << 16;

inline index_t element_count(const py::array& a) { return static_cast<index_t>(a.size()); }

inline bool same_shape(const py::array& a, const py::array& b) {
  if (a.ndim() != b.ndim()) return false;
  for (py::ssize_t i = 0; i < a.ndim(); ++i)
    if (a.shape(i) != b.shape(i)) return false;
  return true;
}

// `obj` in *out when it can take a result shaped like `like` as it is: a writeable C-contiguous
// float32 ndarray of that shape, float-aligned (for in-place ops it is the input itself); else
// false.
inline bool as_output_like(py::handle obj, const py::array& like, py::array* out) {
  if (!py::isinstance<py::array>(obj)) return false;
  auto a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().is(py::dtype::of<float>()) || !(a.flags() & py::array::c_style) ||
      !is_aligned(a) || !a.writeable() || !same_shape(a, like))
    return false;
  *out = a;
  return true;
}

// Whether two C-contiguous arrays of the same size share memory without being the same array:
// an elementwise kernel reading one and writing the other would read what it already wrote.
inline bool partly_overlapping(const py::array& a, const py::array& b) {
  const char *a0 = static_cast<const char*>(a.data()), *b0 = static_cast<const char*>(b.data());
  const py::ssize_t bytes = a.nbytes();
  return a0 != b0 && a0 < b0 + bytes && b0 < a0 + bytes;
}

// A new C-contiguous float32 array shaped like `a`.
inline py::array new_float32_like(const py::array& a) {
  return new_float32_array(a.shape(), static_cast<int>(a.ndim()));
}

inline float* mutable_data(py::array& a) { return static_cast<float*>(a.mutable_data()); }
inline const float* float_data(const py::array& a) { return static_cast<const float*>(a.data()); }

// A python int (not bool) in *value; false otherwise.
inline bool as_int(py::handle obj, long long* value) {
  if (!PyLong_Check(obj.ptr()) || PyBool_Check(obj.ptr())) return false;
  int overflow = 0;
  *value = PyLong_AsLongLongAndOverflow(obj.ptr(), &overflow);
  return overflow == 0 && !(*value == -1 && PyErr_Occurred());
}

}  // namespace hpnn

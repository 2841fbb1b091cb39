// Argument checks shared by the kernel bindings: every error names the function, the argument
// and what was expected, and is raised before any pointer reaches a kernel.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <initializer_list>
#include <string>

#include "bindings/output_buffers.h"
#include "core/isa.h"

namespace hpnn {
namespace py = pybind11;

constexpr int kMaxDims = 6;

// Flags of every contiguous copy the bindings make: C order, converted dtype, and aligned for
// the element type -- numpy calls a float32 view of a byte buffer at an odd offset C-contiguous,
// and a kernel must never load through its pointer (undefined behaviour, caught by
// tools/sanitize.sh), so such an array is copied too.
constexpr int kCOrder = py::array::c_style | py::array::forcecast |
                        py::detail::npy_api::NPY_ARRAY_ALIGNED_;

// A C-contiguous, aligned array of T, as c_array makes it.
template <class T>
using AlignedArray = py::array_t<T, kCOrder>;

// Whether an array's data and strides are aligned for its dtype (numpy's ALIGNED flag).
inline bool is_aligned(const py::array& array) {
  return (array.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_) != 0;
}

// A float32 array checked for a kernel: its data pointer, shape and element strides (not bytes).
// Fixed-size fields: these checks run on every kernel call, where heap allocations show.
struct FloatArray {
  py::array array;  // keeps the memory alive
  float* data = nullptr;
  int ndim = 0;
  index_t shape[kMaxDims] = {};
  index_t strides[kMaxDims] = {};
  index_t dim(int i) const { return shape[i]; }
};

std::string shape_str(const index_t* shape, int ndim);
std::string shape_str(std::initializer_list<index_t> shape);

// Raises the Python error behind a failed conversion of argument `arg` again, with fn and arg
// in its message: MemoryError when numpy could not allocate the copy, else its own type.
[[noreturn]] void raise_conversion_error(py::error_already_set& error, py::handle obj,
                                         const char* fn, const char* arg);

// `obj` as a C-contiguous array of T: obj itself when it is one, else a converted copy. Never
// null: pybind11's array_t::ensure returns a null array and clears numpy's MemoryError when the
// copy cannot be allocated (e.g. of a broadcast view); this raises it, naming fn and arg.
template <typename T>
py::array_t<T, kCOrder> c_array(py::handle obj, const char* fn, const char* arg) {
  try {
    return py::array_t<T, kCOrder>(py::reinterpret_borrow<py::object>(obj));
  } catch (py::error_already_set& error) {
    raise_conversion_error(error, obj, fn, arg);
  }
}

// An input: any float32 ndarray of rank `ndim`; one whose data or strides are not whole floats
// is copied.
FloatArray input_array(py::handle obj, const char* fn, const char* arg, int ndim);

// input_array, copied to C order unless it already is (for kernels that need contiguous data).
FloatArray contiguous_input(py::handle obj, const char* fn, const char* arg, int ndim);

// For kernels whose numpy twin handles every other case: `obj` as a C-contiguous float32 ndarray
// of rank >= min_ndim (copied only when strided) in *out, or false (the caller defers). A copy
// that cannot be allocated raises MemoryError naming fn and arg.
bool as_contiguous_float32(py::handle obj, py::array* out, const char* fn, const char* arg,
                           int min_ndim = 1);

// `obj` as an int64 (any object with __index__ but a bool): TypeError otherwise, OverflowError
// when it does not fit, each naming fn and `what` (an argument, or one field of a tuple one).
// pybind11's own cast raises an unnamed RuntimeError for both.
index_t int64_argument(py::handle obj, const char* fn, const std::string& what);

// Python's NotImplemented: what a kernel returns to let its Python wrapper call the reference.
py::object not_implemented();

// An output written in place: float32, rank and shape as `expected`, writeable, float-aligned.
// Never copied.
FloatArray output_array(py::handle obj, const char* fn, const char* arg,
                        std::initializer_list<index_t> expected);

// output_array for a shape known only at run time (ndim <= kMaxDims).
FloatArray output_array(py::handle obj, const char* fn, const char* arg, const index_t* expected,
                        int ndim);

// A new C-contiguous float32 array of this shape (at most kMaxDims), from new_float32_array.
FloatArray new_array(std::initializer_list<index_t> shape);
FloatArray new_array(const index_t* shape, int ndim);

// Raises ValueError if two elements of an output share memory (a broadcast or as_strided view):
// threads writing them would race, and the result would depend on the order of the writes.
void check_no_self_overlap(const FloatArray& out, const char* fn, const char* arg);

// Raises ValueError if the output's memory overlaps the input's (the result would be wrong).
void check_no_overlap(const FloatArray& out, const FloatArray& in, const char* fn,
                      const char* out_arg, const char* in_arg);

// Raises ValueError naming both arguments if a and b share any memory, exact aliasing included:
// for kernels that update one in place while reading the other.
void check_disjoint(const py::array& a, const py::array& b, const char* fn, const char* a_arg,
                    const char* b_arg);

}  // namespace hpnn

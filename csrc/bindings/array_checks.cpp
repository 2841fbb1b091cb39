#include "bindings/array_checks.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace hpnn {
namespace {

std::string type_name(py::handle obj) { return py::str(py::type::handle_of(obj).attr("__name__")); }

bool is_float32(const py::array& array) {
  const auto* descr = py::detail::array_descriptor_proxy(py::detail::array_proxy(array.ptr())->descr);
  return descr->type_num == py::detail::npy_api::NPY_FLOAT_ && descr->byteorder != '>';
}

void require_float32(const py::array& array, const char* fn, const char* arg) {
  if (!is_float32(array))
    throw py::type_error(std::string(fn) + ": argument '" + arg + "' must be float32, got " +
                         std::string(py::str(array.dtype())) +
                         " (convert with .astype(numpy.float32))");
}

void require_ndim(const py::array& array, const char* fn, const char* arg, int ndim) {
  if (array.ndim() != ndim || ndim > kMaxDims)
    throw py::value_error(std::string(fn) + ": argument '" + arg + "' must have " +
                          std::to_string(ndim) + " dimensions, got " + std::to_string(array.ndim()));
}

FloatArray wrap(py::array array) {
  FloatArray out;
  // Inputs are only read; outputs were checked to be writeable by output_array.
  out.data = const_cast<float*>(static_cast<const float*>(array.data()));
  out.ndim = static_cast<int>(array.ndim());
  for (int i = 0; i < out.ndim; ++i) {
    out.shape[i] = array.shape()[i];
    out.strides[i] = array.strides()[i] / static_cast<py::ssize_t>(sizeof(float));
  }
  out.array = std::move(array);
  return out;
}

bool whole_float_strides(const py::array& array) {
  for (py::ssize_t i = 0; i < array.ndim(); ++i)
    if (array.strides(i) % static_cast<py::ssize_t>(sizeof(float)) != 0) return false;
  return reinterpret_cast<std::uintptr_t>(array.data()) % alignof(float) == 0;
}

// [lowest, highest] byte addresses an array can touch; empty arrays touch nothing.
bool byte_extent(const FloatArray& a, std::uintptr_t* lo, std::uintptr_t* hi) {
  std::intptr_t low = 0, high = 0;
  for (int i = 0; i < a.ndim; ++i) {
    if (a.shape[i] == 0) return false;
    const std::intptr_t span = static_cast<std::intptr_t>((a.shape[i] - 1) * a.strides[i]) *
                               static_cast<std::intptr_t>(sizeof(float));
    (span < 0 ? low : high) += span;
  }
  const auto base = reinterpret_cast<std::intptr_t>(a.data);
  *lo = static_cast<std::uintptr_t>(base + low);
  *hi = static_cast<std::uintptr_t>(base + high + static_cast<std::intptr_t>(sizeof(float)) - 1);
  return true;
}

}  // namespace

std::string shape_str(const index_t* shape, int ndim) {
  std::string out = "(";
  for (int i = 0; i < ndim; ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (ndim == 1 ? ",)" : ")");
}

std::string shape_str(std::initializer_list<index_t> shape) {
  return shape_str(shape.begin(), static_cast<int>(shape.size()));
}

index_t int64_argument(py::handle obj, const char* fn, const std::string& what) {
  if (PyBool_Check(obj.ptr()) || !PyIndex_Check(obj.ptr()))
    throw py::type_error(std::string(fn) + ": " + what + " must be an int, got " + type_name(obj));
  py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(obj.ptr()));
  if (!index) throw py::error_already_set();
  int overflow = 0;
  const long long value = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  if (overflow != 0) {  // pybind11 has no overflow_error: set Python's and rethrow it
    PyErr_SetString(PyExc_OverflowError,
                    (std::string(fn) + ": " + what + " " + std::string(py::str(index)) +
                     " does not fit in a signed 64-bit integer").c_str());
    throw py::error_already_set();
  }
  if (value == -1 && PyErr_Occurred()) throw py::error_already_set();
  return static_cast<index_t>(value);
}

// `array` itself when it is C-contiguous with whole-float strides, else a C-ordered, aligned copy.
py::array c_order(py::array array, const char* fn, const char* arg) {
  if ((array.flags() & py::array::c_style) && whole_float_strides(array)) return array;
  return c_array<float>(array, fn, arg);
}

FloatArray input_array(py::handle obj, const char* fn, const char* arg, int ndim) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(fn) + ": argument '" + arg +
                         "' must be a float32 numpy.ndarray, got " + type_name(obj));
  py::array array = py::reinterpret_borrow<py::array>(obj);
  require_float32(array, fn, arg);
  require_ndim(array, fn, arg, ndim);
  if (!whole_float_strides(array)) array = c_order(std::move(array), fn, arg);
  return wrap(std::move(array));
}

FloatArray contiguous_input(py::handle obj, const char* fn, const char* arg, int ndim) {
  return wrap(c_order(input_array(obj, fn, arg, ndim).array, fn, arg));
}

bool as_contiguous_float32(py::handle obj, py::array* out, const char* fn, const char* arg,
                           int min_ndim) {
  if (!py::isinstance<py::array>(obj)) return false;
  py::array array = py::reinterpret_borrow<py::array>(obj);
  if (!is_float32(array) || array.ndim() < min_ndim) return false;
  *out = c_order(std::move(array), fn, arg);
  return true;
}

void raise_conversion_error(py::error_already_set& error, py::handle obj, const char* fn,
                            const char* arg) {
  std::string what = std::string(fn) + ": argument '" + arg + "'";
  if (py::isinstance<py::array>(obj)) {
    const auto array = py::reinterpret_borrow<py::array>(obj);
    what += " of shape " + std::string(py::str(obj.attr("shape"))) + " and dtype " +
            std::string(py::str(array.dtype()));
  }
  const std::string cause = py::str(error.value());
  if (error.matches(PyExc_MemoryError))
    PyErr_SetString(PyExc_MemoryError,
                    (what + " cannot be copied to a C-contiguous array: out of memory (" +
                     cause + ")").c_str());
  else
    PyErr_SetString(error.type().ptr(),
                    (what + " cannot be converted: " + cause).c_str());
  throw py::error_already_set();
}

py::object not_implemented() { return py::reinterpret_borrow<py::object>(Py_NotImplemented); }

FloatArray output_array(py::handle obj, const char* fn, const char* arg, const index_t* expected,
                        int ndim) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(fn) + ": argument '" + arg +
                         "' must be a float32 numpy.ndarray, got " + type_name(obj));
  py::array array = py::reinterpret_borrow<py::array>(obj);
  require_float32(array, fn, arg);
  require_ndim(array, fn, arg, ndim);
  if (!std::equal(expected, expected + ndim, array.shape()))
    throw py::value_error(std::string(fn) + ": argument '" + arg + "' must have shape " +
                          shape_str(expected, ndim) + ", got " +
                          shape_str(wrap(array).shape, static_cast<int>(array.ndim())));
  if (!array.writeable())
    throw py::value_error(std::string(fn) + ": argument '" + arg + "' is not writeable");
  if (!whole_float_strides(array))
    throw py::value_error(std::string(fn) + ": argument '" + arg +
                          "' is not aligned to 4 bytes (its data or its strides)");
  return wrap(std::move(array));
}

FloatArray output_array(py::handle obj, const char* fn, const char* arg,
                        std::initializer_list<index_t> expected) {
  return output_array(obj, fn, arg, expected.begin(), static_cast<int>(expected.size()));
}

FloatArray new_array(const index_t* shape, int ndim) {
  py::ssize_t dims[kMaxDims];
  std::copy(shape, shape + ndim, dims);
  return wrap(new_float32_array(dims, ndim));
}

FloatArray new_array(std::initializer_list<index_t> shape) {
  return new_array(shape.begin(), static_cast<int>(shape.size()));
}

void check_no_self_overlap(const FloatArray& out, const char* fn, const char* arg) {
  std::pair<index_t, index_t> dims[kMaxDims];  // (|stride|, size) of dims longer than one
  int count = 0;
  for (int i = 0; i < out.ndim; ++i) {
    if (out.shape[i] == 0) return;  // no elements, nothing to share
    if (out.shape[i] > 1) dims[count++] = {std::abs(out.strides[i]), out.shape[i]};
  }
  std::sort(dims, dims + count);
  // Sufficient for distinct elements: each stride steps past everything the smaller ones reach.
  index_t reach = 0;
  for (int i = 0; i < count; ++i) {
    if (dims[i].first <= reach)
      throw py::value_error(std::string(fn) + ": output '" + arg + "' of shape " +
                            shape_str(out.shape, out.ndim) +
                            " has elements that share memory (a broadcast or overlapping view);"
                            " pass an array with distinct elements");
    reach += (dims[i].second - 1) * dims[i].first;
  }
}

void check_no_overlap(const FloatArray& out, const FloatArray& in, const char* fn,
                      const char* out_arg, const char* in_arg) {
  std::uintptr_t out_lo, out_hi, in_lo, in_hi;
  if (!byte_extent(out, &out_lo, &out_hi) || !byte_extent(in, &in_lo, &in_hi)) return;
  if (out_lo > in_hi || in_lo > out_hi) return;
  // The extents meet (e.g. interleaved columns of one buffer): ask numpy for the exact answer.
  const bool shared = py::module_::import("numpy").attr("shares_memory")(out.array, in.array).cast<bool>();
  if (shared)
    throw py::value_error(std::string(fn) + ": output '" + out_arg + "' overlaps input '" + in_arg +
                          "' in memory; pass a separate array");
}

void check_disjoint(const py::array& a, const py::array& b, const char* fn, const char* a_arg,
                    const char* b_arg) {
  if (a.size() == 0 || b.size() == 0) return;
  const auto* a0 = static_cast<const char*>(a.data());
  const auto* b0 = static_cast<const char*>(b.data());
  // Two C-contiguous arrays are dense, so meeting extents mean shared bytes; for any other
  // layout numpy's exact test decides (interleaved columns of one buffer share none).
  const bool extents_meet = a0 < b0 + b.nbytes() && b0 < a0 + a.nbytes();
  const bool contiguous = (a.flags() & py::array::c_style) && (b.flags() & py::array::c_style);
  if (contiguous ? !extents_meet
                 : !py::module_::import("numpy").attr("shares_memory")(a, b).cast<bool>())
    return;
  throw py::value_error(std::string(fn) + ": arguments '" + a_arg + "' and '" + b_arg +
                        "' share memory; pass separate arrays");
}

}  // namespace hpnn

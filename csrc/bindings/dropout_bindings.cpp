// Dropout; hpnn/kernels/dropout.py holds the reference-compatible wrappers (see
// nn_binding_utils.h for the NotImplemented convention).
#include <cmath>

#include "bindings/nn_binding_utils.h"
#include "core/kernel_table.h"
#include "core/parallel.h"

namespace hpnn {
namespace {

constexpr double kForwardCost = 4.0;  // three 64-bit multiplies per element

// p as a python float or int (not bool) in [0, 1).
bool probability(py::handle obj, double* p) {
  if (PyFloat_Check(obj.ptr())) {
    *p = PyFloat_AsDouble(obj.ptr());
  } else {
    long long i;
    if (!as_int(obj, &i)) return false;
    *p = static_cast<double>(i);
  }
  return *p >= 0.0 && *p < 1.0;
}

// 1 / (1 - p) rounded as the reference does: float32(1) / float32(1 - p).
float keep_scale(double p) { return 1.0f / static_cast<float>(1.0 - p); }

py::object dropout_forward(py::handle x_obj, py::handle p_obj, py::handle seed_obj) {
  py::array x;
  double p;
  if (!as_contiguous_float32(x_obj, &x, "dropout_forward", "x") || !probability(p_obj, &p) ||
      !PyLong_Check(seed_obj.ptr()) || PyBool_Check(seed_obj.ptr()))
    return not_implemented();
  const unsigned long long seed = PyLong_AsUnsignedLongLong(seed_obj.ptr());
  if (PyErr_Occurred()) {  // negative or >= 2**64: the reference raises
    PyErr_Clear();
    return not_implemented();
  }
  DropoutArgs a{};
  py::array y = new_float32_like(x);
  py::array_t<bool> mask = new_output_array<bool>(x.shape(), static_cast<int>(x.ndim()));
  a.input = float_data(x);
  a.mask = mask.mutable_data();
  a.out = mutable_data(y);
  a.n = element_count(x);
  a.seed = seed;
  a.threshold = static_cast<std::uint64_t>(std::ceil(p * 16777216.0));  // u >= p, u = k / 2^24
  a.scale = keep_scale(p);
  a.num_threads = threads_for(a.n * kForwardCost, kPointwiseGrain);
  const auto kernel = active_kernels().dropout_forward;
  {
    py::gil_scoped_release release;
    kernel(a);
  }
  return py::make_tuple(y, mask);
}

py::object dropout_backward(py::handle grad_obj, py::handle mask_obj, py::handle p_obj) {
  py::array grad;
  double p;
  if (!as_contiguous_float32(grad_obj, &grad, "dropout_backward", "grad_y") ||
      !probability(p_obj, &p) ||
      !py::isinstance<py::array>(mask_obj))
    return not_implemented();
  py::array mask = py::reinterpret_borrow<py::array>(mask_obj);
  if (mask.dtype().kind() != 'b' || !same_shape(mask, grad)) return not_implemented();
  mask = c_array<bool>(mask, "dropout_backward", "mask");
  DropoutArgs a{};
  py::array grad_x = new_float32_like(grad);
  a.input = float_data(grad);
  a.mask = const_cast<bool*>(static_cast<const bool*>(mask.data()));
  a.out = mutable_data(grad_x);
  a.n = element_count(grad);
  a.scale = keep_scale(p);
  a.num_threads = threads_for(static_cast<double>(a.n), kPointwiseGrain);
  const auto kernel = active_kernels().dropout_backward;
  {
    py::gil_scoped_release release;
    kernel(a);
  }
  return std::move(grad_x);
}

}  // namespace

void bind_dropout(py::module_& kernels) {
  // Positional entry points behind hpnn/kernels/dropout.py; NotImplemented defers to numpy.
  kernels.def("_dropout_forward", &dropout_forward);
  kernels.def("_dropout_backward", &dropout_backward);
}

}  // namespace hpnn

// Activations and (log-)softmax; hpnn/kernels/activation.py holds the reference-compatible
// wrappers (see nn_binding_utils.h for the NotImplemented convention).
#include "bindings/nn_binding_utils.h"
#include "core/kernel_table.h"
#include "core/parallel.h"

namespace hpnn {
namespace {

// Rough cost of one element relative to a copy, for the thread-count decision.
double activation_cost(Activation op) {
  switch (op) {
    case Activation::kRelu:
    case Activation::kLeakyRelu: return 1.0;
    case Activation::kSigmoid:
    case Activation::kTanh: return 4.0;
    default: return 8.0;
  }
}

// The public name of an op's kernel, for error messages.
const char* op_name(Activation op, bool backward) {
  static const char* const forward_names[] = {"relu_forward", "leaky_relu_forward",
                                              "sigmoid_forward", "tanh_forward", "gelu_forward",
                                              "gelu_forward"};
  static const char* const backward_names[] = {"relu_backward", "leaky_relu_backward",
                                               "sigmoid_backward", "tanh_backward",
                                               "gelu_backward", "gelu_backward"};
  return (backward ? backward_names : forward_names)[static_cast<int>(op)];
}

// Whether an op's backward takes its output y (sigmoid, tanh) rather than its input x.
bool saves_output(Activation op) { return op == Activation::kSigmoid || op == Activation::kTanh; }

Activation checked_op(int op) {
  if (op < 0 || op > static_cast<int>(Activation::kGeluTanh))
    throw py::value_error("activation: unknown op code " + std::to_string(op));
  return static_cast<Activation>(op);
}

// y = op(x), into `out` when given (None: a new array); out may be x itself, as the kernels
// read each element before writing it.
py::object activation_forward(py::handle x_obj, int op_code, float param, py::handle out) {
  const Activation op = checked_op(op_code);
  py::array x, y;
  if (!as_contiguous_float32(x_obj, &x, op_name(op, false), "x")) return not_implemented();
  if (out.is_none())
    y = new_float32_like(x);
  else if (!as_output_like(out, x, &y) || partly_overlapping(x, y))
    return not_implemented();
  const index_t n = element_count(x);
  const int nt = threads_for(n * activation_cost(op), kPointwiseGrain);
  const auto kernel = active_kernels().activation_forward;
  {
    py::gil_scoped_release release;
    kernel(op, float_data(x), mutable_data(y), n, param, nt);
  }
  return std::move(y);
}

py::object activation_backward(py::handle grad_obj, py::handle saved_obj, int op_code,
                               float param) {
  const Activation op = checked_op(op_code);
  py::array grad, saved;
  const char* fn = op_name(op, true);
  if (!as_contiguous_float32(grad_obj, &grad, fn, "grad_y") ||
      !as_contiguous_float32(saved_obj, &saved, fn, saves_output(op) ? "y" : "x") ||
      !same_shape(grad, saved))
    return not_implemented();
  py::array grad_x = new_float32_like(grad);
  const index_t n = element_count(grad);
  const int nt = threads_for(n * activation_cost(op), kPointwiseGrain);
  const auto kernel = active_kernels().activation_backward;
  {
    py::gil_scoped_release release;
    kernel(op, float_data(grad), float_data(saved), mutable_data(grad_x), n, param, nt);
  }
  return std::move(grad_x);
}

// The axis as a non-negative index of x, or -1 when the reference must handle it.
int softmax_axis(const py::array& x, py::handle axis_obj) {
  long long axis;
  if (!as_int(axis_obj, &axis) || axis < -x.ndim() || axis >= x.ndim()) return -1;
  axis = axis < 0 ? axis + x.ndim() : axis;
  return x.shape(static_cast<int>(axis)) > 0 ? static_cast<int>(axis) : -1;
}

// x with `axis` moved last and made contiguous (a copy unless it is last already).
py::array axis_last(const py::array& x, int axis, const char* fn, const char* arg) {
  if (axis == x.ndim() - 1) return x;
  py::object moved = py::module_::import("numpy").attr("moveaxis")(x, axis, -1);
  return c_array<float>(moved, fn, arg);
}

// The inverse of axis_last for a result computed on the moved layout.
py::array axis_back(const py::array& y, int axis, int ndim, const char* fn) {
  if (axis == ndim - 1) return y;
  py::object moved = py::module_::import("numpy").attr("moveaxis")(y, -1, axis);
  return c_array<float>(moved, fn, "result");
}

double softmax_work(index_t n) { return 6.0 * static_cast<double>(n); }

py::object softmax_forward(py::handle x_obj, py::handle axis_obj, bool log) {
  const char* fn = log ? "log_softmax_forward" : "softmax_forward";
  py::array x;
  if (!as_contiguous_float32(x_obj, &x, fn, "x")) return not_implemented();
  const int axis = softmax_axis(x, axis_obj);
  if (axis < 0) return not_implemented();
  const int ndim = static_cast<int>(x.ndim());
  py::array rows = axis_last(x, axis, fn, "x");
  py::array y = new_float32_like(rows);
  const index_t n = element_count(rows), dim = rows.shape(ndim - 1);
  const int nt = threads_for(softmax_work(n), kPointwiseGrain);
  const auto kernel = active_kernels().softmax_forward;
  {
    py::gil_scoped_release release;
    kernel(float_data(rows), mutable_data(y), n / dim, dim, log, nt);
  }
  return axis_back(y, axis, ndim, fn);
}

py::object softmax_backward(py::handle grad_obj, py::handle y_obj, py::handle axis_obj,
                            bool log) {
  const char* fn = log ? "log_softmax_backward" : "softmax_backward";
  py::array grad, y;
  if (!as_contiguous_float32(grad_obj, &grad, fn, "grad_y") ||
      !as_contiguous_float32(y_obj, &y, fn, "y") || !same_shape(grad, y))
    return not_implemented();
  const int axis = softmax_axis(y, axis_obj);
  if (axis < 0) return not_implemented();
  const int ndim = static_cast<int>(y.ndim());
  py::array grad_rows = axis_last(grad, axis, fn, "grad_y"), y_rows = axis_last(y, axis, fn, "y");
  py::array grad_x = new_float32_like(y_rows);
  const index_t n = element_count(y_rows), dim = y_rows.shape(ndim - 1);
  const int nt = threads_for(softmax_work(n), kPointwiseGrain);
  const auto kernel = active_kernels().softmax_backward;
  {
    py::gil_scoped_release release;
    kernel(float_data(grad_rows), float_data(y_rows), mutable_data(grad_x), n / dim, dim, log, nt);
  }
  return axis_back(grad_x, axis, ndim, fn);
}

}  // namespace

void bind_activation(py::module_& kernels) {
  // Positional entry points behind the wrappers in hpnn/kernels/activation.py; each returns
  // NotImplemented where the numpy reference must handle the call.
  kernels.def("_activation_forward", &activation_forward, py::arg("x"), py::arg("op"),
              py::arg("param"), py::arg("out") = py::none());
  kernels.def("_activation_backward", &activation_backward);
  kernels.def("_softmax_forward", &softmax_forward);
  kernels.def("_softmax_backward", &softmax_backward);
}

}  // namespace hpnn

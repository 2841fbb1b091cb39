// Layer-norm entry points on (R, D) arrays and group-norm ones on (N, C, S) arrays:
// hpnn.kernels.norm flattens the leading and trailing axes; these check every argument again.
#include <string>

#include "bindings/array_checks.h"
#include "core/kernel_table.h"
#include "core/parallel.h"

namespace hpnn {
namespace {

// Memory bound (three passes over a row in cache): a thread pays off from about this many floats.
constexpr double kRowNormGrainFloats = 16384;

[[noreturn]] void fail(const char* fn, const std::string& message) {
  throw py::value_error(std::string(fn) + ": " + message);
}

// A contiguous float32 (n,) vector, or null for None; `keep` holds its memory.
const float* param_vector(py::handle obj, const char* fn, const char* arg, index_t n,
                          FloatArray& keep) {
  if (obj.is_none()) return nullptr;
  keep = contiguous_input(obj, fn, arg, 1);
  if (keep.shape[0] != n)
    fail(fn, std::string("argument '") + arg + "' must have shape (" + std::to_string(n) +
                 ",), got " + shape_str(keep.shape, 1));
  return keep.data;
}

void check_eps(double eps, const char* fn) {
  if (!(eps > 0.0)) fail(fn, "argument 'eps' must be positive, got " + std::to_string(eps));
}

void check_same_shape(const FloatArray& grad_y, const FloatArray& x, const char* fn) {
  for (int i = 0; i < x.ndim; ++i)
    if (grad_y.shape[i] != x.shape[i])
      fail(fn, "argument 'grad_y' shape " + shape_str(grad_y.shape, grad_y.ndim) +
                   " does not match x shape " + shape_str(x.shape, x.ndim));
}

int row_threads(const RowNormArgs& a) {
  return threads_for(static_cast<double>(a.rows * a.channels * a.spatial), kRowNormGrainFloats);
}

RowNormArgs layer_args(const FloatArray& x, const char* fn) {
  if (x.shape[1] < 1)
    fail(fn, "argument 'x' has no values to normalise, shape " + shape_str(x.shape, 2));
  RowNormArgs a{x.shape[0], 1, x.shape[1], 1, nullptr, nullptr, 1};
  a.num_threads = row_threads(a);
  return a;
}

RowNormArgs group_args(const FloatArray& x, long long groups, const char* fn) {
  const index_t n = x.shape[0], c = x.shape[1], s = x.shape[2];
  if (groups < 1) fail(fn, "argument 'num_groups' must be positive, got " + std::to_string(groups));
  if (c % groups != 0)
    fail(fn, "argument 'num_groups' (" + std::to_string(groups) + ") must divide the " +
                 std::to_string(c) + " channels of x");
  if (c < 1 || s < 1)
    fail(fn, "argument 'x' has no values to normalise, shape " + shape_str(x.shape, 3));
  RowNormArgs a{n * groups, groups, c / groups, s, nullptr, nullptr, 1};
  a.num_threads = row_threads(a);
  return a;
}

// The saved statistics: contiguous float32 (rows,) each.
void saved_stats(py::handle mean_obj, py::handle rstd_obj, const char* fn, index_t rows,
                 FloatArray& mean, FloatArray& rstd) {
  if (!param_vector(mean_obj, fn, "mean", rows, mean) ||
      !param_vector(rstd_obj, fn, "rstd", rows, rstd))
    fail(fn, "arguments 'mean' and 'rstd' are required");
}

py::tuple run_forward(const RowNormArgs& a, const FloatArray& x, FloatArray y, double eps) {
  FloatArray mean = new_array({a.rows}), rstd = new_array({a.rows});
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.row_norm_forward(a, x.data, y.data, mean.data, rstd.data, eps);
  }
  return py::make_tuple(y.array, mean.array, rstd.array);
}

py::tuple run_backward(const RowNormArgs& a, const FloatArray& grad_y, const FloatArray& x,
                       const FloatArray& mean, const FloatArray& rstd, FloatArray grad_x,
                       bool param_grads) {
  FloatArray grad_w, grad_b;
  const index_t size = a.groups * a.channels;
  if (param_grads) grad_w = new_array({size}), grad_b = new_array({size});
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.row_norm_backward(a, grad_y.data, x.data, mean.data, rstd.data, grad_x.data,
                              grad_w.data, grad_b.data);
  }
  if (!param_grads) return py::make_tuple(grad_x.array, py::none(), py::none());
  return py::make_tuple(grad_x.array, grad_w.array, grad_b.array);
}

py::tuple layer_forward(py::handle x_obj, py::handle weight_obj, py::handle bias_obj, double eps) {
  const char* fn = "layer_norm_forward";
  FloatArray x = contiguous_input(x_obj, fn, "x", 2), weight, bias;
  check_eps(eps, fn);
  RowNormArgs a = layer_args(x, fn);
  a.weight = param_vector(weight_obj, fn, "weight", a.channels, weight);
  a.bias = param_vector(bias_obj, fn, "bias", a.channels, bias);
  return run_forward(a, x, new_array({x.shape[0], x.shape[1]}), eps);
}

py::tuple layer_backward(py::handle grad_y_obj, py::handle x_obj, py::handle weight_obj,
                         py::handle mean_obj, py::handle rstd_obj, bool param_grads) {
  const char* fn = "layer_norm_backward";
  FloatArray x = contiguous_input(x_obj, fn, "x", 2);
  FloatArray grad_y = contiguous_input(grad_y_obj, fn, "grad_y", 2), weight, mean, rstd;
  check_same_shape(grad_y, x, fn);
  RowNormArgs a = layer_args(x, fn);
  a.weight = param_vector(weight_obj, fn, "weight", a.channels, weight);
  saved_stats(mean_obj, rstd_obj, fn, a.rows, mean, rstd);
  return run_backward(a, grad_y, x, mean, rstd, new_array({x.shape[0], x.shape[1]}), param_grads);
}

py::tuple group_forward(py::handle x_obj, long long groups, py::handle weight_obj,
                        py::handle bias_obj, double eps) {
  const char* fn = "group_norm_forward";
  FloatArray x = contiguous_input(x_obj, fn, "x", 3), weight, bias;
  check_eps(eps, fn);
  RowNormArgs a = group_args(x, groups, fn);
  a.weight = param_vector(weight_obj, fn, "weight", x.shape[1], weight);
  a.bias = param_vector(bias_obj, fn, "bias", x.shape[1], bias);
  return run_forward(a, x, new_array({x.shape[0], x.shape[1], x.shape[2]}), eps);
}

py::tuple group_backward(py::handle grad_y_obj, py::handle x_obj, long long groups,
                         py::handle weight_obj, py::handle mean_obj, py::handle rstd_obj,
                         bool param_grads) {
  const char* fn = "group_norm_backward";
  FloatArray x = contiguous_input(x_obj, fn, "x", 3);
  FloatArray grad_y = contiguous_input(grad_y_obj, fn, "grad_y", 3), weight, mean, rstd;
  check_same_shape(grad_y, x, fn);
  RowNormArgs a = group_args(x, groups, fn);
  a.weight = param_vector(weight_obj, fn, "weight", x.shape[1], weight);
  saved_stats(mean_obj, rstd_obj, fn, a.rows, mean, rstd);
  return run_backward(a, grad_y, x, mean, rstd, new_array({x.shape[0], x.shape[1], x.shape[2]}),
                      param_grads);
}

}  // namespace

void bind_row_norm(py::module_& kernels) {
  kernels.def("layer_norm_forward", &layer_forward, py::arg("x"), py::arg("weight"),
              py::arg("bias"), py::arg("eps"));
  kernels.def("layer_norm_backward", &layer_backward, py::arg("grad_y"), py::arg("x"),
              py::arg("weight"), py::arg("mean"), py::arg("rstd"), py::arg("param_grads"));
  kernels.def("group_norm_forward", &group_forward, py::arg("x"), py::arg("num_groups"),
              py::arg("weight"), py::arg("bias"), py::arg("eps"));
  kernels.def("group_norm_backward", &group_backward, py::arg("grad_y"), py::arg("x"),
              py::arg("num_groups"), py::arg("weight"), py::arg("mean"), py::arg("rstd"),
              py::arg("param_grads"));
}

}  // namespace hpnn

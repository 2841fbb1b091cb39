// Batch-norm entry points on (N, C, S) arrays: hpnn.kernels.norm flattens the spatial axes,
// checks hyper-parameters and converts per-channel vectors; these check the arrays.
#include <utility>

#include "bindings/array_checks.h"
#include "core/kernel_table.h"
#include "core/parallel.h"

namespace hpnn {
namespace {

// Memory bound: a thread pays off from about this many floats.
constexpr double kNormGrainFloats = 32768;

// The shape of x as kernel arguments. An empty batch has no statistics (the reference refuses
// it), and training needs two values per channel for its unbiased running variance.
BatchNormArgs norm_args(const FloatArray& x, const char* fn, bool training) {
  if (x.shape[0] < 1)
    throw py::value_error(std::string(fn) + ": argument 'x' is an empty batch, shape " +
                          shape_str(x.shape, 3));
  if (training && x.shape[0] * x.shape[2] < 2)
    throw py::value_error(std::string(fn) + ": argument 'x' needs more than 1 value per channel "
                          "in training, got shape " + shape_str(x.shape, 3));
  BatchNormArgs a;
  a.batch = x.shape[0], a.channels = x.shape[1], a.spatial = x.shape[2];
  a.weight = a.bias = nullptr;
  const int nt = threads_for(static_cast<double>(a.batch * a.channels * a.spatial), kNormGrainFloats);
  a.num_threads = a.channels < nt ? static_cast<int>(a.channels) : nt;
  return a;
}

// A contiguous float32 (C,) vector, or null for None; `keep` holds its memory.
const float* channel_vector(py::handle obj, const char* fn, const char* arg, index_t channels,
                            FloatArray& keep) {
  if (obj.is_none()) return nullptr;
  keep = contiguous_input(obj, fn, arg, 1);
  if (keep.shape[0] != channels)
    throw py::value_error(std::string(fn) + ": argument '" + arg + "' must have shape (" +
                          std::to_string(channels) + ",), got " + shape_str(keep.shape, 1));
  return keep.data;
}

// A running statistic updated in place, or null for None.
float* running_vector(py::handle obj, const char* fn, const char* arg, index_t channels,
                      FloatArray& keep) {
  if (obj.is_none()) return nullptr;
  keep = output_array(obj, fn, arg, {channels});
  if (channels > 1 && keep.strides[0] != 1)
    throw py::value_error(std::string(fn) + ": argument '" + arg + "' must be contiguous");
  return keep.data;
}

// The running statistics are written while x, weight and bias are still read: none may share
// memory with another (running_mean and running_var included). Absent ones (None) are skipped.
void check_running_disjoint(const FloatArray& running_mean, const FloatArray& running_var,
                            const FloatArray& x, const FloatArray& weight, const FloatArray& bias,
                            const char* fn) {
  using Named = std::pair<const FloatArray*, const char*>;
  const Named written[] = {{&running_mean, "running_mean"}, {&running_var, "running_var"}};
  const Named read[] = {{&x, "x"}, {&weight, "weight"}, {&bias, "bias"},
                        {&running_mean, "running_mean"}};
  for (const Named& out : written)
    for (const Named& in : read)
      if (out.first != in.first && out.first->data && in.first->data)
        check_no_overlap(*out.first, *in.first, fn, out.second, in.second);
}

py::tuple forward_train(py::handle x_obj, py::handle weight_obj, py::handle bias_obj,
                        py::handle running_mean_obj, py::handle running_var_obj, double momentum,
                        double eps) {
  const char* fn = "batch_norm_forward_train";
  FloatArray x = contiguous_input(x_obj, fn, "x", 3), weight, bias, rmean, rvar;
  BatchNormArgs a = norm_args(x, fn, true);
  a.weight = channel_vector(weight_obj, fn, "weight", a.channels, weight);
  a.bias = channel_vector(bias_obj, fn, "bias", a.channels, bias);
  float* running_mean = running_vector(running_mean_obj, fn, "running_mean", a.channels, rmean);
  float* running_var = running_vector(running_var_obj, fn, "running_var", a.channels, rvar);
  check_running_disjoint(rmean, rvar, x, weight, bias, fn);
  FloatArray y = new_array({a.batch, a.channels, a.spatial});
  FloatArray mean = new_array({a.channels}), invstd = new_array({a.channels});
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.batch_norm_forward_train(a, x.data, y.data, mean.data, invstd.data, running_mean,
                                     running_var, momentum, eps);
  }
  return py::make_tuple(y.array, mean.array, invstd.array);
}

py::object forward_eval(py::handle x_obj, py::handle weight_obj, py::handle bias_obj,
                        py::handle mean_obj, py::handle var_obj, double eps) {
  const char* fn = "batch_norm_forward_eval";
  FloatArray x = contiguous_input(x_obj, fn, "x", 3), weight, bias, mean, var;
  BatchNormArgs a = norm_args(x, fn, false);
  a.weight = channel_vector(weight_obj, fn, "weight", a.channels, weight);
  a.bias = channel_vector(bias_obj, fn, "bias", a.channels, bias);
  const float* mean_data = channel_vector(mean_obj, fn, "running_mean", a.channels, mean);
  const float* var_data = channel_vector(var_obj, fn, "running_var", a.channels, var);
  if (!mean_data || !var_data)
    throw py::value_error(std::string(fn) + ": running_mean and running_var are required");
  FloatArray y = new_array({a.batch, a.channels, a.spatial});
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.batch_norm_forward_eval(a, x.data, y.data, mean_data, var_data, eps);
  }
  return y.array;
}

py::tuple backward(py::handle grad_y_obj, py::handle x_obj, py::handle weight_obj,
                   py::handle save_mean_obj, py::handle save_invstd_obj) {
  const char* fn = "batch_norm_backward";
  FloatArray x = contiguous_input(x_obj, fn, "x", 3);
  FloatArray grad_y = contiguous_input(grad_y_obj, fn, "grad_y", 3), weight, mean, invstd;
  if (!std::equal(x.shape, x.shape + 3, grad_y.shape))
    throw py::value_error(std::string(fn) + ": argument 'grad_y' shape " + shape_str(grad_y.shape, 3) +
                          " does not match x shape " + shape_str(x.shape, 3));
  BatchNormArgs a = norm_args(x, fn, false);
  a.weight = channel_vector(weight_obj, fn, "weight", a.channels, weight);
  const float* mean_data = channel_vector(save_mean_obj, fn, "save_mean", a.channels, mean);
  const float* invstd_data = channel_vector(save_invstd_obj, fn, "save_invstd", a.channels, invstd);
  if (!mean_data || !invstd_data)
    throw py::value_error(std::string(fn) + ": save_mean and save_invstd are required");
  FloatArray grad_x = new_array({a.batch, a.channels, a.spatial});
  FloatArray grad_weight, grad_bias;
  if (a.weight) grad_weight = new_array({a.channels}), grad_bias = new_array({a.channels});
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.batch_norm_backward(a, grad_y.data, x.data, mean_data, invstd_data, grad_x.data,
                                grad_weight.data, grad_bias.data);
  }
  if (!a.weight) return py::make_tuple(grad_x.array, py::none(), py::none());
  return py::make_tuple(grad_x.array, grad_weight.array, grad_bias.array);
}

}  // namespace

void bind_norm(py::module_& kernels) {
  kernels.def("batch_norm_forward_train", &forward_train, py::arg("x"), py::arg("weight"),
              py::arg("bias"), py::arg("running_mean"), py::arg("running_var"),
              py::arg("momentum"), py::arg("eps"));
  kernels.def("batch_norm_forward_eval", &forward_eval, py::arg("x"), py::arg("weight"),
              py::arg("bias"), py::arg("running_mean"), py::arg("running_var"), py::arg("eps"));
  kernels.def("batch_norm_backward", &backward, py::arg("grad_y"), py::arg("x"),
              py::arg("weight"), py::arg("save_mean"), py::arg("save_invstd"));
}

}  // namespace hpnn

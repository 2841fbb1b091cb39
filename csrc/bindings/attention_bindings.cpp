// Masked-softmax entry points on (B, H, L, S) arrays (hpnn.kernels.attention brings other
// ranks and broadcast masks to this form); every argument is checked again here.
#include <cmath>
#include <string>

#include "bindings/array_checks.h"
#include "core/kernel_table.h"
#include "core/parallel.h"

namespace hpnn {
namespace {

// exp, a max and a few multiply-adds per element, rows in cache: a thread pays off from
// about this many elements.
constexpr double kSoftmaxGrainFloats = 16384;

[[noreturn]] void fail(const char* fn, const std::string& message) {
  throw py::value_error(std::string(fn) + ": " + message);
}

void check_scale(double scale, const char* fn) {
  if (!std::isfinite(scale)) fail(fn, "argument 'scale' must be finite, got " + std::to_string(scale));
}

MaskedSoftmaxArgs make_args(const FloatArray& x, double scale) {
  MaskedSoftmaxArgs a{x.shape[0], x.shape[1], x.shape[2], x.shape[3], nullptr, 0, 0, 0,
                      static_cast<float>(scale), false, true, 1};
  a.num_threads = threads_for(static_cast<double>(a.batch * a.heads * a.rows * a.cols),
                              kSoftmaxGrainFloats);
  return a;
}

// The mask's strides for a (1|B, 1|H, 1|L, S) mask: 0 along a broadcast dim.
void set_mask(MaskedSoftmaxArgs& a, const FloatArray& mask, const char* fn) {
  const index_t full[4] = {a.batch, a.heads, a.rows, a.cols};
  for (int d = 0; d < 4; ++d)
    if (mask.shape[d] != full[d] && !(d < 3 && mask.shape[d] == 1))
      fail(fn, "argument 'mask' of shape " + shape_str(mask.shape, 4) +
                   " does not broadcast to x's " + shape_str(full, 4) +
                   " (each leading dim 1 or x's, the last x's)");
  a.mask = mask.data;
  a.mask_row_stride = mask.shape[2] == 1 ? 0 : a.cols;
  a.mask_head_stride = mask.shape[1] == 1 ? 0 : mask.shape[2] * a.cols;
  a.mask_batch_stride = mask.shape[0] == 1 ? 0 : mask.shape[1] * mask.shape[2] * a.cols;
}

py::object forward(py::handle x_obj, py::handle mask_obj, double scale, bool causal,
                   bool zero_empty_rows) {
  const char* fn = "masked_softmax_forward";
  check_scale(scale, fn);
  FloatArray x = contiguous_input(x_obj, fn, "x", 4);
  MaskedSoftmaxArgs a = make_args(x, scale);
  a.causal = causal, a.zero_empty_rows = zero_empty_rows;
  FloatArray mask;
  if (!mask_obj.is_none()) {
    mask = contiguous_input(mask_obj, fn, "mask", 4);
    set_mask(a, mask, fn);
  }
  FloatArray y = new_array({a.batch, a.heads, a.rows, a.cols});
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.masked_softmax_forward(a, x.data, y.data);
  }
  return y.array;
}

py::object backward(py::handle grad_y_obj, py::handle y_obj, double scale) {
  const char* fn = "masked_softmax_backward";
  check_scale(scale, fn);
  FloatArray grad_y = contiguous_input(grad_y_obj, fn, "grad_y", 4);
  FloatArray y = contiguous_input(y_obj, fn, "y", 4);
  for (int d = 0; d < 4; ++d)
    if (grad_y.shape[d] != y.shape[d])
      fail(fn, "argument 'grad_y' of shape " + shape_str(grad_y.shape, 4) +
                   " must have y's shape " + shape_str(y.shape, 4));
  const MaskedSoftmaxArgs a = make_args(y, scale);
  FloatArray grad_x = new_array({a.batch, a.heads, a.rows, a.cols});
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.masked_softmax_backward(a, grad_y.data, y.data, grad_x.data);
  }
  return grad_x.array;
}

}  // namespace

void bind_attention(py::module_& kernels) {
  kernels.def("masked_softmax_forward", &forward, py::arg("x"), py::arg("mask"), py::arg("scale"),
              py::arg("causal"), py::arg("zero_empty_rows"));
  kernels.def("masked_softmax_backward", &backward, py::arg("grad_y"), py::arg("y"),
              py::arg("scale"));
}

}  // namespace hpnn

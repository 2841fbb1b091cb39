// Convolution bindings: positional entry points taking validated geometry from
// python/hpnn/kernels/conv.py, which mirrors hpnn.reference's argument handling. Shapes are
// re-checked here so that no call, however wrong, reaches a kernel with bad pointers.
#include "bindings/array_checks.h"
#include "bindings/output_buffers.h"
#include "core/kernel_table.h"
#include "core/parallel.h"

#include <pybind11/stl.h>

namespace hpnn {
namespace {

// Below this many flops per thread a second thread does not pay (conv images are independent).
constexpr double kConvGrainFlops = 2e6;

struct Geometry {
  index_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
};

// Geometry entries and sizes beyond this cannot describe an allocatable array; below it the
// output-size arithmetic stays within int64 (the one product is overflow-checked).
constexpr index_t kMaxExtent = index_t{1} << 46;

Geometry parse_geometry(py::tuple t, const char* fn) {
  if (t.size() != 7)
    throw py::value_error(std::string(fn) + ": argument 'geometry' must be (stride_h, stride_w, "
                          "pad_h, pad_w, dilation_h, dilation_w, groups)");
  Geometry g;
  index_t* fields[] = {&g.stride_h, &g.stride_w, &g.pad_h, &g.pad_w, &g.dilation_h, &g.dilation_w, &g.groups};
  static const char* const names[] = {"stride", "stride", "padding", "padding", "dilation",
                                      "dilation", "groups"};
  for (size_t i = 0; i < 7; ++i) *fields[i] = int64_argument(t[i], fn, names[i]);
  if (g.stride_h < 1 || g.stride_w < 1 || g.dilation_h < 1 || g.dilation_w < 1 || g.groups < 1 ||
      g.pad_h < 0 || g.pad_w < 0)
    throw py::value_error(std::string(fn) + ": argument 'geometry': stride, dilation and groups "
                          "must be positive, padding >= 0");
  for (size_t i = 0; i < 7; ++i)
    if (*fields[i] > kMaxExtent)
      throw py::value_error(std::string(fn) + ": argument 'geometry' has an entry out of range");
  return g;
}

// Whether a 4-d shape has no negative size and an element count within kMaxExtent.
bool sizes_in_range(const index_t* shape) {
  index_t count = 1;
  for (int i = 0; i < 4; ++i)
    if (shape[i] < 0 || shape[i] > kMaxExtent || __builtin_mul_overflow(count, shape[i], &count) ||
        count > kMaxExtent)
      return false;
  return true;
}

// The padded input's extent minus the dilated kernel's along one axis (< 0: does not fit).
index_t conv_span(index_t size, index_t pad, index_t dilation, index_t k, const char* fn) {
  index_t reach;
  if (__builtin_mul_overflow(dilation, k - 1, &reach) || reach > kMaxExtent)
    throw py::value_error(std::string(fn) + ": the dilated kernel is larger than the padded input");
  return size + 2 * pad - reach - 1;
}

// The full geometry from the input shape (n, c, h, w), weight shape (k, c/groups, kh, kw) and
// the hyper-parameters; raises when they do not fit together.
ConvShape make_shape(const index_t* input, const index_t* weight, const Geometry& g,
                     const char* fn) {
  ConvShape s;
  s.n = input[0], s.c = input[1], s.h = input[2], s.w = input[3];
  s.k = weight[0], s.kh = weight[2], s.kw = weight[3];
  s.stride_h = g.stride_h, s.stride_w = g.stride_w, s.pad_h = g.pad_h, s.pad_w = g.pad_w;
  s.dilation_h = g.dilation_h, s.dilation_w = g.dilation_w, s.groups = g.groups;
  if (!sizes_in_range(input) || !sizes_in_range(weight))
    throw py::value_error(std::string(fn) + ": input shape " + shape_str(input, 4) +
                          " or weight shape " + shape_str(weight, 4) + " has a size out of range");
  if (s.c % s.groups || s.k % s.groups || s.c / s.groups != weight[1])
    throw py::value_error(std::string(fn) + ": weight shape " + shape_str(weight, 4) +
                          " does not fit input " + shape_str(input, 4) +
                          " with groups=" + std::to_string(s.groups));
  if (s.n < 1 || s.kh < 1 || s.kw < 1)
    throw py::value_error(std::string(fn) + ": empty batch or kernel");
  const index_t span_h = conv_span(s.h, s.pad_h, s.dilation_h, s.kh, fn);
  const index_t span_w = conv_span(s.w, s.pad_w, s.dilation_w, s.kw, fn);
  if (span_h < 0 || span_w < 0)
    throw py::value_error(std::string(fn) + ": the dilated kernel is larger than the padded input");
  s.oh = span_h / s.stride_h + 1;
  s.ow = span_w / s.stride_w + 1;
  return s;
}

std::vector<index_t> shape_tuple(py::handle obj, const char* fn, const char* arg) {
  if (!py::isinstance<py::sequence>(obj) || py::isinstance<py::str>(obj))
    throw py::type_error(std::string(fn) + ": argument '" + arg + "' must be a tuple of 4 ints");
  auto entries = py::reinterpret_borrow<py::sequence>(obj);
  if (entries.size() != 4)
    throw py::value_error(std::string(fn) + ": argument '" + arg + "' must have 4 entries");
  std::vector<index_t> shape;
  for (size_t i = 0; i < 4; ++i)
    shape.push_back(int64_argument(entries[i], fn, "argument '" + std::string(arg) + "'"));
  return shape;
}

void require_shape(const FloatArray& a, const index_t* expected, const char* fn, const char* arg) {
  for (int i = 0; i < a.ndim; ++i)
    if (a.shape[i] != expected[i])
      throw py::value_error(std::string(fn) + ": argument '" + arg + "' must have shape " +
                            shape_str(expected, a.ndim) + ", got " + shape_str(a.shape, a.ndim));
}

void require_grad_y(const FloatArray& grad_y, const ConvShape& s, const char* fn) {
  const index_t expected[] = {s.n, s.k, s.oh, s.ow};
  require_shape(grad_y, expected, fn, "grad_y");
}

int conv_threads(const ConvShape& s) {
  return threads_for(2.0 * s.n * s.k * s.oh * s.ow * (s.c / s.groups) * s.kh * s.kw, kConvGrainFlops);
}

// The bias argument: none, or a (K,) float32 array.
FloatArray bias_of(py::handle bias_obj, const ConvShape& s, const char* fn) {
  FloatArray bias;
  if (!bias_obj.is_none()) {
    bias = contiguous_input(bias_obj, fn, "bias", 1);
    require_shape(bias, &s.k, fn, "bias");
  }
  return bias;
}

index_t weight_elements(const index_t* weight_shape) {
  return weight_shape[0] * weight_shape[1] * weight_shape[2] * weight_shape[3];
}

// (weight gradient, bias gradient): views of the one buffer of weight_elements + K floats that
// a kernel filled in one sweep.
py::tuple split_params(const FloatArray& params, const index_t* weight_shape) {
  const index_t k = weight_shape[0], size = weight_elements(weight_shape);
  py::object grad_w = params.array[py::slice(0, size, 1)].attr("reshape")(
      py::make_tuple(k, weight_shape[1], weight_shape[2], weight_shape[3]));
  return py::make_tuple(grad_w, params.array[py::slice(size, size + k, 1)]);
}

py::array forward(py::handle x_obj, py::handle w_obj, py::handle bias_obj, py::tuple geometry,
                  bool relu) {
  const char* fn = "conv2d_forward";
  FloatArray x = contiguous_input(x_obj, fn, "x", 4), w = contiguous_input(w_obj, fn, "weight", 4);
  const ConvShape s = make_shape(x.shape, w.shape, parse_geometry(geometry, fn), fn);
  FloatArray bias = bias_of(bias_obj, s, fn);
  FloatArray y = new_array({s.n, s.k, s.oh, s.ow});
  const auto kernel = active_kernels().conv2d_forward;
  const int nt = conv_threads(s);
  {  // GIL back before `return y.array` copies (increfs) the array
    py::gil_scoped_release release;
    kernel(s, x.data, w.data, bias.data, relu, y.data, nt);
  }
  return y.array;
}

py::array backward_input(py::handle grad_y_obj, py::handle w_obj, py::handle input_shape,
                         py::tuple geometry) {
  const char* fn = "conv2d_backward_input";
  FloatArray dy = contiguous_input(grad_y_obj, fn, "grad_y", 4);
  FloatArray w = contiguous_input(w_obj, fn, "weight", 4);
  const std::vector<index_t> input = shape_tuple(input_shape, fn, "input_shape");
  const ConvShape s = make_shape(input.data(), w.shape, parse_geometry(geometry, fn), fn);
  require_grad_y(dy, s, fn);
  FloatArray dx = new_array({s.n, s.c, s.h, s.w});
  const auto kernel = active_kernels().conv2d_backward_input;
  const int nt = conv_threads(s);
  {
    py::gil_scoped_release release;
    kernel(s, dy.data, w.data, dx.data, nt);
  }
  return dx.array;
}

// The weight gradient, or with_bias (weight gradient, bias gradient): views of one buffer,
// which the kernel fills in one sweep over grad_y.
py::object backward_weight(py::handle grad_y_obj, py::handle x_obj, py::handle weight_shape,
                           py::tuple geometry, bool with_bias) {
  const char* fn = "conv2d_backward_weight";
  FloatArray dy = contiguous_input(grad_y_obj, fn, "grad_y", 4);
  FloatArray x = contiguous_input(x_obj, fn, "x", 4);
  const std::vector<index_t> weight = shape_tuple(weight_shape, fn, "weight_shape");
  const ConvShape s = make_shape(x.shape, weight.data(), parse_geometry(geometry, fn), fn);
  require_grad_y(dy, s, fn);
  FloatArray params = new_array({weight_elements(weight.data()) + (with_bias ? weight[0] : 0)});
  const auto kernel = active_kernels().conv2d_backward_weight;
  const int nt = conv_threads(s);
  {
    py::gil_scoped_release release;
    kernel(s, dy.data, x.data, params.data, with_bias, nt);
  }
  py::tuple grads = split_params(params, weight.data());
  return with_bias ? py::object(grads) : py::object(grads[0]);
}

// (grad_x, grad_w, grad_b) in one sweep; the two parameter gradients are views of one buffer.
py::tuple backward(py::handle grad_y_obj, py::handle x_obj, py::handle w_obj, py::tuple geometry) {
  const char* fn = "conv2d_backward";
  FloatArray dy = contiguous_input(grad_y_obj, fn, "grad_y", 4);
  FloatArray x = contiguous_input(x_obj, fn, "x", 4), w = contiguous_input(w_obj, fn, "weight", 4);
  const ConvShape s = make_shape(x.shape, w.shape, parse_geometry(geometry, fn), fn);
  require_grad_y(dy, s, fn);
  FloatArray dx = new_array({s.n, s.c, s.h, s.w});
  FloatArray params = new_array({weight_elements(w.shape) + s.k});
  const auto kernel = active_kernels().conv2d_backward;
  const int nt = conv_threads(s);
  {
    py::gil_scoped_release release;
    kernel(s, dy.data, x.data, w.data, dx.data, params.data, nt);
  }
  py::tuple grads = split_params(params, w.shape);
  return py::make_tuple(dx.array, grads[0], grads[1]);
}

// (values, int32 indices) of max_pool2d(relu(conv)) with 2x2 windows, stride 2, in one pass, or
// None where no fused path suits the convolution (the caller then runs the two kernels).
py::object relu_max_pool2x2(py::handle x_obj, py::handle w_obj, py::handle bias_obj,
                            py::tuple geometry) {
  const char* fn = "conv2d_relu_max_pool2d_forward";
  FloatArray x = contiguous_input(x_obj, fn, "x", 4), w = contiguous_input(w_obj, fn, "weight", 4);
  const ConvShape s = make_shape(x.shape, w.shape, parse_geometry(geometry, fn), fn);
  FloatArray bias = bias_of(bias_obj, s, fn);
  if (s.oh < 2 || s.ow < 2 || s.oh * s.ow >= (index_t{1} << 31)) return py::none();
  FloatArray y = new_array({s.n, s.k, s.oh / 2, s.ow / 2});
  py::array indices(new_output_array<std::int32_t>(y.array.shape(), 4));
  const auto kernel = active_kernels().conv2d_relu_max_pool2x2;
  const int nt = conv_threads(s);
  bool fused;
  {
    py::gil_scoped_release release;
    fused = kernel(s, x.data, w.data, bias.data, y.data,
                   static_cast<std::int32_t*>(indices.mutable_data()), nt);
  }
  if (!fused) return py::none();
  return py::make_tuple(y.array, indices);
}

// The int32 argmax of a fused pool: C-contiguous, the pooled shape; never converted.
const std::int32_t* pool_indices(py::handle obj, const FloatArray& like, const char* fn) {
  if (!py::isinstance<py::array>(obj) ||
      !py::reinterpret_borrow<py::array>(obj).dtype().is(py::dtype::of<std::int32_t>()))
    throw py::type_error(std::string(fn) + ": argument 'indices' must be an int32 ndarray");
  const auto indices = py::reinterpret_borrow<py::array>(obj);
  bool same = indices.ndim() == like.ndim && (indices.flags() & py::array::c_style) &&
              is_aligned(indices);
  for (int i = 0; same && i < like.ndim; ++i) same = indices.shape(i) == like.shape[i];
  if (!same)
    throw py::value_error(std::string(fn) + ": argument 'indices' must be C-contiguous and "
                          "aligned, with grad's shape " + shape_str(like.shape, like.ndim));
  return static_cast<const std::int32_t*>(indices.data());
}

// conv2d_backward of max_pool2d(relu(conv)) 2x2 / 2 from the pool's gradient, indices and
// output, in one sweep (dy never written; grad_x None unless input_grad), or None where no
// fused path suits the convolution or an index lies outside its window (the caller then runs
// the two kernels).
py::object relu_max_pool2x2_backward(py::handle grad_obj, py::handle indices_obj,
                                     py::handle output_obj, py::handle x_obj, py::handle w_obj,
                                     py::tuple geometry, bool input_grad) {
  const char* fn = "conv2d_relu_max_pool2d_backward";
  FloatArray x = contiguous_input(x_obj, fn, "x", 4), w = contiguous_input(w_obj, fn, "weight", 4);
  const ConvShape s = make_shape(x.shape, w.shape, parse_geometry(geometry, fn), fn);
  FloatArray grad = contiguous_input(grad_obj, fn, "grad", 4);
  FloatArray output = contiguous_input(output_obj, fn, "output", 4);
  const index_t pooled[] = {s.n, s.k, s.oh / 2, s.ow / 2};
  require_shape(grad, pooled, fn, "grad");
  require_shape(output, pooled, fn, "output");
  const std::int32_t* indices = pool_indices(indices_obj, grad, fn);
  if (s.oh * s.ow >= (index_t{1} << 31)) return py::none();  // int32 cannot index the planes
  FloatArray dx = input_grad ? new_array({s.n, s.c, s.h, s.w}) : FloatArray{};
  FloatArray params = new_array({weight_elements(w.shape) + s.k});
  const auto kernel = active_kernels().conv2d_relu_max_pool2x2_backward;
  const int nt = conv_threads(s);
  bool fused;
  {
    py::gil_scoped_release release;
    fused = kernel(s, grad.data, indices, output.data, x.data, w.data, dx.data, params.data, nt);
  }
  if (!fused) return py::none();
  py::tuple grads = split_params(params, w.shape);
  return py::make_tuple(input_grad ? py::object(dx.array) : py::object(py::none()), grads[0],
                        grads[1]);
}

}  // namespace

void bind_conv(py::module_& kernels) {
  kernels.def("conv2d_forward", &forward, py::arg("x"), py::arg("weight"), py::arg("bias"),
              py::arg("geometry"), py::arg("relu") = false);
  kernels.def("conv2d_backward_input", &backward_input, py::arg("grad_y"), py::arg("weight"),
              py::arg("input_shape"), py::arg("geometry"));
  kernels.def("conv2d_backward_weight", &backward_weight, py::arg("grad_y"), py::arg("x"),
              py::arg("weight_shape"), py::arg("geometry"), py::arg("with_bias") = false);
  kernels.def("conv2d_backward", &backward, py::arg("grad_y"), py::arg("x"), py::arg("weight"),
              py::arg("geometry"));
  kernels.def("conv2d_relu_max_pool2d_forward", &relu_max_pool2x2, py::arg("x"),
              py::arg("weight"), py::arg("bias"), py::arg("geometry"));
  kernels.def("conv2d_relu_max_pool2d_backward", &relu_max_pool2x2_backward, py::arg("grad"),
              py::arg("indices"), py::arg("output"), py::arg("x"), py::arg("weight"),
              py::arg("geometry"), py::arg("input_grad") = true);
}

}  // namespace hpnn

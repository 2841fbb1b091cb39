// Pooling entry points. Positional and pre-validated geometry: hpnn.kernels.pool normalises
// kernel sizes, checks the hyper-parameters and computes output sizes (the reference rules),
// these check the arrays.
#include "bindings/array_checks.h"
#include "core/kernel_table.h"
#include "core/parallel.h"

namespace hpnn {
namespace {

// Pooling is memory bound: a thread pays off from about this many input floats.
constexpr double kPoolGrainFloats = 32768;

// Geometry entries and input sizes beyond this cannot describe an allocatable array; below it
// every sum and product the checks form stays within int64 (products are overflow-checked).
constexpr index_t kMaxExtent = index_t{1} << 46;

[[noreturn]] void bad_geometry(const char* fn, const std::string& what) {
  throw py::value_error(std::string(fn) + ": argument 'geometry' " + what);
}

index_t checked_product(index_t a, index_t b, const char* fn, const char* arg) {
  index_t out;
  if (__builtin_mul_overflow(a, b, &out) || out > kMaxExtent)
    throw py::value_error(std::string(fn) + ": argument '" + arg + "' is too large");
  return out;
}

// The output size of one axis by PyTorch's rule (the reference's _output_shape): floor, or
// with ceil_mode one more unless that last window would start in the right padding.
index_t pooled_size(index_t size, index_t k, index_t s, index_t p, index_t d, bool ceil_mode) {
  const index_t span = size + 2 * p - d * (k - 1) - 1;  // >= 0, checked by the caller
  index_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= size + p) --out;
  return out;
}

// One axis of a pooling geometry against its input size: kernel, stride, dilation >= 1,
// 0 <= padding <= kernel / 2 (every window then overlaps the input, so no divisor is 0), the
// dilated kernel within the padded input, and the output size one of the two PyTorch gives.
void check_pool_axis(const char* fn, const char* axis, index_t size, index_t k, index_t s,
                     index_t p, index_t d, index_t out) {
  const std::string at = std::string(" (") + axis + " axis)";
  for (index_t v : {k, s, p, d, out})
    if (v < 0 || v > kMaxExtent) bad_geometry(fn, "has an entry out of range" + at);
  if (k < 1 || s < 1 || d < 1)
    bad_geometry(fn, "needs kernel size, stride and dilation >= 1" + at);
  if (p > k / 2) bad_geometry(fn, "padding must be at most half the kernel size" + at);
  const index_t reach = checked_product(d, k - 1, fn, "geometry") + 1;
  if (reach > size + 2 * p)
    bad_geometry(fn, "has a dilated kernel larger than the padded input" + at);
  if (out != pooled_size(size, k, s, p, d, false) && out != pooled_size(size, k, s, p, d, true))
    bad_geometry(fn, "output size " + std::to_string(out) + " does not follow from input size " +
                         std::to_string(size) + at);
}

// An (N, C, H, W) input shape: N >= 1 (the reference refuses empty batches), no negative size,
// an element count that cannot overflow.
void check_input_shape(const index_t* shape, const char* fn, const char* arg) {
  if (shape[0] < 1 || shape[1] < 0 || shape[2] < 0 || shape[3] < 0)
    throw py::value_error(std::string(fn) + ": argument '" + arg + "' " + shape_str(shape, 4) +
                          " needs N >= 1 and no negative size");
  checked_product(checked_product(checked_product(shape[0], shape[1], fn, arg), shape[2], fn, arg),
                  shape[3], fn, arg);
}

// geometry = (kh, kw, sh, sw, ph, pw, dh, dw, oh, ow), checked against the input shape by the
// reference's rules (hpnn.reference.pool._pool_geometry), whoever built it.
PoolArgs pool_args(const index_t* input_shape, const char* shape_arg, py::tuple geometry,
                   const char* fn) {
  if (geometry.size() != 10)
    bad_geometry(fn, "must be (kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)");
  index_t g[10];
  static const char* const names[] = {"kernel_size", "kernel_size", "stride", "stride", "padding",
                                      "padding", "dilation", "dilation", "output size",
                                      "output size"};
  for (int i = 0; i < 10; ++i) g[i] = int64_argument(geometry[i], fn, names[i]);
  check_input_shape(input_shape, fn, shape_arg);
  check_pool_axis(fn, "height", input_shape[2], g[0], g[2], g[4], g[6], g[8]);
  check_pool_axis(fn, "width", input_shape[3], g[1], g[3], g[5], g[7], g[9]);
  PoolArgs a;
  a.planes = input_shape[0] * input_shape[1];
  a.height = input_shape[2], a.width = input_shape[3];
  a.kernel_h = g[0], a.kernel_w = g[1], a.stride_h = g[2], a.stride_w = g[3];
  a.pad_h = g[4], a.pad_w = g[5], a.dilation_h = g[6], a.dilation_w = g[7];
  a.out_height = g[8], a.out_width = g[9];
  a.count_include_pad = true;
  a.divisor_override = 0;
  a.num_threads = threads_for(static_cast<double>(a.planes * a.height * a.width), kPoolGrainFloats);
  return a;
}

// Average pooling has no dilation (PyTorch's avg_pool2d), and its divisor is 0 (none) or > 0.
PoolArgs avg_pool_args(const index_t* input_shape, const char* shape_arg, py::tuple geometry,
                       bool count_include_pad, index_t divisor_override, const char* fn) {
  PoolArgs a = pool_args(input_shape, shape_arg, geometry, fn);
  if (a.dilation_h != 1 || a.dilation_w != 1) bad_geometry(fn, "must have dilation 1");
  if (divisor_override < 0)
    throw py::value_error(std::string(fn) + ": argument 'divisor_override' must be >= 0 (0: "
                          "none), got " + std::to_string(divisor_override));
  a.count_include_pad = count_include_pad, a.divisor_override = divisor_override;
  return a;
}

void check_grad_shape(const FloatArray& grad_y, const index_t* input_shape, const PoolArgs& a,
                      const char* fn) {
  const index_t expected[4] = {input_shape[0], input_shape[1], a.out_height, a.out_width};
  for (int i = 0; i < 4; ++i)
    if (grad_y.shape[i] != expected[i])
      throw py::value_error(std::string(fn) + ": argument 'grad_y' must have shape " +
                            shape_str(expected, 4) + ", got " + shape_str(grad_y.shape, 4));
}

void input_shape_of(py::tuple shape, index_t* out, const char* fn) {
  if (shape.size() != 4)
    throw py::value_error(std::string(fn) + ": argument 'input_shape' must be (N, C, H, W)");
  for (int i = 0; i < 4; ++i) out[i] = int64_argument(shape[i], fn, "argument 'input_shape'");
}

// Planes up to this many floats can take int32 indices.
constexpr index_t kInt32PlaneLimit = index_t{1} << 31;

// (y, indices): int64 indices, or int32 ones (int32_indices) where the plane allows them.
py::tuple max_pool2d_forward(py::handle x_obj, py::tuple geometry, bool int32_indices) {
  const char* fn = "max_pool2d_forward";
  FloatArray x = contiguous_input(x_obj, fn, "x", 4);
  PoolArgs a = pool_args(x.shape, "x", geometry, fn);
  if (int32_indices && a.height * a.width >= kInt32PlaneLimit)
    throw py::value_error(std::string(fn) + ": argument 'index_dtype' int32 cannot index planes "
                          "of 2**31 elements or more; use int64");
  a.int32_indices = int32_indices;
  FloatArray y = new_array({x.shape[0], x.shape[1], a.out_height, a.out_width});
  py::array indices = int32_indices ? py::array(new_output_array<std::int32_t>(y.array.shape(), 4))
                                    : py::array(new_output_array<std::int64_t>(y.array.shape(), 4));
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.max_pool2d_forward(a, x.data, y.data, indices.mutable_data());
  }
  return py::make_tuple(y.array, indices);
}

// The indices as C-contiguous int32 (when they are int32) or int64 (any other integer type);
// anything but an integer ndarray raises TypeError.
py::array index_array(py::handle obj, bool* int32_indices, const char* fn) {
  char kind = 0;
  if (py::isinstance<py::array>(obj)) kind = py::reinterpret_borrow<py::array>(obj).dtype().kind();
  if (kind != 'i' && kind != 'u')
    throw py::type_error(std::string(fn) + ": argument 'indices' must be an integer "
                         "numpy.ndarray (int32 or int64)");
  *int32_indices = py::isinstance<py::array_t<std::int32_t>>(obj);
  if (*int32_indices) return c_array<std::int32_t>(obj, fn, "indices");
  return c_array<std::int64_t>(obj, fn, "indices");
}

py::object max_pool2d_backward(py::handle grad_y_obj, py::handle indices_obj, py::tuple input_shape,
                               py::handle relu_output_obj) {
  const char* fn = "max_pool2d_backward";
  FloatArray grad_y = contiguous_input(grad_y_obj, fn, "grad_y", 4);
  FloatArray relu_output;
  if (!relu_output_obj.is_none()) {
    relu_output = contiguous_input(relu_output_obj, fn, "relu_output", 4);
    if (!std::equal(grad_y.shape, grad_y.shape + 4, relu_output.shape))
      throw py::value_error(std::string(fn) + ": argument 'relu_output' must have grad_y's shape " +
                            shape_str(grad_y.shape, 4));
  }
  bool int32_indices;
  py::array indices = index_array(indices_obj, &int32_indices, fn);
  if (indices.ndim() != 4 ||
      !std::equal(grad_y.shape, grad_y.shape + 4, indices.shape()))
    throw py::value_error(std::string(fn) + ": argument 'indices' must have grad_y's shape " +
                          shape_str(grad_y.shape, 4));
  index_t shape[4];
  input_shape_of(input_shape, shape, fn);
  check_input_shape(shape, fn, "input_shape");
  if (shape[0] != grad_y.shape[0] || shape[1] != grad_y.shape[1])
    throw py::value_error(std::string(fn) + ": argument 'input_shape' " + shape_str(shape, 4) +
                          " does not match grad_y shape " + shape_str(grad_y.shape, 4));
  PoolArgs a;
  a.planes = shape[0] * shape[1], a.height = shape[2], a.width = shape[3];
  a.out_height = grad_y.shape[2], a.out_width = grad_y.shape[3];
  a.num_threads = threads_for(static_cast<double>(a.planes * a.height * a.width), kPoolGrainFloats);
  a.int32_indices = int32_indices;
  a.relu_output = relu_output.data;
  FloatArray grad_x = new_array({shape[0], shape[1], shape[2], shape[3]});
  const KernelTable& kernels = active_kernels();
  bool in_range;
  {
    py::gil_scoped_release release;
    in_range = kernels.max_pool2d_backward(a, grad_y.data, indices.data(), grad_x.data);
  }
  if (!in_range)
    throw py::value_error(std::string(fn) + ": argument 'indices' must lie in [0, " +
                          std::to_string(a.height * a.width) + ")");
  return grad_x.array;
}

py::object avg_pool2d_forward(py::handle x_obj, py::tuple geometry, bool count_include_pad,
                              index_t divisor_override) {
  const char* fn = "avg_pool2d_forward";
  FloatArray x = contiguous_input(x_obj, fn, "x", 4);
  PoolArgs a = avg_pool_args(x.shape, "x", geometry, count_include_pad, divisor_override, fn);
  FloatArray y = new_array({x.shape[0], x.shape[1], a.out_height, a.out_width});
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.avg_pool2d_forward(a, x.data, y.data);
  }
  return y.array;
}

py::object avg_pool2d_backward(py::handle grad_y_obj, py::tuple input_shape, py::tuple geometry,
                               bool count_include_pad, index_t divisor_override) {
  const char* fn = "avg_pool2d_backward";
  FloatArray grad_y = contiguous_input(grad_y_obj, fn, "grad_y", 4);
  index_t shape[4];
  input_shape_of(input_shape, shape, fn);
  PoolArgs a =
      avg_pool_args(shape, "input_shape", geometry, count_include_pad, divisor_override, fn);
  check_grad_shape(grad_y, shape, a, fn);
  FloatArray grad_x = new_array({shape[0], shape[1], shape[2], shape[3]});
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.avg_pool2d_backward(a, grad_y.data, grad_x.data);
  }
  return grad_x.array;
}

py::object global_avg_pool2d_forward(py::handle x_obj) {
  FloatArray x = contiguous_input(x_obj, "global_avg_pool2d_forward", "x", 4);
  const index_t planes = x.shape[0] * x.shape[1], size = x.shape[2] * x.shape[3];
  FloatArray y = new_array({x.shape[0], x.shape[1], 1, 1});
  const int nt = threads_for(static_cast<double>(planes * size), kPoolGrainFloats);
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.global_avg_pool2d_forward(planes, size, x.data, y.data, nt);
  }
  return y.array;
}

py::object global_avg_pool2d_backward(py::handle grad_y_obj, py::tuple input_shape) {
  const char* fn = "global_avg_pool2d_backward";
  FloatArray grad_y = contiguous_input(grad_y_obj, fn, "grad_y", 4);
  index_t shape[4];
  input_shape_of(input_shape, shape, fn);
  const index_t expected[4] = {shape[0], shape[1], 1, 1};
  if (!std::equal(expected, expected + 4, grad_y.shape) || shape[2] < 0 || shape[3] < 0)
    throw py::value_error(std::string(fn) + ": argument 'grad_y' must have shape " +
                          shape_str(expected, 4) + " for input_shape " + shape_str(shape, 4) +
                          ", got " + shape_str(grad_y.shape, 4));
  const index_t planes = checked_product(shape[0], shape[1], fn, "input_shape");
  const index_t size = checked_product(shape[2], shape[3], fn, "input_shape");
  checked_product(planes, size, fn, "input_shape");
  FloatArray grad_x = new_array({shape[0], shape[1], shape[2], shape[3]});
  const int nt = threads_for(static_cast<double>(planes * size), kPoolGrainFloats);
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.global_avg_pool2d_backward(planes, size, grad_y.data, grad_x.data, nt);
  }
  return grad_x.array;
}

}  // namespace

void bind_pool(py::module_& kernels) {
  kernels.def("max_pool2d_forward", &max_pool2d_forward, py::arg("x"), py::arg("geometry"),
              py::arg("int32_indices") = false);
  kernels.def("max_pool2d_backward", &max_pool2d_backward, py::arg("grad_y"), py::arg("indices"),
              py::arg("input_shape"), py::arg("relu_output") = py::none());
  kernels.def("avg_pool2d_forward", &avg_pool2d_forward, py::arg("x"), py::arg("geometry"),
              py::arg("count_include_pad"), py::arg("divisor_override"));
  kernels.def("avg_pool2d_backward", &avg_pool2d_backward, py::arg("grad_y"),
              py::arg("input_shape"), py::arg("geometry"), py::arg("count_include_pad"),
              py::arg("divisor_override"));
  kernels.def("global_avg_pool2d_forward", &global_avg_pool2d_forward, py::arg("x"));
  kernels.def("global_avg_pool2d_backward", &global_avg_pool2d_backward, py::arg("grad_y"),
              py::arg("input_shape"));
}

}  // namespace hpnn

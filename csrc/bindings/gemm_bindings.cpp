#include "bindings/array_checks.h"
#include "core/kernel_table.h"
#include "core/parallel.h"

namespace hpnn {
namespace {

// Below about this many flops per thread, waking a second thread costs more than it saves (an
// OpenMP fork/join is a few microseconds). Measured: square 128 (4.2 MFLOP), the first square
// size past the threshold, runs in 13 us on 2 threads against 22 us on one.
constexpr double kGemmGrainFlops = 1.5e6;

py::object gemm(py::handle a_obj, py::handle b_obj, py::handle c_obj, float alpha, float beta,
                bool trans_a, bool trans_b) {
  const char* fn = "gemm";
  FloatArray a = input_array(a_obj, fn, "a", 2), b = input_array(b_obj, fn, "b", 2);
  const index_t m = a.dim(trans_a ? 1 : 0), k = a.dim(trans_a ? 0 : 1);
  const index_t kb = b.dim(trans_b ? 1 : 0), n = b.dim(trans_b ? 0 : 1);
  if (k != kb)
    throw py::value_error("gemm: inner dimensions differ: op(a) has shape " + shape_str({m, k}) +
                          " and op(b) has shape " + shape_str({kb, n}));
  FloatArray c;
  if (c_obj.is_none()) {
    c = new_array({m, n});
    beta = 0.0f;  // no c: the result is alpha * op(a) @ op(b)
  } else {
    c = output_array(c_obj, fn, "c", {m, n});
    check_no_overlap(c, a, fn, "c", "a");
    check_no_overlap(c, b, fn, "c", "b");
  }
  GemmArgs args;
  args.m = m, args.n = n, args.k = k;
  args.a = a.data, args.rs_a = a.strides[trans_a ? 1 : 0], args.cs_a = a.strides[trans_a ? 0 : 1];
  args.b = b.data, args.rs_b = b.strides[trans_b ? 1 : 0], args.cs_b = b.strides[trans_b ? 0 : 1];
  args.c = c.data, args.rs_c = c.strides[0], args.cs_c = c.strides[1];
  args.alpha = alpha, args.beta = beta;
  args.num_threads = threads_for(2.0 * m * n * k, kGemmGrainFlops);
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.sgemm(args, kernels.gemm_blocking);
  }
  return c.array;
}

}  // namespace

void bind_gemm(py::module_& kernels) {
  // Positional only: pybind11's keyword matching costs ~1 us a call; hpnn.kernels.gemm is the
  // keyword-friendly Python wrapper.
  kernels.def("gemm", &gemm, py::arg("a"), py::arg("b"), py::arg("c"), py::arg("alpha"),
              py::arg("beta"), py::arg("trans_a"), py::arg("trans_b"),
              R"doc(alpha * op(a) @ op(b) + beta * c on float32 matrices, op(x) = x.T if trans_x.

Inputs may be any float32 2-D arrays, strided or sliced; other dtypes raise TypeError.
Written into `c` (float32, shape (M, N), writeable, any strides, not overlapping a or b) and
returned when given; a new array otherwise. beta == 0 never reads c.)doc");
}

}  // namespace hpnn

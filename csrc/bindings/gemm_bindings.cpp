#include "bindings/array_checks.h"
#include "core/kernel_table.h"
#include "core/parallel.h"

#include <vector>

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

// An operand of gemm_batched: a float32 array of 2 to kMaxDims dimensions, any strides.
FloatArray batched_operand(py::handle obj, const char* fn, const char* arg) {
  int ndim = 2;  // a non-array gets input_array's TypeError
  if (py::isinstance<py::array>(obj)) {
    ndim = static_cast<int>(py::reinterpret_borrow<py::array>(obj).ndim());
    if (ndim < 2 || ndim > kMaxDims)
      throw py::value_error(std::string(fn) + ": argument '" + arg + "' must have 2 to " +
                            std::to_string(kMaxDims) + " dimensions (..., rows, cols), got " +
                            std::to_string(ndim));
  }
  return input_array(obj, fn, arg, ndim);
}

// The batch dims of a and b broadcast together (numpy's rules, aligned on the right), with
// each operand's element stride per output batch dim (0 where it is broadcast).
struct BatchLayout {
  int ndim = 0;
  index_t shape[kMaxDims] = {}, stride_a[kMaxDims] = {}, stride_b[kMaxDims] = {};
  index_t items = 1;
};

BatchLayout broadcast_batch(const FloatArray& a, const FloatArray& b, const char* fn) {
  BatchLayout out;
  const int da = a.ndim - 2, db = b.ndim - 2;
  out.ndim = da > db ? da : db;
  for (int d = 0; d < out.ndim; ++d) {
    const int ia = d - (out.ndim - da), ib = d - (out.ndim - db);  // < 0: dim absent
    const index_t sa = ia >= 0 ? a.shape[ia] : 1, sb = ib >= 0 ? b.shape[ib] : 1;
    if (sa != sb && sa != 1 && sb != 1)
      throw py::value_error(std::string(fn) + ": batch dimensions of a " +
                            shape_str(a.shape, da) + " and b " + shape_str(b.shape, db) +
                            " cannot be broadcast together");
    out.shape[d] = sa == 1 ? sb : sa;
    out.stride_a[d] = sa == 1 ? 0 : a.strides[ia];
    out.stride_b[d] = sb == 1 ? 0 : b.strides[ib];
    if (__builtin_mul_overflow(out.items, out.shape[d], &out.items))
      throw py::value_error(std::string(fn) + ": the broadcast batch is too large");
  }
  return out;
}

// Offsets (in floats) of every item's matrix, items in C order of the batch.
void item_offsets(const BatchLayout& batch, const FloatArray& c, std::vector<index_t>* a_off,
                  std::vector<index_t>* b_off, std::vector<index_t>* c_off) {
  a_off->resize(batch.items), b_off->resize(batch.items), c_off->resize(batch.items);
  index_t idx[kMaxDims] = {}, oa = 0, ob = 0, oc = 0;
  for (index_t i = 0; i < batch.items; ++i) {
    (*a_off)[i] = oa, (*b_off)[i] = ob, (*c_off)[i] = oc;
    for (int d = batch.ndim - 1; d >= 0; --d) {  // odometer step, last dim fastest
      oa += batch.stride_a[d], ob += batch.stride_b[d], oc += c.strides[d];
      if (++idx[d] < batch.shape[d]) break;
      oa -= batch.shape[d] * batch.stride_a[d], ob -= batch.shape[d] * batch.stride_b[d];
      oc -= batch.shape[d] * c.strides[d];
      idx[d] = 0;
    }
  }
}

py::object gemm_batched(py::handle a_obj, py::handle b_obj, py::handle c_obj, float alpha,
                        float beta, bool trans_a, bool trans_b) {
  const char* fn = "gemm_batched";
  FloatArray a = batched_operand(a_obj, fn, "a"), b = batched_operand(b_obj, fn, "b");
  const int ra = a.ndim - 2, rb = b.ndim - 2;  // the matrix dims
  const index_t m = a.dim(ra + (trans_a ? 1 : 0)), k = a.dim(ra + (trans_a ? 0 : 1));
  const index_t kb = b.dim(rb + (trans_b ? 1 : 0)), n = b.dim(rb + (trans_b ? 0 : 1));
  if (k != kb)
    throw py::value_error("gemm_batched: inner dimensions differ: op(a) has matrices of shape " +
                          shape_str({m, k}) + " and op(b) of shape " + shape_str({kb, n}));
  const BatchLayout batch = broadcast_batch(a, b, fn);
  index_t c_shape[kMaxDims];
  std::copy(batch.shape, batch.shape + batch.ndim, c_shape);
  c_shape[batch.ndim] = m, c_shape[batch.ndim + 1] = n;
  FloatArray c;
  if (c_obj.is_none()) {
    c = new_array(c_shape, batch.ndim + 2);
    beta = 0.0f;  // no c: the result is alpha * op(a) @ op(b)
  } else {
    c = output_array(c_obj, fn, "c", c_shape, batch.ndim + 2);
    check_no_overlap(c, a, fn, "c", "a");
    check_no_overlap(c, b, fn, "c", "b");
    check_no_self_overlap(c, fn, "c");
  }
  std::vector<index_t> a_off, b_off, c_off;
  item_offsets(batch, c, &a_off, &b_off, &c_off);
  GemmBatchArgs args;
  GemmArgs& g = args.gemm;
  g.m = m, g.n = n, g.k = k;
  g.a = a.data, g.rs_a = a.strides[ra + (trans_a ? 1 : 0)], g.cs_a = a.strides[ra + (trans_a ? 0 : 1)];
  g.b = b.data, g.rs_b = b.strides[rb + (trans_b ? 1 : 0)], g.cs_b = b.strides[rb + (trans_b ? 0 : 1)];
  g.c = c.data, g.rs_c = c.strides[batch.ndim], g.cs_c = c.strides[batch.ndim + 1];
  g.alpha = alpha, g.beta = beta;
  // Items too small to feed every thread on their own go whole to one thread each; so do
  // large ones when they split evenly (no fork per item, no packing duplicated across threads).
  const double item_flops = 2.0 * m * n * k;
  const int team = threads_for(item_flops * static_cast<double>(batch.items), kGemmGrainFlops);
  const int per_item = threads_for(item_flops, kGemmGrainFlops);
  args.items_on_threads = team > 1 && batch.items >= team &&
                          (per_item < team || batch.items % team == 0);
  g.num_threads = args.items_on_threads ? team : per_item;
  args.batch = batch.items;
  args.a_offsets = a_off.data(), args.b_offsets = b_off.data(), args.c_offsets = c_off.data();
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.sgemm_batched(args, kernels.gemm_blocking);
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
  kernels.def("gemm_batched", &gemm_batched, py::arg("a"), py::arg("b"), py::arg("c"),
              py::arg("alpha"), py::arg("beta"), py::arg("trans_a"), py::arg("trans_b"),
              R"doc(gemm over the last two dims of a (..., M, K) and b (..., K, N) (before op),
the leading batch dims broadcast as numpy's matmul; c: (batch..., M, N) or None.)doc");
}

}  // namespace hpnn

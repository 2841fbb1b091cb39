// Embedding entry points: a (V, D) float32 table and 1-d int64 or int32 indices (hpnn.kernels
// flattens them). Every index is checked against [0, V) here, before the kernel reads a row.
#include <cstdint>
#include <string>

#include "bindings/array_checks.h"
#include "core/kernel_table.h"
#include "core/parallel.h"

namespace hpnn {
namespace {

// A gather or scatter of rows is memory bound: a thread pays off from about this many floats.
constexpr double kEmbeddingGrainFloats = 32768;

using IndexArray = py::array_t<std::int64_t, kCOrder>;

// The indices as a C-contiguous int64 array (int32 ones copied), each checked to lie in [0, v).
IndexArray checked_indices(py::handle obj, const char* fn, index_t v) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(fn) + ": argument 'indices' must be a numpy.ndarray, got " +
                         std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  const py::dtype dtype = py::reinterpret_borrow<py::array>(obj).dtype();
  if (dtype.kind() != 'i' || (dtype.itemsize() != 8 && dtype.itemsize() != 4))
    throw py::type_error(std::string(fn) + ": argument 'indices' must be int64 or int32, got " +
                         std::string(py::str(dtype)));
  IndexArray indices = c_array<std::int64_t>(obj, fn, "indices");
  if (indices.ndim() != 1)
    throw py::value_error(std::string(fn) + ": argument 'indices' must be 1-d, got " +
                          std::to_string(indices.ndim()) + " dims");
  const std::int64_t* p = indices.data();
  for (py::ssize_t i = 0; i < indices.shape(0); ++i)
    if (p[i] < 0 || p[i] >= v)
      throw py::index_error(std::string(fn) + ": argument 'indices' holds " +
                            std::to_string(p[i]) + " at position " + std::to_string(i) +
                            ", out of range for " + std::to_string(v) + " embeddings");
  return indices;
}

EmbeddingArgs make_args(const IndexArray& indices, index_t v, index_t d) {
  EmbeddingArgs a{indices.data(), static_cast<index_t>(indices.shape(0)), v, d, -1, false, 1};
  a.num_threads = threads_for(static_cast<double>(a.count * d), kEmbeddingGrainFloats);
  return a;
}

py::object forward(py::handle weight_obj, py::handle indices_obj) {
  const char* fn = "embedding_forward";
  FloatArray weight = contiguous_input(weight_obj, fn, "weight", 2);
  IndexArray indices = checked_indices(indices_obj, fn, weight.shape[0]);
  const EmbeddingArgs a = make_args(indices, weight.shape[0], weight.shape[1]);
  FloatArray y = new_array({a.count, a.dim});
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.embedding_forward(a, weight.data, y.data);
  }
  return y.array;
}

py::object backward(py::handle grad_y_obj, py::handle indices_obj, long long num_embeddings,
                    long long padding_idx, bool scale_grad_by_freq) {
  const char* fn = "embedding_backward";
  if (num_embeddings < 0)
    throw py::value_error(std::string(fn) + ": argument 'num_embeddings' must be >= 0, got " +
                          std::to_string(num_embeddings));
  FloatArray grad_y = contiguous_input(grad_y_obj, fn, "grad_y", 2);
  IndexArray indices = checked_indices(indices_obj, fn, num_embeddings);
  if (grad_y.shape[0] != indices.shape(0))
    throw py::value_error(std::string(fn) + ": argument 'grad_y' has " +
                          std::to_string(grad_y.shape[0]) + " rows for " +
                          std::to_string(indices.shape(0)) + " indices");
  if (padding_idx < -1 || padding_idx >= num_embeddings)
    throw py::value_error(std::string(fn) + ": argument 'padding_idx' must be -1 (none) or in "
                          "[0, " + std::to_string(num_embeddings) + "), got " +
                          std::to_string(padding_idx));
  EmbeddingArgs a = make_args(indices, num_embeddings, grad_y.shape[1]);
  a.padding_idx = padding_idx, a.scale_grad_by_freq = scale_grad_by_freq;
  // The zero fill of the whole table is part of the work.
  a.num_threads = threads_for(static_cast<double>((a.count + a.num_embeddings) * a.dim),
                              kEmbeddingGrainFloats);
  FloatArray grad_weight = new_array({a.num_embeddings, a.dim});
  const KernelTable& kernels = active_kernels();
  {
    py::gil_scoped_release release;
    kernels.embedding_backward(a, grad_y.data, grad_weight.data);
  }
  return grad_weight.array;
}

}  // namespace

void bind_embedding(py::module_& kernels) {
  kernels.def("embedding_forward", &forward, py::arg("weight"), py::arg("indices"));
  kernels.def("embedding_backward", &backward, py::arg("grad_y"), py::arg("indices"),
              py::arg("num_embeddings"), py::arg("padding_idx"), py::arg("scale_grad_by_freq"));
}

}  // namespace hpnn

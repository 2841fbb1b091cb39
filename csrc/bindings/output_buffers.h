// Memory for the kernels' output arrays. Every kernel call returns a new array; for large ones a
// fresh malloc is a fresh mmap, and its first touch costs a page fault per 4 KiB page (about 2 ms
// for 51 MB, as long as a copy of the same bytes). Large outputs therefore come from a bounded
// cache of blocks that earlier outputs gave back when numpy released them.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>

namespace hpnn {
namespace py = pybind11;

// Memory for a new output of `bytes`: a cached block that *owner gives back when released, or
// nullptr when the output is small enough for numpy's own allocation.
void* output_block(std::size_t bytes, py::capsule* owner);

// The bytes of an array of this shape, or 0 when they overflow (numpy then raises).
std::size_t array_bytes(const py::ssize_t* shape, int ndim, std::size_t item_bytes);

// A new, uninitialised C-contiguous array of this shape (rank 0 allowed).
template <typename T>
py::array_t<T> new_output_array(const py::ssize_t* shape, int ndim) {
  const py::detail::any_container<py::ssize_t> dims(shape, shape + ndim);
  py::capsule owner;
  void* data = output_block(array_bytes(shape, ndim, sizeof(T)), &owner);
  if (!data) return py::array_t<T>(dims);
  return py::array_t<T>(dims, static_cast<T*>(data), owner);
}

inline py::array new_float32_array(const py::ssize_t* shape, int ndim) {
  return new_output_array<float>(shape, ndim);
}

// What the cache holds now and its limits; for tests and tuning.
struct OutputCacheInfo {
  std::size_t cached_bytes, cached_blocks, limit_bytes, blocks_per_size, min_bytes;
};
OutputCacheInfo output_cache_info();

// Sets the cap on the bytes held idle (0 disables caching), frees what no longer fits, and
// returns the previous cap.
std::size_t set_output_cache_limit(std::size_t bytes);

// Registers _C._output_cache_info(), _C._set_output_cache_limit(bytes) and
// _C._set_stream_min_bytes(bytes) (core/streaming.h: how large outputs are written).
void bind_output_cache(py::module_& m);

}  // namespace hpnn

// Window geometry, plane loops and output staging shared by the per-ISA pooling sources
// (max_pool_isa.cpp, avg_pool_isa.cpp). Include only from per-ISA sources (see core/isa.h).
#pragma once
#include "core/kernel_table.h"
#include "core/simd.h"
#include "kernels/common/stream_store.h"
#include "kernels/common/vec_ops.h"

namespace hpnn {
namespace HPNN_ISA_NS {

// Max pooling (max_pool_isa.cpp); avg_pool_isa.cpp registers them with the rest.
void max_pool2d_forward(const PoolArgs& a, const float* x, float* y, void* indices);
bool max_pool2d_backward(const PoolArgs& a, const float* grad_y, const void* indices,
                         float* grad_x);

namespace {

// The taps of one window along one axis that fall inside the input: tap t reads input
// position first + t * dilation for t in [begin, end).
struct Taps {
  index_t first, begin, end;
};

inline Taps axis_taps(index_t out, index_t stride, index_t pad, index_t dilation, index_t kernel,
               index_t size) {
  Taps taps;
  taps.first = out * stride - pad;
  taps.begin = 0, taps.end = kernel;
  if (taps.first >= 0 && taps.first + (kernel - 1) * dilation < size) return taps;  // interior
  taps.begin = taps.first < 0 ? ceil_div(-taps.first, dilation) : 0;
  const index_t last = size - 1 - taps.first;  // largest in-bounds offset from `first`
  taps.end = last < 0 ? 0 : imin(kernel, last / dilation + 1);
  if (taps.end < taps.begin) taps.end = taps.begin;
  return taps;
}

// Calls visit(ow, row_taps, col_taps) for the outputs ow0 <= ow < OW of output row oh.
template <class Visit>
void for_each_window(const PoolArgs& a, index_t oh, index_t ow0, Visit&& visit) {
  const Taps rows = axis_taps(oh, a.stride_h, a.pad_h, a.dilation_h, a.kernel_h, a.height);
  for (index_t ow = ow0; ow < a.out_width; ++ow)
    visit(ow, rows, axis_taps(ow, a.stride_w, a.pad_w, a.dilation_w, a.kernel_w, a.width));
}

// Runs plane_fn(p) for every plane, in parallel when asked; each thread then orders its
// streamed stores. Dynamic schedule: a thread the OS pauses does not hold the others up. About
// 16 chunks per thread: many small planes one or four at a time spent more time taking work
// than doing it (a (64, 64, 11, 11) batch ran slower on 2 threads than on 1).
template <class PlaneFn>
void for_each_plane(index_t planes, int num_threads, PlaneFn&& plane_fn) {
  if (num_threads <= 1) {
    for (index_t p = 0; p < planes; ++p) plane_fn(p);
    stream_fence();
    return;
  }
  const index_t chunk = imax(1, planes / (16 * num_threads));
#pragma omp parallel num_threads(num_threads)
  {
#pragma omp for schedule(dynamic, chunk)
    for (index_t p = 0; p < planes; ++p) plane_fn(p);
    stream_fence();
  }
}

inline bool is_2x2_stride2(const PoolArgs& a) {
  return a.kernel_h == 2 && a.kernel_w == 2 && a.stride_h == 2 && a.stride_w == 2 &&
         a.pad_h == 0 && a.pad_w == 0 && a.dilation_h == 1 && a.dilation_w == 1;
}

// Output columns of row oh whose 2x2 windows lie wholly inside the input (0 unless 2x2/s2).
inline index_t whole_2x2_columns(const PoolArgs& a, index_t oh) {
  if (!is_2x2_stride2(a) || 2 * oh + 1 >= a.height) return 0;
  return imin(a.out_width, a.width / 2);
}

// Vector starts covering [0, columns) with full vectors, the last one overlapping.
template <class Fn>
void for_each_vector(index_t columns, Fn&& fn) {
  for (index_t ow = 0; ow + kLanes <= columns; ow += kLanes) fn(ow);
  if (columns % kLanes) fn(columns - kLanes);
}

// Rows narrower than a vector (e.g. 26 -> 13 columns on AVX-512) take one vector step, of which
// the first `columns` outputs are kept. The step reads 2 * kLanes floats of both input rows of
// output row oh: in place, running on into the next row harmlessly, unless that passes the
// array's end (`readable_end`); then from a zero-padded copy of the two rows, seen as a plane
// of width kNarrowWidth.
constexpr index_t kNarrowWidth = 2 * kLanes;

struct NarrowRows {
  PoolArgs args;  // the plane the step reads: the real one or the padded copy
  const float* x;
  index_t oh;
  bool copied;
};

inline NarrowRows narrow_rows(const PoolArgs& a, const float* x, const float* readable_end, index_t oh,
                       index_t columns, float (&padded)[2 * kNarrowWidth]) {
  const float* top = x + 2 * oh * a.width;
  if (top + a.width + kNarrowWidth <= readable_end) return {a, x, oh, false};
  for (float& v : padded) v = 0.0f;
  for (index_t t = 0; t < 2 * columns; ++t)
    padded[t] = top[t], padded[kNarrowWidth + t] = top[a.width + t];
  NarrowRows rows{a, padded, 0, true};
  rows.args.width = kNarrowWidth;
  return rows;
}

// ---- staging of streamed outputs --------------------------------------------------------------
//
// Output rows rarely start on a cache line, and streaming stores pay only for whole lines. So a
// streamed plane's outputs are computed some rows at a time into a buffer on the stack, which
// stays in cache, and streamed from there to their place as one contiguous span.
constexpr index_t kStageFloats = 8192;  // 32 KB

// Rows of `row_elements` per staged chunk of at most `capacity` elements, or 0 (store in place)
// when not streaming or a row does not fit.
inline index_t staged_rows(bool stream, index_t row_elements, index_t capacity) {
  return stream && row_elements > 0 ? capacity / row_elements : 0;
}

// Calls fn(r0, r1) over [0, rows) in chunks of chunk_rows rows, or once when chunk_rows is 0.
template <class Fn>
void for_each_chunk(index_t rows, index_t chunk_rows, Fn&& fn) {
  if (chunk_rows == 0) return fn(index_t{0}, rows);
  for (index_t r0 = 0; r0 < rows; r0 += chunk_rows) fn(r0, imin(rows, r0 + chunk_rows));
}

}  // namespace
}  // namespace HPNN_ISA_NS
}  // namespace hpnn

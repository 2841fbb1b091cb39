// Helpers shared by the per-ISA convolution sources (conv_isa.cpp: the general paths and the
// dispatch; conv_grid_isa.cpp: stride-1 convolutions on a zero-padded grid). Everything is in
// an anonymous namespace: each including file gets its own copy for its ISA.
#pragma once
#include "kernels/gemm/gemm_dot.h"
#include "core/parallel.h"
#include "kernels/gemm/gemm_driver.h"

namespace hpnn {
namespace HPNN_ISA_NS {

// Stride-1 convolutions on a zero-padded copy of the images (padded_grid.h): direct loops for
// few taps, a first layer's (conv_direct_isa.cpp), and the GEMM on the padded grid
// (conv_grid_isa.cpp).
bool direct_suits(const ConvShape& s);
void direct_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                    bool relu, float* y, int nt);
void direct_weight_grad(const ConvShape& s, const float* grad_y, const float* x, float* grad_w,
                        bool with_bias, int nt);
void direct_relu_max_pool2x2(const ConvShape& s, const float* x, const float* weight,
                             const float* bias, float* y, std::int32_t* indices, int nt);
// direct_weight_grad (with the bias gradient) with dy unpooled from a following 2x2 stride-2
// max pool's gradient, as winograd_relu_max_pool2x2_backward; false when an index lies outside
// its window.
bool direct_relu_max_pool2x2_weight_grad(const ConvShape& s, const float* grad,
                                         const std::int32_t* indices, const float* relu_output,
                                         const float* x, float* grad_params, int nt);
void grid_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                  bool relu, float* y, int nt);
void grid_weight_grad(const ConvShape& s, const float* grad_y, const float* x, float* grad_w,
                      bool with_bias, int nt);
// Winograd F(2x2, 3x3) (conv_winograd_isa.cpp), for the stride-1 3x3 convolutions it suits.
bool winograd_suits(const ConvShape& s);
void winograd_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                      bool relu, float* y, int nt);
void winograd_relu_max_pool2x2(const ConvShape& s, const float* x, const float* weight,
                               const float* bias, float* y, std::int32_t* indices, int nt);
void winograd_weight_grad(const ConvShape& s, const float* grad_y, const float* x, float* grad_w,
                          bool with_bias, int nt);
bool winograd_input_grad_suits(const ConvShape& s);
void winograd_input_grad(const ConvShape& s, const float* grad_y, const float* weight,
                         float* grad_x, int nt);
void winograd_backward(const ConvShape& s, const float* grad_y, const float* x,
                       const float* weight, float* grad_x, float* grad_params, int nt);
// winograd_backward with dy unpooled from a following 2x2 stride-2 max pool's gradient (grad,
// int32 indices, the pooled relu'd output; see PooledGrad); false (outputs unfinished) when
// an index lies outside its window.
bool winograd_relu_max_pool2x2_backward(const ConvShape& s, const float* grad,
                                        const std::int32_t* indices, const float* relu_output,
                                        const float* x, const float* weight, float* grad_x,
                                        float* grad_params, int nt);

namespace {

index_t taps_of(const ConvShape& s) { return s.c / s.groups * s.kh * s.kw; }

void fill(float* dst, index_t count, float value) {
  for (index_t i = 0; i < count; ++i) dst[i] = value;
}

// sums[r] += the sum of rows[r * stride, r * stride + length) for r < count (a bias gradient's
// share of a block of dy's channel rows, read while they are in cache).
void add_row_sums(const float* rows, index_t count, index_t length, index_t stride, float* sums) {
  for (index_t r = 0; r < count; ++r, rows += stride) {
    vfloat acc[2] = {};
    index_t i = 0;
    for (; i + 2 * kLanes <= length; i += 2 * kLanes)
      acc[0] += vload(rows + i), acc[1] += vload(rows + i + kLanes);
    float sum = horizontal_sum(acc[0] + acc[1]);
    for (; i < length; ++i) sum += rows[i];
    sums[r] += sum;
  }
}

// dst[t] = row[ix0 + t * step] for t < count; 0 where ix0 + t * step leaves [0, width).
void gather_row(float* dst, const float* row, index_t ix0, index_t step, index_t count,
                index_t width) {
  if (step != 1) {
    for (index_t t = 0; t < count; ++t) {
      const index_t ix = ix0 + t * step;
      dst[t] = ix >= 0 && ix < width ? row[ix] : 0.0f;
    }
    return;
  }
  const index_t first = imin(count, imax(0, -ix0)), end = imax(first, imin(count, width - ix0));
  fill(dst, first, 0.0f);
  for (index_t t = first; t < end; ++t) dst[t] = row[ix0 + t];
  fill(dst + end, count - end, 0.0f);
}

// One tap: input channel c and kernel offset (i, j) of row p of the im2col matrix.
struct Tap {
  index_t c, i, j;
  void next(const ConvShape& s) {
    if (++j < s.kw) return;
    j = 0;
    if (++i < s.kh) return;
    i = 0, ++c;
  }
};

Tap tap_of(const ConvShape& s, index_t p) {
  return {p / (s.kh * s.kw), p / s.kw % s.kh, p % s.kw};
}

// Row-major matrix views for GemmArgs.
GemmArgs product(index_t m, index_t n, index_t k, const float* a, index_t rs_a, index_t cs_a,
                 const float* b, index_t rs_b, index_t cs_b, float* c, float beta, int nt) {
  GemmArgs g;
  g.m = m, g.n = n, g.k = k;
  g.a = a, g.rs_a = rs_a, g.cs_a = cs_a;
  g.b = b, g.rs_b = rs_b, g.cs_b = cs_b;
  g.c = c, g.rs_c = n, g.cs_c = 1;
  g.alpha = 1.0f, g.beta = beta, g.num_threads = nt;
  return g;
}

// Runs work(first, count, threads_inside) over `items` split into chunks of `chunk`: chunks
// across threads when there are enough of them, else one chunk at a time with the threads
// inside its GEMMs.
template <class Work>
void for_each_chunk(index_t items, index_t chunk, int nt, const Work& work) {
  const index_t chunks = ceil_div(items, chunk);
  if (nt > 1 && chunks >= nt) {
#pragma omp parallel for num_threads(nt) schedule(dynamic)
    for (index_t i = 0; i < chunks; ++i) work(i * chunk, imin(chunk, items - i * chunk), 1);
    return;
  }
  for (index_t i = 0; i < chunks; ++i) work(i * chunk, imin(chunk, items - i * chunk), nt);
}

// grad[i] += partials[p * size + i] for p < parts, in order of p (threads split i).
void add_partials(const float* partials, index_t parts, index_t size, int nt, float* grad) {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && parts * size >= 65536)
  for (index_t begin = 0; begin < size; begin += 1024)
    for (index_t p = 0; p < parts; ++p)
      for (index_t i = begin; i < imin(size, begin + 1024); ++i) grad[i] += partials[p * size + i];
}

// sum_over_items in deterministic mode: chunk 0 sums straight into grad, chunks 1.. into
// partials; chunks across threads when there are enough of them, else in turn with the
// threads inside (work's result must not depend on threads_inside, as the GEMM's does not).
template <class Work>
void sum_over_chunks(index_t items, index_t unit, index_t size, int nt, float* grad,
                     const Work& work) {
  const index_t units = ceil_div(items, unit);
  const index_t parts = reduction_parts(static_cast<double>(units), static_cast<double>(size));
  const index_t chunk = ceil_div(units, imax(1, parts)) * unit;
  const index_t chunks = ceil_div(items, chunk);
  float* partials = chunks > 1 ? thread_scratch(kScratchConvWork, static_cast<std::size_t>(
      (chunks - 1) * size)) : nullptr;
  const auto sum_chunk = [&](index_t q, int inner) {
    float* out = q == 0 ? grad : partials + (q - 1) * size;
    fill(out, size, 0.0f);
    for (index_t i = q * chunk; i < imin(items, (q + 1) * chunk); ++i) work(i, out, inner);
  };
  if (nt > 1 && chunks >= nt) {
#pragma omp parallel for num_threads(nt) schedule(dynamic)
    for (index_t q = 0; q < chunks; ++q) sum_chunk(q, 1);
  } else {
    for (index_t q = 0; q < chunks; ++q) sum_chunk(q, nt);
  }
  if (chunks == 0) fill(grad, size, 0.0f);
  if (chunks > 1) add_partials(partials, chunks - 1, size, nt, grad);
}

// grad (size floats) = the sum of work(item, out, threads_inside) over `items`, each adding
// its contribution into `out`. Deterministic mode (core/parallel.h): the items are cut into
// reduction_parts chunks of whole `unit`s (an image's items, whose outputs are disjoint),
// fixed by the problem alone; each chunk is summed in item order into a partial of its own by
// whichever thread takes it, and the partials are added in chunk order. Otherwise each thread
// sums the items it takes into a partial of its own.
template <class Work>
void sum_over_items(index_t items, index_t size, int nt, float* grad, const Work& work,
                    index_t unit = 1) {
  if (deterministic_algorithms()) return sum_over_chunks(items, unit, size, nt, grad, work);
  fill(grad, size, 0.0f);
  if (nt <= 1 || items < nt) {
    for (index_t i = 0; i < items; ++i) work(i, grad, nt);
    return;
  }
  float* partials = thread_scratch(kScratchConvWork, static_cast<std::size_t>(nt * size));
#pragma omp parallel num_threads(nt)
  {
    float* mine = partials + thread_id() * size;
    fill(mine, size, 0.0f);
#pragma omp for schedule(dynamic)
    for (index_t i = 0; i < items; ++i) work(i, mine, 1);
  }
  add_partials(partials, nt, size, nt, grad);
}

}  // namespace
}  // namespace HPNN_ISA_NS
}  // namespace hpnn

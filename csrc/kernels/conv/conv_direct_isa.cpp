// Direct stride-1 convolutions for few taps, compiled once per ISA.
//
// A first layer (1-3 input channels) has a GEMM depth of a few taps: too short to pay for its
// tile writes and the grid's copies. These paths compute output rows in vectors straight from
// the padded image: a register block of filters over vectors of columns, one FMA per tap. Rows
// of their grid are wide enough that whole vectors past the output's width still read the same
// padded row (zeros, or columns no output uses).
#include "kernels/common/vec_ops.h"
#include "kernels/conv/padded_grid.h"
#include "kernels/conv/pooled_grad.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

constexpr index_t kMaxDirectTaps = 27;  // 3 channels of 3 x 3
constexpr int kForwardFilters = kLanes >= 16 ? 8 : 4;  // forward register block: filters x 2 vectors
// Weight gradient register block: filters x taps accumulators, plus per filter a vector of dy
// and its running sum (the bias gradient), and one of x (21 of AVX-512's 32 registers, 11 of
// AVX2's 16).
constexpr int kGradFilters = kLanes >= 16 ? 4 : 2;
constexpr int kGradTaps = 3;

PaddedGrid direct_grid(const ConvShape& s) {
  const index_t span = 2 * kLanes;
  const index_t wp = imax(s.w + 2 * s.pad_w,
                          ceil_div(s.ow, span) * span + (s.kw - 1) * s.dilation_w);
  const index_t plane = (s.h + 2 * s.pad_h + 1) * wp;
  return {wp, plane, s.oh * wp, s.c * plane};
}

void store_columns(float* dst, vfloat lo, vfloat hi, index_t columns, bool with_relu) {
  if (with_relu) lo = relu(lo), hi = relu(hi);
  if (columns >= 2 * kLanes) return vstore(dst, lo), vstore(dst + kLanes, hi);
  if (columns <= kLanes) return vstore_first(dst, lo, static_cast<int>(columns));
  vstore(dst, lo);
  vstore_first(dst + kLanes, hi, static_cast<int>(columns - kLanes));
}

// offsets[t] for the taps, then 0 up to the next whole kGradTaps.
void tap_offsets(const ConvShape& s, const PaddedGrid& grid, index_t* offsets) {
  Tap tap = tap_of(s, 0);
  for (index_t t = 0; t < taps_of(s); ++t, tap.next(s)) offsets[t] = tap_offset(s, grid, tap);
  for (index_t t = taps_of(s); t < ceil_div(taps_of(s), kGradTaps) * kGradTaps; ++t) offsets[t] = 0;
}

// The weights as blocks of `block` filters, tap-major within a block (a block's broadcasts for
// one tap are adjacent), zero past the last filter.
void pack_filter_blocks(const ConvShape& s, const float* weight, int block, float* packed) {
  const index_t taps = taps_of(s);
  for (index_t k0 = 0; k0 < s.k; k0 += block)
    for (index_t t = 0; t < taps; ++t)
      for (int f = 0; f < block; ++f)
        *packed++ = k0 + f < s.k ? weight[(k0 + f) * taps + t] : 0.0f;
}

float* packed_filter_blocks(const ConvShape& s, const float* weight, int block) {
  float* packed = thread_scratch(kScratchConvFilters, static_cast<std::size_t>(
      ceil_div(s.k, block) * block * taps_of(s)));
  pack_filter_blocks(s, weight, block, packed);
  return packed;
}

// Filters [k_begin, k_end) of one image (k_begin a multiple of kForwardFilters).
void direct_forward_image(const ConvShape& s, const PaddedGrid& grid, const index_t* offsets,
                          const float* packed, const float* bias, bool relu, const float* padded,
                          index_t k_begin, index_t k_end, float* y) {
  const index_t taps = taps_of(s);
  packed += k_begin * taps;
  for (index_t k0 = k_begin; k0 < k_end; k0 += kForwardFilters, packed += taps * kForwardFilters) {
    const int filters = static_cast<int>(imin(kForwardFilters, k_end - k0));
    for (index_t oy = 0; oy < s.oh; ++oy)
      for (index_t ox = 0; ox < s.ow; ox += 2 * kLanes) {
        const float* src = padded + oy * grid.wp + ox;
        vfloat lo[kForwardFilters], hi[kForwardFilters];
#pragma GCC unroll 8
        for (int f = 0; f < kForwardFilters; ++f)
          lo[f] = hi[f] = vbroadcast(bias && f < filters ? bias[k0 + f] : 0.0f);
        for (index_t t = 0; t < taps; ++t) {
          const vfloat x0 = vload(src + offsets[t]), x1 = vload(src + offsets[t] + kLanes);
          const float* w = packed + t * kForwardFilters;
#pragma GCC unroll 8
          for (int f = 0; f < kForwardFilters; ++f)
            lo[f] += vbroadcast(w[f]) * x0, hi[f] += vbroadcast(w[f]) * x1;
        }
#pragma GCC unroll 8
        for (int f = 0; f < kForwardFilters; ++f)  // constant indices: lo and hi stay in registers
          if (f < filters)
            store_columns(y + ((k0 + f) * s.oh + oy) * s.ow + ox, lo[f], hi[f], s.ow - ox, relu);
      }
  }
}

// max_pool2d(relu(conv)), 2x2 windows with stride 2 (floor), of filters [k_begin, k_end) of one
// image: conv rows 2py and 2py + 1 of a register block of kPoolFilters filters over 2 vectors of
// columns, relu'd and pooled in registers (window_max_2x2: the pool kernel's order and NaN
// rule); only the pooled values and their int32 positions in the conv plane are stored.
constexpr int kPoolFilters = kLanes >= 16 ? 4 : 2;  // x 2 rows x 2 vectors of accumulators

void direct_pooled_image(const ConvShape& s, const PaddedGrid& grid, const index_t* offsets,
                         const float* packed, const float* bias, const float* padded,
                         index_t k_begin, index_t k_end, float* y, std::int32_t* indices) {
  const index_t taps = taps_of(s), ph = s.oh / 2, pw = s.ow / 2;
  packed += k_begin * taps;
  for (index_t k0 = k_begin; k0 < k_end; k0 += kPoolFilters, packed += taps * kPoolFilters) {
    const int filters = static_cast<int>(imin(kPoolFilters, k_end - k0));
    for (index_t py = 0; py < ph; ++py)
      for (index_t ox = 0; ox < 2 * pw; ox += 2 * kLanes) {
        const float* src = padded + 2 * py * grid.wp + ox;
        vfloat acc[kPoolFilters][2][2];  // filter, row, vector
#pragma GCC unroll 4
        for (int f = 0; f < kPoolFilters; ++f) {
          const vfloat b = vbroadcast(bias && f < filters ? bias[k0 + f] : 0.0f);
          acc[f][0][0] = acc[f][0][1] = acc[f][1][0] = acc[f][1][1] = b;
        }
        for (index_t t = 0; t < taps; ++t) {
          const float* top = src + offsets[t];
          const vfloat x00 = vload(top), x01 = vload(top + kLanes);
          const vfloat x10 = vload(top + grid.wp), x11 = vload(top + grid.wp + kLanes);
          const float* w = packed + t * kPoolFilters;
#pragma GCC unroll 4
          for (int f = 0; f < kPoolFilters; ++f) {
            const vfloat wf = vbroadcast(w[f]);
            acc[f][0][0] += wf * x00, acc[f][0][1] += wf * x01;
            acc[f][1][0] += wf * x10, acc[f][1][1] += wf * x11;
          }
        }
        const int columns = static_cast<int>(imin(kLanes, pw - ox / 2));
#pragma GCC unroll 4
        for (int f = 0; f < kPoolFilters; ++f) {  // constant indices: acc stays in registers
          if (f >= filters) continue;
          vfloat best;
          vint at;
          window_max_2x2(relu(acc[f][0][0]), relu(acc[f][0][1]), relu(acc[f][1][0]),
                         relu(acc[f][1][1]), s.ow, 2 * py * s.ow + ox, best, at);
          const index_t out = ((k0 + f) * ph + py) * pw + ox / 2;
          vstore_first(y + out, best, columns);
          vstore_first(indices + out, at, columns);
        }
      }
  }
}

// sums[f][t] = one image's dy rows of filter f (dy_rows[f], oh rows of ow) correlated with its
// padded x under tap t (src + offsets[t]); with kDySums also dy_sums[f], their plain sums (the
// bias gradient, while dy is in registers). Every load is masked to the row's columns, so lanes
// past the output's width are zero on both sides (an infinite x there cannot turn a sum into
// NaN).
template <bool kDySums>
void correlate_block(const ConvShape& s, const PaddedGrid& grid, const float* const* dy_rows,
                     const float* src, const index_t* offsets,
                     float (&sums)[kGradFilters][kGradTaps], float (&dy_sums)[kGradFilters]) {
  vfloat acc[kGradFilters][kGradTaps], dy_acc[kGradFilters];
#pragma GCC unroll 4
  for (int f = 0; f < kGradFilters; ++f) {
    dy_acc[f] = vfloat{};
#pragma GCC unroll 3
    for (int t = 0; t < kGradTaps; ++t) acc[f][t] = vfloat{};
  }
  for (index_t oy = 0; oy < s.oh; ++oy, src += grid.wp)
    for (index_t ox = 0; ox < s.ow; ox += kLanes) {
      const int columns = static_cast<int>(imin(kLanes, s.ow - ox));
      vfloat g[kGradFilters];
#pragma GCC unroll 4
      for (int f = 0; f < kGradFilters; ++f) {
        g[f] = vload_first(dy_rows[f] + oy * s.ow + ox, columns);
        if (kDySums) dy_acc[f] += g[f];
      }
#pragma GCC unroll 3
      for (int t = 0; t < kGradTaps; ++t) {
        const vfloat xv = vload_first(src + offsets[t] + ox, columns);
#pragma GCC unroll 4
        for (int f = 0; f < kGradFilters; ++f) acc[f][t] += g[f] * xv;
      }
    }
#pragma GCC unroll 4
  for (int f = 0; f < kGradFilters; ++f) {
    dy_sums[f] = horizontal_sum(dy_acc[f]);
#pragma GCC unroll 3
    for (int t = 0; t < kGradTaps; ++t) sums[f][t] = horizontal_sum(acc[f][t]);
  }
}

// The dy planes of image n's filters [k0, k0 + kGradFilters) (the last filter again past K):
// dy's own, or with `pool`, unpooled into `planes` (one row of slack each: the last pair of an
// odd height runs one row past).
void filter_planes(const ConvShape& s, const float* dy, const PooledGrad* pool, index_t n,
                   index_t k0, float* planes, const float* (&dy_rows)[kGradFilters]) {
  const index_t pixels = s.oh * s.ow;
  for (int f = 0; f < kGradFilters; ++f) {
    const index_t plane = n * s.k + imin(k0 + f, s.k - 1);
    if (!pool) {
      dy_rows[f] = dy + plane * pixels;
      continue;
    }
    float* rows = planes + f * (pixels + s.ow);
    vint stray = vint{};
    for (index_t py = 0; 2 * py < s.oh; ++py)
      unpool_row_pair(*pool, plane, py, s.oh, s.ow, s.ow, rows + 2 * py * s.ow,
                      rows + (2 * py + 1) * s.ow, stray);
    report_stray(*pool, stray);
    dy_rows[f] = rows;
  }
}

// grad_w (k x taps) += image n's dy (k x oh x ow; dy, or unpooled from `pool`) correlated with
// its padded x, and with_bias dy's channel sums into the k floats after it. A block's filters
// past the last read the last filter's dy again, its taps past the last offset 0; their sums
// are dropped.
void direct_weight_grad_image(const ConvShape& s, const PaddedGrid& grid, const index_t* offsets,
                              const float* dy, const PooledGrad* pool, index_t n,
                              const float* padded, index_t k_begin, index_t k_end,
                              float* grad_w, bool with_bias) {
  const index_t taps = taps_of(s);
  float* planes = pool ? thread_scratch(kScratchConvGrid, static_cast<std::size_t>(
                             kGradFilters * (s.oh + 1) * s.ow))
                       : nullptr;
  for (index_t k0 = k_begin; k0 < k_end; k0 += kGradFilters) {
    const index_t filters = imin(kGradFilters, k_end - k0);
    const float* dy_rows[kGradFilters];
    filter_planes(s, dy, pool, n, k0, planes, dy_rows);
    for (index_t t0 = 0; t0 < taps; t0 += kGradTaps) {
      float sums[kGradFilters][kGradTaps], dy_sums[kGradFilters];
      if (with_bias && t0 == 0)
        correlate_block<true>(s, grid, dy_rows, padded, offsets + t0, sums, dy_sums);
      else
        correlate_block<false>(s, grid, dy_rows, padded, offsets + t0, sums, dy_sums);
      for (index_t f = 0; f < filters; ++f)
        for (index_t t = 0; t < imin(kGradTaps, taps - t0); ++t)
          grad_w[(k0 + f) * taps + t0 + t] += sums[f][t];
      if (with_bias && t0 == 0)
        for (index_t f = 0; f < filters; ++f) grad_w[s.k * taps + k0 + f] += dy_sums[f];
    }
  }
}

// What the direct paths share: the wide grid, the taps' offsets in it, and the work items --
// whole images, or with fewer images than threads, each image's filters in parts (whole
// register blocks of `block` filters), so that a batch of one still uses every thread.
struct DirectPlan {
  PaddedGrid grid;
  index_t offsets[kMaxDirectTaps + kGradTaps];  // room for the zero offsets past the taps
  index_t parts, part_filters;

  DirectPlan(const ConvShape& s, index_t block, int nt) : grid(direct_grid(s)) {
    tap_offsets(s, grid, offsets);
    const index_t blocks = ceil_div(s.k, block);
    parts = s.n >= nt ? 1 : imin(blocks, ceil_div(nt, s.n));
    part_filters = ceil_div(blocks, parts) * block;
  }
  index_t items(const ConvShape& s) const { return s.n * parts; }
  // Pads item i's image into this thread's scratch and calls fn(n, k_begin, k_end, padded).
  template <class Fn>
  void run(const ConvShape& s, const float* x, index_t i, const Fn& fn) const {
    const index_t n = i / parts, k_begin = i % parts * part_filters;
    float* padded = thread_scratch(kScratchConvColumns, static_cast<std::size_t>(grid.image));
    pad_images(s, grid, x, n, 1, 0, padded);
    fn(n, k_begin, imin(s.k, k_begin + part_filters), padded);
  }
};

void run_weight_grad(const ConvShape& s, const float* grad_y, const PooledGrad* pool,
                     const float* x, float* grad_w, bool with_bias, int nt) {
  const DirectPlan plan(s, kGradFilters, nt);
  const index_t size = s.k * taps_of(s) + (with_bias ? s.k : 0);
  sum_over_items(plan.items(s), size, nt, grad_w, [&](index_t i, float* out, int) {
    plan.run(s, x, i, [&](index_t n, index_t k_begin, index_t k_end, const float* padded) {
      direct_weight_grad_image(s, plan.grid, plan.offsets, grad_y, pool, n, padded, k_begin,
                               k_end, out, with_bias);
    });
  }, plan.parts);  // an image's parts (filter ranges) in one chunk: fixed chunks of images
}

}  // namespace

bool direct_suits(const ConvShape& s) {
  return s.stride_h == 1 && s.stride_w == 1 && s.groups == 1 && taps_of(s) <= kMaxDirectTaps &&
         s.ow >= kLanes;
}

void direct_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                    bool relu, float* y, int nt) {
  const DirectPlan plan(s, kForwardFilters, nt);
  const float* packed = packed_filter_blocks(s, weight, kForwardFilters);
  for_each_chunk(plan.items(s), 1, nt, [&](index_t i, index_t, int) {
    plan.run(s, x, i, [&](index_t n, index_t k_begin, index_t k_end, const float* padded) {
      direct_forward_image(s, plan.grid, plan.offsets, packed, bias, relu, padded, k_begin,
                           k_end, y + n * s.k * s.oh * s.ow);
    });
  });
}

void direct_relu_max_pool2x2(const ConvShape& s, const float* x, const float* weight,
                             const float* bias, float* y, std::int32_t* indices, int nt) {
  const DirectPlan plan(s, kPoolFilters, nt);
  const float* packed = packed_filter_blocks(s, weight, kPoolFilters);
  const index_t pooled = (s.oh / 2) * (s.ow / 2);
  for_each_chunk(plan.items(s), 1, nt, [&](index_t i, index_t, int) {
    plan.run(s, x, i, [&](index_t n, index_t k_begin, index_t k_end, const float* padded) {
      direct_pooled_image(s, plan.grid, plan.offsets, packed, bias, padded, k_begin, k_end,
                          y + n * s.k * pooled, indices + n * s.k * pooled);
    });
  });
}

void direct_weight_grad(const ConvShape& s, const float* grad_y, const float* x, float* grad_w,
                        bool with_bias, int nt) {
  run_weight_grad(s, grad_y, nullptr, x, grad_w, with_bias, nt);
}

bool direct_relu_max_pool2x2_weight_grad(const ConvShape& s, const float* grad,
                                         const std::int32_t* indices, const float* relu_output,
                                         const float* x, float* grad_params, int nt) {
  int stray = 0;
  const PooledGrad pool{grad, indices, relu_output, &stray};
  run_weight_grad(s, nullptr, &pool, x, grad_params, true, nt);
  return !stray;
}

}  // namespace HPNN_ISA_NS
}  // namespace hpnn

// 2-d max / average / global-average pooling over contiguous H x W planes, compiled per ISA.
//
// Every kernel walks the planes in parallel and each output row through one window iterator
// (for_each_window) that clips the window to the input. The common kernel = stride = 2 case
// without padding or dilation takes a vector fast path for the columns it covers (pairs of
// input columns deinterleaved into even/odd lanes); the iterator finishes the rest of the row.
#include "core/kernel_table.h"
#include "core/simd.h"
#include "kernels/common/vec_ops.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

constexpr float kNegInf = -__builtin_inff();

// The taps of one window along one axis that fall inside the input: tap t reads input
// position first + t * dilation for t in [begin, end).
struct Taps {
  index_t first, begin, end;
};

Taps axis_taps(index_t out, index_t stride, index_t pad, index_t dilation, index_t kernel,
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

// Runs plane_fn(p) for every plane, in parallel when asked.
template <class PlaneFn>
void for_each_plane(index_t planes, int num_threads, PlaneFn&& plane_fn) {
  if (num_threads <= 1) {
    for (index_t p = 0; p < planes; ++p) plane_fn(p);
    return;
  }
#pragma omp parallel for num_threads(num_threads) schedule(static)
  for (index_t p = 0; p < planes; ++p) plane_fn(p);
}

bool is_2x2_stride2(const PoolArgs& a) {
  return a.kernel_h == 2 && a.kernel_w == 2 && a.stride_h == 2 && a.stride_w == 2 &&
         a.pad_h == 0 && a.pad_w == 0 && a.dilation_h == 1 && a.dilation_w == 1;
}

// Output columns of row oh whose 2x2 windows lie wholly inside the input (0 unless 2x2/s2).
index_t whole_2x2_columns(const PoolArgs& a, index_t oh) {
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

NarrowRows narrow_rows(const PoolArgs& a, const float* x, const float* readable_end, index_t oh,
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

// ---- max pooling ---------------------------------------------------------------------------

// PyTorch's CPU rule, in window order: a value replaces the best so far if it is greater or
// NaN, so ties keep the first maximum and NaNs the last NaN.
// take_if_better for one value, with masks: GCC turns the plain ternaries into branches.
void select_if_better(float& best, index_t& best_at, float v, index_t at) {
  const index_t take = -static_cast<index_t>((v > best) | (v != v));
  best_at ^= (best_at ^ at) & take;
  std::uint32_t best_bits, v_bits;
  __builtin_memcpy(&best_bits, &best, 4), __builtin_memcpy(&v_bits, &v, 4);
  best_bits ^= (best_bits ^ v_bits) & static_cast<std::uint32_t>(take);
  __builtin_memcpy(&best, &best_bits, 4);
}

void max_pool_row_general(const PoolArgs& a, const float* x, index_t oh, index_t ow0, float* y,
                          index_t* indices) {
  for_each_window(a, oh, ow0, [&](index_t ow, const Taps& rows, const Taps& cols) {
    if (rows.begin == rows.end || cols.begin == cols.end) {  // only padding (dilated windows)
      y[ow] = kNegInf, indices[ow] = -1;
      return;
    }
    // Starting from the first tap and revisiting it changes nothing, and keeps the loop free
    // of branches (random data mispredicts "new maximum" often).
    index_t best_at = (rows.first + rows.begin * a.dilation_h) * a.width + cols.first +
                      cols.begin * a.dilation_w;
    float best = x[best_at];
    for (index_t i = rows.begin; i < rows.end; ++i) {
      const index_t h = rows.first + i * a.dilation_h;
      for (index_t j = cols.begin; j < cols.end; ++j) {
        const index_t at = h * a.width + cols.first + j * a.dilation_w;
        const float v = x[at];
        select_if_better(best, best_at, v, at);
      }
    }
    y[ow] = best, indices[ow] = best_at;
  });
}

void max_pool_row_2x2(const PoolArgs& a, const float* x, index_t oh, index_t columns, float* y,
                      index_t* indices) {
  const float* top = x + 2 * oh * a.width;
  const float* bottom = top + a.width;
  const vint lane2 = lane_iota() * 2;
  for_each_vector(columns, [&](index_t ow) {
    vfloat tl, tr, bl, br;
    deinterleave(vload(top + 2 * ow), vload(top + 2 * ow + kLanes), tl, tr);
    deinterleave(vload(bottom + 2 * ow), vload(bottom + 2 * ow + kLanes), bl, br);
    vfloat best = tl;
    vint offset = vint{};  // of the winner from top-left: 0, 1, W, W + 1
    const vint width = vint{} + static_cast<int>(a.width);
    take_if_better(best, offset, tr, vint{} + 1);
    take_if_better(best, offset, bl, width);
    take_if_better(best, offset, br, width + 1);
    vstore(y + ow, best);
    const vint at = offset + lane2 + static_cast<int>(2 * oh * a.width + 2 * ow);
    store_index(indices + ow, at);
  });
}

// Whole 2x2 windows of a row narrower than a vector (see narrow_rows).
void max_pool_row_2x2_narrow(const PoolArgs& a, const float* x, const float* readable_end,
                             index_t oh, index_t columns, float* y, index_t* indices) {
  float padded[2 * kNarrowWidth], row_y[kLanes];
  index_t row_at[kLanes];
  const NarrowRows rows = narrow_rows(a, x, readable_end, oh, columns, padded);
  max_pool_row_2x2(rows.args, rows.x, rows.oh, kLanes, row_y, row_at);
  if (rows.copied)
    for (index_t ow = 0; ow < columns; ++ow)  // back to positions in the real plane
      row_at[ow] += 2 * oh * a.width + (row_at[ow] >= kNarrowWidth ? a.width - kNarrowWidth : 0);
  for (index_t ow = 0; ow < columns; ++ow) y[ow] = row_y[ow], indices[ow] = row_at[ow];
}

void max_pool2d_forward(const PoolArgs& a, const float* x, float* y, index_t* indices) {
  const index_t in_plane = a.height * a.width, out_plane = a.out_height * a.out_width;
  const bool int32_positions = in_plane < (index_t{1} << 31);
  const float* x_end = x + a.planes * in_plane;
  for_each_plane(a.planes, a.num_threads, [&](index_t p) {
    const float* xp = x + p * in_plane;
    for (index_t oh = 0; oh < a.out_height; ++oh) {
      float* yr = y + p * out_plane + oh * a.out_width;
      index_t* ir = indices + p * out_plane + oh * a.out_width;
      const index_t whole = int32_positions ? whole_2x2_columns(a, oh) : 0;
      if (whole >= kLanes)
        max_pool_row_2x2(a, xp, oh, whole, yr, ir);
      else if (whole > 0)
        max_pool_row_2x2_narrow(a, xp, x_end, oh, whole, yr, ir);
      max_pool_row_general(a, xp, oh, whole, yr, ir);
    }
  });
}

// What one row of disjoint 2x2 windows found wrong with its indices: lanes outside their own
// window, and (or-ed) 64-bit offsets, whose high bits would be lost when they are narrowed.
struct StrayIndices {
  vint outside = vint{};
  vint64 wide = vint64{};
  bool any() const {
    int found = 0;
    for (int l = 0; l < kLanes; ++l) found |= outside[l] | static_cast<int>(wide[l] >> 31 != 0);
    return found != 0;
  }
};

// One vector of a row of disjoint 2x2 windows, the first with its top-left input at `corner`:
// each gradient goes to the cell its index names and zeros to the other three, so grad_x is
// written in one pass (no zero fill, no scatter). Compares run on 32-bit lanes: 64-bit vector
// compares are split into scalar code.
void max_unpool_vector_2x2(const float* gy, const index_t* idx, index_t corner, index_t width,
                           float* top, StrayIndices& stray) {
  const vint64 offset64 = *reinterpret_cast<const vint64*>(idx) -
                          (__builtin_convertvector(lane_iota(), vint64) * 2 + corner);
  stray.wide |= offset64;
  const vint offset = __builtin_convertvector(offset64, vint), w = vint{} + static_cast<int>(width);
  const vint tl = offset == 0, tr = offset == 1, bl = offset == w, br = offset == w + 1;
  stray.outside |= ~(tl | tr | bl | br);
  const vfloat g = vload(gy), zero = vfloat{};
  vfloat lo, hi;
  interleave(tl ? g : zero, tr ? g : zero, lo, hi);
  vstore(top, lo), vstore(top + kLanes, hi);
  interleave(bl ? g : zero, br ? g : zero, lo, hi);
  vstore(top + width, lo), vstore(top + width + kLanes, hi);
}

// Whether a plane's grad_y maps onto disjoint 2x2 windows from (0, 0) wide enough for vectors
// (what the 2x2 stride-2 forward produces); its indices are checked as the plane is written.
bool disjoint_2x2_windows(const PoolArgs& a) {
  return 2 * a.out_height <= a.height && 2 * a.out_width <= a.width && a.out_width >= kLanes &&
         a.height * a.width < (index_t{1} << 31);
}

// The plane's grad_x in one pass, or false (a partly written plane) when some index lies
// outside its own window.
bool max_pool_backward_plane_2x2(const PoolArgs& a, const float* gy, const index_t* ip,
                                 float* gx) {
  StrayIndices stray;
  const index_t covered = 2 * a.out_width, rest = a.width - covered;
  for (index_t oh = 0; oh < a.out_height; ++oh) {
    float* top = gx + 2 * oh * a.width;
    const index_t o = oh * a.out_width;
    for_each_vector(a.out_width, [&](index_t ow) {
      max_unpool_vector_2x2(gy + o + ow, ip + o + ow, 2 * oh * a.width + 2 * ow, a.width,
                            top + 2 * ow, stray);
    });
    fill(top + covered, rest, 0.0f), fill(top + a.width + covered, rest, 0.0f);
  }
  fill(gx + 2 * a.out_height * a.width, (a.height - 2 * a.out_height) * a.width, 0.0f);
  return !stray.any();
}

// Any layout of indices: zero fill, then add each gradient at its index. False when an index
// lies outside the plane.
bool max_pool_backward_plane_scatter(index_t in_plane, index_t out_plane, const float* gy,
                                     const index_t* ip, float* gx) {
  fill(gx, in_plane, 0.0f);
  bool in_range = true;
  for (index_t o = 0; o < out_plane; ++o) {
    const index_t at = ip[o];
    if (static_cast<std::uint64_t>(at) < static_cast<std::uint64_t>(in_plane)) gx[at] += gy[o];
    else in_range = false;
  }
  return in_range;
}

bool max_pool2d_backward(const PoolArgs& a, const float* grad_y, const index_t* indices,
                         float* grad_x) {
  const index_t in_plane = a.height * a.width, out_plane = a.out_height * a.out_width;
  const bool disjoint = disjoint_2x2_windows(a);
  int bad = 0;
  for_each_plane(a.planes, a.num_threads, [&](index_t p) {
    float* gx = grad_x + p * in_plane;
    const float* gy = grad_y + p * out_plane;
    const index_t* ip = indices + p * out_plane;
    if (disjoint && max_pool_backward_plane_2x2(a, gy, ip, gx)) return;
    if (!max_pool_backward_plane_scatter(in_plane, out_plane, gy, ip, gx))
      __atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
  });
  return !bad;
}

// ---- average pooling -----------------------------------------------------------------------

// PyTorch's divisor: the window clipped to the padded input, or to the input itself when
// padding is not counted; divisor_override replaces both.
float avg_divisor(const PoolArgs& a, const Taps& rows, const Taps& cols) {
  if (a.divisor_override > 0) return static_cast<float>(a.divisor_override);
  if (!a.count_include_pad) return static_cast<float>((rows.end - rows.begin) * (cols.end - cols.begin));
  const index_t rh = imin(rows.first + a.kernel_h, a.height + a.pad_h) - rows.first;
  const index_t rw = imin(cols.first + a.kernel_w, a.width + a.pad_w) - cols.first;
  return static_cast<float>(rh * rw);
}

float fast_divisor(const PoolArgs& a) {
  return a.divisor_override > 0 ? static_cast<float>(a.divisor_override) : 4.0f;
}

void avg_pool_row_general(const PoolArgs& a, const float* x, index_t oh, index_t ow0, float* y) {
  for_each_window(a, oh, ow0, [&](index_t ow, const Taps& rows, const Taps& cols) {
    float sum = 0.0f;
    for (index_t i = rows.begin; i < rows.end; ++i) {
      const float* row = x + (rows.first + i) * a.width + cols.first;
      for (index_t j = cols.begin; j < cols.end; ++j) sum += row[j];
    }
    y[ow] = sum / avg_divisor(a, rows, cols);
  });
}

void avg_pool_row_2x2(const PoolArgs& a, const float* x, index_t oh, index_t columns, float* y) {
  const float* top = x + 2 * oh * a.width;
  const float* bottom = top + a.width;
  const vfloat divisor = vbroadcast(fast_divisor(a));
  for_each_vector(columns, [&](index_t ow) {
    vfloat tl, tr, bl, br;
    deinterleave(vload(top + 2 * ow), vload(top + 2 * ow + kLanes), tl, tr);
    deinterleave(vload(bottom + 2 * ow), vload(bottom + 2 * ow + kLanes), bl, br);
    vstore(y + ow, ((tl + tr) + (bl + br)) / divisor);
  });
}

// Whole 2x2 windows of a row narrower than a vector (see narrow_rows).
void avg_pool_row_2x2_narrow(const PoolArgs& a, const float* x, const float* readable_end,
                             index_t oh, index_t columns, float* y) {
  float padded[2 * kNarrowWidth], row_y[kLanes];
  const NarrowRows rows = narrow_rows(a, x, readable_end, oh, columns, padded);
  avg_pool_row_2x2(rows.args, rows.x, rows.oh, kLanes, row_y);
  for (index_t ow = 0; ow < columns; ++ow) y[ow] = row_y[ow];
}

void avg_pool2d_forward(const PoolArgs& a, const float* x, float* y) {
  const index_t in_plane = a.height * a.width, out_plane = a.out_height * a.out_width;
  const float* x_end = x + a.planes * in_plane;
  for_each_plane(a.planes, a.num_threads, [&](index_t p) {
    const float* xp = x + p * in_plane;
    for (index_t oh = 0; oh < a.out_height; ++oh) {
      float* yr = y + p * out_plane + oh * a.out_width;
      const index_t whole = whole_2x2_columns(a, oh);
      if (whole >= kLanes)
        avg_pool_row_2x2(a, xp, oh, whole, yr);
      else if (whole > 0)
        avg_pool_row_2x2_narrow(a, xp, x_end, oh, whole, yr);
      avg_pool_row_general(a, xp, oh, whole, yr);
    }
  });
}

// Windows of the fast path do not overlap, so it stores each share instead of adding it.
void avg_pool_backward_row_2x2(const PoolArgs& a, const float* grad_y, index_t oh,
                               index_t columns, float* grad_x) {
  float* top = grad_x + 2 * oh * a.width;
  float* bottom = top + a.width;
  const vfloat divisor = vbroadcast(fast_divisor(a));
  for_each_vector(columns, [&](index_t ow) {
    vfloat lo, hi;
    const vfloat share = vload(grad_y + ow) / divisor;
    interleave(share, share, lo, hi);
    vstore(top + 2 * ow, lo), vstore(top + 2 * ow + kLanes, hi);
    vstore(bottom + 2 * ow, lo), vstore(bottom + 2 * ow + kLanes, hi);
  });
}

void avg_pool_backward_row_general(const PoolArgs& a, const float* grad_y, index_t oh,
                                   index_t ow0, float* grad_x) {
  for_each_window(a, oh, ow0, [&](index_t ow, const Taps& rows, const Taps& cols) {
    const float share = grad_y[ow] / avg_divisor(a, rows, cols);
    for (index_t i = rows.begin; i < rows.end; ++i) {
      float* row = grad_x + (rows.first + i) * a.width + cols.first;
      for (index_t j = cols.begin; j < cols.end; ++j) row[j] += share;
    }
  });
}

// Whole 2x2 windows of a row narrower than a vector: one vector step on a padded copy of the
// row's gradients, into two rows of scratch of which the first 2 * columns values are kept.
void avg_pool_backward_row_2x2_narrow(const PoolArgs& a, const float* grad_y, index_t oh,
                                      index_t columns, float* grad_x) {
  float row_gy[kLanes] = {}, rows[2 * kNarrowWidth];
  for (index_t ow = 0; ow < columns; ++ow) row_gy[ow] = grad_y[ow];
  PoolArgs scratch = a;
  scratch.width = kNarrowWidth;
  avg_pool_backward_row_2x2(scratch, row_gy, 0, kLanes, rows);
  float* top = grad_x + 2 * oh * a.width;
  for (index_t t = 0; t < 2 * columns; ++t) top[t] = rows[t], top[a.width + t] = rows[kNarrowWidth + t];
}

void avg_pool2d_backward(const PoolArgs& a, const float* grad_y, float* grad_x) {
  const index_t in_plane = a.height * a.width, out_plane = a.out_height * a.out_width;
  for_each_plane(a.planes, a.num_threads, [&](index_t p) {
    float* gx = grad_x + p * in_plane;
    fill(gx, in_plane, 0.0f);
    for (index_t oh = 0; oh < a.out_height; ++oh) {
      const float* gy = grad_y + p * out_plane + oh * a.out_width;
      const index_t whole = whole_2x2_columns(a, oh);
      if (whole >= kLanes)
        avg_pool_backward_row_2x2(a, gy, oh, whole, gx);
      else if (whole > 0)
        avg_pool_backward_row_2x2_narrow(a, gy, oh, whole, gx);
      avg_pool_backward_row_general(a, gy, oh, whole, gx);
    }
  });
}

// ---- global average pooling ----------------------------------------------------------------

void global_avg_pool2d_forward(index_t planes, index_t size, const float* x, float* y,
                               int num_threads) {
  for_each_plane(planes, num_threads, [&](index_t p) {
    y[p] = static_cast<float>(sum_blocked(x + p * size, size) / static_cast<double>(size));
  });
}

void global_avg_pool2d_backward(index_t planes, index_t size, const float* grad_y,
                                float* grad_x, int num_threads) {
  const float count = static_cast<float>(size);
  for_each_plane(planes, num_threads,
                 [&](index_t p) { fill(grad_x + p * size, size, grad_y[p] / count); });
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_pool)(KernelTable& table) {
  table.max_pool2d_forward = HPNN_ISA_NS::max_pool2d_forward;
  table.max_pool2d_backward = HPNN_ISA_NS::max_pool2d_backward;
  table.avg_pool2d_forward = HPNN_ISA_NS::avg_pool2d_forward;
  table.avg_pool2d_backward = HPNN_ISA_NS::avg_pool2d_backward;
  table.global_avg_pool2d_forward = HPNN_ISA_NS::global_avg_pool2d_forward;
  table.global_avg_pool2d_backward = HPNN_ISA_NS::global_avg_pool2d_backward;
}

}  // namespace hpnn

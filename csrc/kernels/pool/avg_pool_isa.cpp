// 2-d average and global-average pooling over contiguous H x W planes, compiled per ISA, and
// the registration of the pooling family (max pooling: max_pool_isa.cpp).
//
// Average pooling shares max pooling's window iterator and 2x2 stride-2 vector fast path
// (pool_common.h), with PyTorch's divisor rules.
#include "kernels/pool/pool_common.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

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

// Whether the 2x2 stride-2 fast path stores every cell of grad_x (even sizes, rows a vector wide).
bool tiles_whole_plane(const PoolArgs& a) {
  return is_2x2_stride2(a) && 2 * a.out_height == a.height && 2 * a.out_width == a.width &&
         a.out_width >= kLanes;
}

// A plane's grad_x: zeros, then each window's share added (stored, where windows are disjoint).
void avg_pool_backward_plane(const PoolArgs& a, const float* gy, float* gx) {
  if (!tiles_whole_plane(a)) fill(gx, a.height * a.width, 0.0f);
  for (index_t oh = 0; oh < a.out_height; ++oh) {
    const float* gy_row = gy + oh * a.out_width;
    const index_t whole = whole_2x2_columns(a, oh);
    if (whole >= kLanes)
      avg_pool_backward_row_2x2(a, gy_row, oh, whole, gx);
    else if (whole > 0)
      avg_pool_backward_row_2x2_narrow(a, gy_row, oh, whole, gx);
    avg_pool_backward_row_general(a, gy_row, oh, whole, gx);
  }
}

void avg_pool2d_backward(const PoolArgs& a, const float* grad_y, float* grad_x) {
  const index_t in_plane = a.height * a.width, out_plane = a.out_height * a.out_width;
  // Windows may overlap, so a plane is staged whole (pool_common.h), when it fits.
  const bool staged = worth_streaming(a.planes * in_plane * index_t{sizeof(float)}) &&
                      in_plane <= kStageFloats;
  for_each_plane(a.planes, a.num_threads, [&](index_t p) {
    float* gx = grad_x + p * in_plane;
    if (!staged) return avg_pool_backward_plane(a, grad_y + p * out_plane, gx);
    float stage[kStageFloats];
    avg_pool_backward_plane(a, grad_y + p * out_plane, stage);
    stream_copy(gx, stage, in_plane);
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
  const bool stream = worth_streaming(planes * size * index_t{sizeof(float)});
  for_each_plane(planes, num_threads, [&](index_t p) {
    const float share = grad_y[p] / count;
    const vfloat shares = vbroadcast(share);
    store_row(
        grad_x + p * size, size, stream, [&](index_t) { return shares; },
        [&](index_t) { return share; });
  });
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

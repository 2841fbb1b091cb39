// A 2x2 stride-2 max pool's backward folded into the convolution in front of it: the
// convolution reads its dy straight from the pool's gradient, a pair of rows at a time, and dy
// is never written. Include only from per-ISA sources (see core/isa.h).
#pragma once
#include "kernels/common/vec_ops.h"
#include "kernels/conv/conv_common.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// The gradient of a 2x2 stride-2 max pool (floor) that follows the convolution, to be read as
// the convolution's dy: dy's window (py, px) holds grad at the window's argmax (a flat position
// in dy's plane) where the pooled relu'd output is > 0, and zero elsewhere, as
// max_pool2d_backward(relu_output=) writes it. Each array is (N, K, oh / 2, ow / 2).
struct PooledGrad {
  const float* grad;
  const std::int32_t* indices;
  const float* relu_output;
  int* stray;  // set when an index lies outside its window (dy then unfinished)
};

// Rows 2 py and 2 py + 1 of dy's plane `plane` (image n, channel k: n * K + k; oh x ow) into
// top and bottom, `width` >= ow columns each (zero past ow, and where py is past the pool).
// Lanes of `stray` are set where an index lies outside its window (report_stray tells).
void unpool_row_pair(const PooledGrad& pool, index_t plane, index_t py, index_t oh, index_t ow,
                     index_t width, float* top, float* bottom, vint& stray) {
  const index_t ph = oh / 2, pw = ow / 2;
  if (py >= ph) return fill(top, width, 0.0f), fill(bottom, width, 0.0f);
  // The steps below write the windows' columns [0, 2 pw), zeros where nothing won.
  fill(top + 2 * pw, width - 2 * pw, 0.0f), fill(bottom + 2 * pw, width - 2 * pw, 0.0f);
  const index_t o = (plane * ph + py) * pw;
  for (index_t px = 0; px < pw; px += kLanes)
    stray |= unpool_2x2_masked(pool.grad + o + px, pool.relu_output + o + px,
                               pool.indices + o + px, static_cast<int>(imin(kLanes, pw - px)),
                               2 * py * ow + 2 * px, ow, top + 2 * px, bottom + 2 * px);
}

// Sets pool.stray if any lane of `stray` (unpool_row_pair's) is: once per plane or block, not
// per row pair.
void report_stray(const PooledGrad& pool, vint stray) {
  for (int i = 0; i < kLanes; ++i)
    if (stray[i]) return __atomic_store_n(pool.stray, 1, __ATOMIC_RELAXED);
}

}  // namespace
}  // namespace HPNN_ISA_NS
}  // namespace hpnn

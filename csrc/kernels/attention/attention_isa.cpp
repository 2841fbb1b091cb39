// Attention's fused masked softmax, forward and backward, compiled once per ISA: the scale,
// the additive mask and the causal cut are applied while the row is read, so the score matrix
// is read and written once instead of once per step. Semantics:
// python/hpnn/reference/attention.py. Rows are independent, so results do not depend on the
// thread count.
#include <cmath>

#include "core/kernel_table.h"
#include "core/vmath.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

constexpr float kNegInf = -__builtin_inff();

// Columns of row `row` that take part: all, or 0..row under the causal cut.
index_t live_cols(const MaskedSoftmaxArgs& a, index_t row) {
  return a.causal ? imin(row + 1, a.cols) : a.cols;
}

// z = scale * x + mask over [0, n), stored in y; returns max(z) (NaN-blind; NaN reaches the
// sum through exp and so every output of the row, as in PyTorch).
float scaled_logits(const float* x, const float* mask, float scale, float* z, index_t n) {
  const vfloat vs = vbroadcast(scale);
  vfloat best = vbroadcast(kNegInf);
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    vfloat v = vload(x + i) * vs;
    if (mask) v += vload(mask + i);
    vstore(z + i, v);
    best = v > best ? v : best;
  }
  float top = hmax(best);
  for (; i < n; ++i) {
    const float v = x[i] * scale + (mask ? mask[i] : 0.0f);
    z[i] = v;
    top = v > top ? v : top;
  }
  return top;
}

// z = exp(z - top) in place over [0, n); returns the sum (float lanes, then double).
double exp_in_place(float* z, float top, index_t n) {
  const vfloat shift = vbroadcast(top);
  vfloat acc = vfloat{};
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const vfloat e = vexp(vload(z + i) - shift);
    vstore(z + i, e);
    acc += e;
  }
  double total = 0.0;
  for (int l = 0; l < kLanes; ++l) total += acc[l];
  for (; i < n; ++i) {
    z[i] = std::exp(z[i] - top);
    total += z[i];
  }
  return total;
}

void scale_row(float* y, index_t n, float factor) {
  const vfloat vf = vbroadcast(factor);
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes) vstore(y + i, vload(y + i) * vf);
  for (; i < n; ++i) y[i] *= factor;
}

bool any_nan(const float* z, index_t n) {
  for (index_t i = 0; i < n; ++i)
    if (z[i] != z[i]) return true;
  return false;
}

void fill_row(float* y, index_t n, float value) {
  for (index_t i = 0; i < n; ++i) y[i] = value;
}

void forward_row(const MaskedSoftmaxArgs& a, const float* x, const float* mask, float* y,
                 index_t row) {
  const index_t n = live_cols(a, row);
  const float top = scaled_logits(x, mask, a.scale, y, n);
  if (top == kNegInf) {  // every logit masked out (or NaN, which the max does not see)
    fill_row(y, a.cols, a.zero_empty_rows && !any_nan(y, n) ? 0.0f : __builtin_nanf(""));
    return;
  }
  const double total = exp_in_place(y, top, n);
  scale_row(y, n, static_cast<float>(1.0 / total));
  fill_row(y + n, a.cols - n, 0.0f);
}

const float* mask_row(const MaskedSoftmaxArgs& a, index_t flat_row) {
  if (!a.mask) return nullptr;
  const index_t row = flat_row % a.rows, plane = flat_row / a.rows;
  const index_t head = plane % a.heads, batch = plane / a.heads;
  return a.mask + batch * a.mask_batch_stride + head * a.mask_head_stride +
         row * a.mask_row_stride;
}

void masked_softmax_forward(const MaskedSoftmaxArgs& a, const float* x, float* y) {
  const index_t total_rows = a.batch * a.heads * a.rows;
  const int nt = static_cast<int>(imin(a.num_threads, total_rows));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t r = 0; r < total_rows; ++r)
    forward_row(a, x + r * a.cols, mask_row(a, r), y + r * a.cols, r % a.rows);
}

// sum g * y over the row, float lanes then double.
double row_dot(const float* g, const float* y, index_t n) {
  vfloat acc = vfloat{};
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes) acc += vload(g + i) * vload(y + i);
  double total = 0.0;
  for (int l = 0; l < kLanes; ++l) total += acc[l];
  for (; i < n; ++i) total += static_cast<double>(g[i]) * y[i];
  return total;
}

// grad_x = scale * y * (g - sum(g y)) over the whole row (masked entries have y = 0).
void backward_row(const float* g, const float* y, float* gx, index_t n, float scale) {
  const float dot = static_cast<float>(row_dot(g, y, n));
  const vfloat vdot = vbroadcast(dot), vs = vbroadcast(scale);
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    vstore(gx + i, vs * (vload(y + i) * (vload(g + i) - vdot)));
  for (; i < n; ++i) gx[i] = scale * (y[i] * (g[i] - dot));
}

void masked_softmax_backward(const MaskedSoftmaxArgs& a, const float* g, const float* y,
                             float* gx) {
  const index_t total_rows = a.batch * a.heads * a.rows;
  const int nt = static_cast<int>(imin(a.num_threads, total_rows));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t r = 0; r < total_rows; ++r)
    backward_row(g + r * a.cols, y + r * a.cols, gx + r * a.cols, a.cols, a.scale);
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_attention)(KernelTable& table) {
  table.masked_softmax_forward = HPNN_ISA_NS::masked_softmax_forward;
  table.masked_softmax_backward = HPNN_ISA_NS::masked_softmax_backward;
}

}  // namespace hpnn

// Layer and group normalisation, compiled per ISA: both normalise independent rows.
//
// A row is `channels` runs of `spatial` values (RowNormArgs): layer norm is one group of D
// channels of 1 value (weight and bias per element), group norm over (N, C, S) has N * G rows of
// C / G channels of S values (weight and bias per channel). Rows are split over threads; their
// results do not depend on which thread computes them. The weight and bias gradients sum over
// rows: the rows are cut into chunks fixed by the problem's size alone (reduction_parts), each
// chunk summed in row order into a partial of its own, the partials added in chunk order, so
// they are bit-identical at any thread count.
//
// Precision: statistics from sums of deviations from a guess of the mean (a second pass around
// a better guess where the first lay far off, see row_moments), whose own mean corrects the
// guess, in float blocks merged in double. y subtracts the double
// mean as a float pair hi + lo, so inputs with a large mean keep their precision.
#include <cmath>
#include <vector>

#include "core/kernel_table.h"
#include "core/parallel.h"
#include "core/simd.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// Values summed in float before the sum moves to double: float's error grows with the count.
constexpr index_t kBlock = 1024;

// sum(p - c) and sum((p - c)^2) over p[0, n), in float: four independent vector sums each,
// enough to hide the add latency on rows that are in L1.
void centred_sums(const float* p, index_t n, float c, float& sum, float& sum_sq) {
  const vfloat vc = vbroadcast(c);
  vfloat s[4] = {}, q[4] = {};
  index_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      const vfloat d = vload(p + i + u * kLanes) - vc;
      s[u] += d, q[u] += d * d;
    }
  }
  for (; i + kLanes <= n; i += kLanes) {
    const vfloat d = vload(p + i) - vc;
    s[0] += d, q[0] += d * d;
  }
  sum = horizontal_sum((s[0] + s[1]) + (s[2] + s[3]));
  sum_sq = horizontal_sum((q[0] + q[1]) + (q[2] + q[3]));
  for (; i < n; ++i) {
    const float d = p[i] - c;
    sum += d, sum_sq += d * d;
  }
}

// Sums of p - c over p[0, n) in blocks of kBlock, merged in double.
void row_sums(const float* p, index_t n, float c, double& sum, double& sum_sq) {
  sum = sum_sq = 0.0;
  for (index_t at = 0; at < n; at += kBlock) {
    float s, q;
    centred_sums(p + at, imin(kBlock, n - at), c, s, q);
    sum += s, sum_sq += q;
  }
}

// Mean and biased variance of p[0, n), n > 0. One pass of sums centred on a guess of the mean
// (the mean of the first vector's values: close for
// most data) gives both; where the guess lies far
// from the mean those sums would cancel (sum_sq - sum^2 / n loses bits once sum^2 / n nears
// sum_sq), so a second pass centres them on the first pass's mean.
void row_moments(const float* p, index_t n, double& mean, double& var) {
  float guess = p[0];
  if (n >= kLanes) guess = horizontal_sum(vload(p)) / static_cast<float>(kLanes);
  double sum, sum_sq;
  row_sums(p, n, guess, sum, sum_sq);
  const double count = static_cast<double>(n), inv_count = 1.0 / count;
  if (!(sum * sum <= 0.5 * count * sum_sq)) {  // also taken for NaN
    guess = static_cast<float>(guess + sum * inv_count);
    row_sums(p, n, guess, sum, sum_sq);
  }
  const double shift = sum * inv_count;
  mean = guess + shift;
  var = sum_sq * inv_count - shift * shift;
  if (!(var > 0.0)) var = var < 0.0 ? 0.0 : var;  // rounding; NaN stays NaN
}

// y = ((x - hi) - lo) * rstd * w[i] + b[i] over one layer-norm row (w, b may be null).
template <bool HasWeight, bool HasBias>
void normalize_elementwise(const float* x, float* y, index_t n, float hi, float lo, float rstd,
                           const float* w, const float* b) {
  const vfloat vhi = vbroadcast(hi), vlo = vbroadcast(lo), vr = vbroadcast(rstd);
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    vfloat v = ((vload(x + i) - vhi) - vlo) * vr;
    if (HasWeight) v *= vload(w + i);
    if (HasBias) v += vload(b + i);
    vstore(y + i, v);
  }
  for (; i < n; ++i) {
    float v = ((x[i] - hi) - lo) * rstd;
    if (HasWeight) v *= w[i];
    if (HasBias) v += b[i];
    y[i] = v;
  }
}

void normalize_elementwise(const float* x, float* y, index_t n, float hi, float lo, float rstd,
                           const float* w, const float* b) {
  if (w && b) return normalize_elementwise<true, true>(x, y, n, hi, lo, rstd, w, b);
  if (w) return normalize_elementwise<true, false>(x, y, n, hi, lo, rstd, w, b);
  if (b) return normalize_elementwise<false, true>(x, y, n, hi, lo, rstd, w, b);
  normalize_elementwise<false, false>(x, y, n, hi, lo, rstd, w, b);
}

// y = ((x - hi) - lo) * scale + shift over one run of a channel.
void normalize_run(const float* x, float* y, index_t n, float hi, float lo, float scale,
                   float shift) {
  const vfloat vhi = vbroadcast(hi), vlo = vbroadcast(lo), vs = vbroadcast(scale),
               vb = vbroadcast(shift);
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes) vstore(y + i, ((vload(x + i) - vhi) - vlo) * vs + vb);
  for (; i < n; ++i) y[i] = ((x[i] - hi) - lo) * scale + shift;
}

// Runs task(i) for i in [0, tasks) over up to num_threads threads.
template <class Task>
void parallel_tasks(index_t tasks, int num_threads, Task&& task) {
  const int nt = static_cast<int>(imin(num_threads, tasks));
  if (nt <= 1) {
    for (index_t i = 0; i < tasks; ++i) task(i);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static)
  for (index_t i = 0; i < tasks; ++i) task(i);
}

index_t row_size(const RowNormArgs& a) { return a.channels * a.spatial; }
// Offset of row r's first channel in weight and bias.
index_t first_channel(const RowNormArgs& a, index_t r) { return (r % a.groups) * a.channels; }

void row_norm_forward(const RowNormArgs& a, const float* x, float* y, float* mean_out,
                      float* rstd_out, double eps) {
  const index_t d = row_size(a);
  parallel_tasks(a.rows, a.num_threads, [&](index_t r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    double mean, var;
    row_moments(xr, d, mean, var);
    const double rstd = 1.0 / std::sqrt(var + eps);
    mean_out[r] = static_cast<float>(mean), rstd_out[r] = static_cast<float>(rstd);
    const float hi = static_cast<float>(mean), lo = static_cast<float>(mean - hi);
    const index_t c0 = first_channel(a, r);
    if (a.spatial == 1) {
      normalize_elementwise(xr, yr, d, hi, lo, static_cast<float>(rstd),
                            a.weight ? a.weight + c0 : nullptr, a.bias ? a.bias + c0 : nullptr);
      return;
    }
    for (index_t c = 0; c < a.channels; ++c) {
      const float w = a.weight ? a.weight[c0 + c] : 1.0f, b = a.bias ? a.bias[c0 + c] : 0.0f;
      normalize_run(xr + c * a.spatial, yr + c * a.spatial, a.spatial, hi, lo,
                    static_cast<float>(rstd * w), b);
    }
  });
}

// One layer-norm row's backward. Pass 1: sums of g = dy * w and g * x_hat over the row (and,
// with pw, dy * x_hat and dy into the chunk's partials pw, pb); pass 2:
// dx = rstd * (g - mean(g) - x_hat * mean(g * x_hat)).
void elementwise_row_backward(const float* dy, const float* x, float* dx, index_t n, float mean,
                              float rstd, const float* w, float* pw, float* pb) {
  const vfloat vm = vbroadcast(mean), vr = vbroadcast(rstd), one = vbroadcast(1.0f);
  vfloat sg[2] = {}, sgx[2] = {};  // two sums each: the add latency, not the loads, bounded one
  index_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
#pragma GCC unroll 2
    for (int u = 0; u < 2; ++u) {
      const index_t j = i + u * kLanes;
      const vfloat g = vload(dy + j), xh = (vload(x + j) - vm) * vr;
      if (pw) vstore(pw + j, vload(pw + j) + g * xh), vstore(pb + j, vload(pb + j) + g);
      const vfloat gw = g * (w ? vload(w + j) : one);
      sg[u] += gw, sgx[u] += gw * xh;
    }
  }
  for (; i + kLanes <= n; i += kLanes) {
    const vfloat g = vload(dy + i), xh = (vload(x + i) - vm) * vr;
    if (pw) vstore(pw + i, vload(pw + i) + g * xh), vstore(pb + i, vload(pb + i) + g);
    const vfloat gw = g * (w ? vload(w + i) : one);
    sg[0] += gw, sgx[0] += gw * xh;
  }
  float s = horizontal_sum(sg[0] + sg[1]), sx = horizontal_sum(sgx[0] + sgx[1]);
  for (index_t j = i; j < n; ++j) {
    const float g = dy[j], xh = (x[j] - mean) * rstd;
    if (pw) pw[j] += g * xh, pb[j] += g;
    const float gw = g * (w ? w[j] : 1.0f);
    s += gw, sx += gw * xh;
  }
  const float k1 = s / static_cast<float>(n), k2 = sx / static_cast<float>(n);
  const vfloat vk1 = vbroadcast(k1), vk2 = vbroadcast(k2);
  for (i = 0; i + kLanes <= n; i += kLanes) {
    const vfloat xh = (vload(x + i) - vm) * vr;
    const vfloat gw = vload(dy + i) * (w ? vload(w + i) : one);
    vstore(dx + i, vr * ((gw - vk1) - xh * vk2));
  }
  for (; i < n; ++i) {
    const float xh = (x[i] - mean) * rstd, gw = dy[i] * (w ? w[i] : 1.0f);
    dx[i] = rstd * ((gw - k1) - xh * k2);
  }
}

// sum(dy) and sum(dy * (x - mean)) over one run, in float.
void run_gradient_sums(const float* dy, const float* x, index_t n, float mean, float& s_dy,
                       float& s_dyx) {
  const vfloat vm = vbroadcast(mean);
  vfloat s0{}, s1{}, t0{}, t1{};
  index_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    const vfloat g0 = vload(dy + i), g1 = vload(dy + i + kLanes);
    s0 += g0, s1 += g1;
    t0 += g0 * (vload(x + i) - vm), t1 += g1 * (vload(x + i + kLanes) - vm);
  }
  for (; i + kLanes <= n; i += kLanes) {
    const vfloat g = vload(dy + i);
    s0 += g, t0 += g * (vload(x + i) - vm);
  }
  s_dy = horizontal_sum(s0 + s1), s_dyx = horizontal_sum(t0 + t1);
  for (; i < n; ++i) s_dy += dy[i], s_dyx += dy[i] * (x[i] - mean);
}

// One group-norm row's backward: per channel c the sums of dy and dy * x_hat (into the
// partials pw[c], pb[c] when given), then dx = k_g[c] * dy + k_x * (x - mean) + k_0.
void channel_row_backward(const RowNormArgs& a, const float* dy, const float* x, float* dx,
                          float mean, float rstd, const float* w, float* pw, float* pb) {
  const index_t s = a.spatial;
  double sum_g = 0.0, sum_gx = 0.0;
  for (index_t c = 0; c < a.channels; ++c) {
    double s_dy = 0.0, s_dyx = 0.0;
    for (index_t at = 0; at < s; at += kBlock) {
      float block_dy, block_dyx;
      run_gradient_sums(dy + c * s + at, x + c * s + at, imin(kBlock, s - at), mean, block_dy,
                        block_dyx);
      s_dy += block_dy, s_dyx += block_dyx;
    }
    const double wc = w ? w[c] : 1.0;
    if (pw) pw[c] += static_cast<float>(s_dyx * rstd), pb[c] += static_cast<float>(s_dy);
    sum_g += wc * s_dy, sum_gx += wc * s_dyx * rstd;
  }
  const double count = static_cast<double>(a.channels * s);
  const float k_x = static_cast<float>(-rstd * rstd * sum_gx / count),
              k_0 = static_cast<float>(-rstd * sum_g / count);
  const vfloat vm = vbroadcast(mean), vk_x = vbroadcast(k_x), vk_0 = vbroadcast(k_0);
  for (index_t c = 0; c < a.channels; ++c) {
    const float k_g = rstd * (w ? w[c] : 1.0f);
    const vfloat vk_g = vbroadcast(k_g);
    const float *g = dy + c * s, *xc = x + c * s;
    float* out = dx + c * s;
    index_t i = 0;
    for (; i + kLanes <= s; i += kLanes)
      vstore(out + i, vk_g * vload(g + i) + (vk_x * (vload(xc + i) - vm) + vk_0));
    for (; i < s; ++i) out[i] = k_g * g[i] + (k_x * (xc[i] - mean) + k_0);
  }
}

void row_backward(const RowNormArgs& a, const float* grad_y, const float* x, const float* mean,
                  const float* rstd, float* grad_x, index_t r, float* pw, float* pb) {
  const index_t d = row_size(a), c0 = first_channel(a, r);
  const float* w = a.weight ? a.weight + c0 : nullptr;
  if (pw) pw += c0, pb += c0;
  if (a.spatial == 1)
    elementwise_row_backward(grad_y + r * d, x + r * d, grad_x + r * d, d, mean[r], rstd[r], w,
                             pw, pb);
  else
    channel_row_backward(a, grad_y + r * d, x + r * d, grad_x + r * d, mean[r], rstd[r], w, pw,
                         pb);
}

void row_norm_backward(const RowNormArgs& a, const float* grad_y, const float* x,
                       const float* mean, const float* rstd, float* grad_x, float* grad_weight,
                       float* grad_bias) {
  if (!grad_weight) {
    parallel_tasks(a.rows, a.num_threads, [&](index_t r) {
      row_backward(a, grad_y, x, mean, rstd, grad_x, r, nullptr, nullptr);
    });
    return;
  }
  // Chunks and their order depend on the shape only: see the top of the file.
  const index_t size = a.groups * a.channels;
  const index_t parts = reduction_parts(static_cast<double>(a.rows), 2.0 * size);
  const index_t chunk = ceil_div(imax(a.rows, 1), parts), chunks = ceil_div(a.rows, chunk);
  std::vector<float> partials(static_cast<std::size_t>(2 * size * imax(chunks, 1)), 0.0f);
  parallel_tasks(chunks, a.num_threads, [&](index_t q) {
    float *pw = partials.data() + 2 * size * q, *pb = pw + size;
    for (index_t r = q * chunk; r < imin(a.rows, (q + 1) * chunk); ++r)
      row_backward(a, grad_y, x, mean, rstd, grad_x, r, pw, pb);
  });
  for (index_t i = 0; i < size; ++i) {
    float sw = 0.0f, sb = 0.0f;
    for (index_t q = 0; q < chunks; ++q)
      sw += partials[2 * size * q + i], sb += partials[2 * size * q + size + i];
    grad_weight[i] = sw, grad_bias[i] = sb;
  }
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_row_norm)(KernelTable& table) {
  table.row_norm_forward = HPNN_ISA_NS::row_norm_forward;
  table.row_norm_backward = HPNN_ISA_NS::row_norm_backward;
}

}  // namespace hpnn

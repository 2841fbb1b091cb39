// Elementwise activations and row-wise (log-)softmax, forward and backward, compiled once per
// ISA (see core/isa.h). Semantics: python/hpnn/reference/activation.py.
#include "core/kernel_table.h"
#include "core/pointwise.h"
#include "kernels/activation/gelu.h"
#include "kernels/common/stream_store.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// Forward ops read x from stream 0; backward ops read grad_y from 0 and the saved x or y from 1.
struct ReluForward {
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const { return relu(x); }
};
struct ReluBackward {
  vfloat operator()(vfloat g, vfloat x, vfloat, vfloat) const { return x > 0.0f ? g : vfloat{}; }
};
struct LeakyReluForward {
  float slope;
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const { return x > 0.0f ? x : x * slope; }
};
struct LeakyReluBackward {
  float slope;
  vfloat operator()(vfloat g, vfloat x, vfloat, vfloat) const { return x > 0.0f ? g : g * slope; }
};
struct SigmoidForward {
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const { return vsigmoid(x); }
};
struct SigmoidBackward {
  vfloat operator()(vfloat g, vfloat y, vfloat, vfloat) const { return g * (1.0f - y) * y; }
};
struct TanhForward {
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const { return vtanh(x); }
};
// 1 - y^2 as (1 - |y|)(1 + |y|): 1 - |y| is exact for |y| >= 1/2, so nothing cancels near 1.
struct TanhBackward {
  vfloat operator()(vfloat g, vfloat y, vfloat, vfloat) const {
    const vfloat a = vabs(y);
    return g * ((1.0f - a) * (1.0f + a));
  }
};

template <class Op>
void run(const Op& op, const float* a, const float* b, float* out, index_t n, int nt) {
  if (!worth_streaming(n * static_cast<index_t>(sizeof(float)))) {
    pointwise(op, Streams{{a, b, nullptr, nullptr}}, out, n, nt, false);
    return;
  }
  // An output larger than the caches is streamed around them (kernels/common/stream_store.h).
  parallel_ranges(n, nt, [&](index_t begin, index_t end) {
    const float *ra = a + begin, *rb = b ? b + begin : nullptr;
    const auto at = [&](index_t i) {
      return op(vload(ra + i), rb ? vload(rb + i) : vfloat{}, vfloat{}, vfloat{});
    };
    const auto one = [&](index_t i) {
      return op(vbroadcast(ra[i]), vbroadcast(rb ? rb[i] : 0.0f), vfloat{}, vfloat{})[0];
    };
    store_row(out + begin, end - begin, true, at, one);
    stream_fence();
  });
}

void activation_forward(Activation op, const float* x, float* y, index_t n, float param, int nt) {
  switch (op) {
    case Activation::kRelu: return run(ReluForward{}, x, nullptr, y, n, nt);
    case Activation::kLeakyRelu: return run(LeakyReluForward{param}, x, nullptr, y, n, nt);
    case Activation::kSigmoid: return run(SigmoidForward{}, x, nullptr, y, n, nt);
    case Activation::kTanh: return run(TanhForward{}, x, nullptr, y, n, nt);
    case Activation::kGelu: return run(GeluForward{}, x, nullptr, y, n, nt);
    case Activation::kGeluTanh: return run(GeluTanhForward{}, x, nullptr, y, n, nt);
  }
}

void activation_backward(Activation op, const float* g, const float* saved, float* gx, index_t n,
                         float param, int nt) {
  switch (op) {
    case Activation::kRelu: return run(ReluBackward{}, g, saved, gx, n, nt);
    case Activation::kLeakyRelu: return run(LeakyReluBackward{param}, g, saved, gx, n, nt);
    case Activation::kSigmoid: return run(SigmoidBackward{}, g, saved, gx, n, nt);
    case Activation::kTanh: return run(TanhBackward{}, g, saved, gx, n, nt);
    case Activation::kGelu: return run(GeluBackward{}, g, saved, gx, n, nt);
    case Activation::kGeluTanh: return run(GeluTanhBackward{}, g, saved, gx, n, nt);
  }
}

// ---- softmax along contiguous rows ------------------------------------------------------------

// row[i .. i + count) in the first lanes, pad in the others (and in all where row is null).
static inline vfloat vload_padded(const float* row, index_t i, int count, float pad) {
  float padded[kLanes];
  for (int k = 0; k < kLanes; ++k) padded[k] = row && k < count ? row[i + k] : pad;
  return vload(padded);
}

// step(i, count, a, b) over a row of dim elements in vectors from i (count = kLanes, or what is
// left in the last one, whose lanes past the end read as pad); b may be null (reads as pad).
template <class Step>
void for_row_vectors(const float* a, const float* b, index_t dim, float pad, const Step& step) {
  index_t i = 0;
  for (; i + kLanes <= dim; i += kLanes)
    step(i, kLanes, vload(a + i), b ? vload(b + i) : vbroadcast(pad));
  const int rest = static_cast<int>(dim - i);
  if (rest > 0) step(i, rest, vload_padded(a, i, rest, pad), vload_padded(b, i, rest, pad));
}

// x - shift as hi + lo exactly (lo = 0 where hi is not finite, e.g. x = -inf): exp(x - shift)
// then keeps its ~1 ulp accuracy for large differences, which float32 rounding would not.
static inline vfloat shifted(vfloat x, float shift, vfloat* lo) {
  const vfloat hi = vtwo_sum(x, vbroadcast(-shift), lo);
  *lo = vabs(hi) < __builtin_inff() ? *lo : vfloat{};
  return hi;
}
struct ShiftedExp {
  float shift;
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const {
    vfloat lo;
    const vfloat hi = shifted(x, shift, &lo);
    return vexp2part(hi, lo);
  }
};
struct ScaleBy {  // e * factor, rounded once
  double factor;
  vfloat operator()(vfloat e, vfloat, vfloat, vfloat) const {
    return vscale_rounded_once(e, factor);
  }
};
// (x - shift) - lse with both differences carried in two parts: x - shift <= 0 <= lse, so the
// result is a sum of same-signed terms, rounded once.
struct SubtractBoth {
  float shift, lse_hi, lse_lo;
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const {
    vfloat lo;
    const vfloat hi = shifted(x, shift, &lo);
    return (hi - lse_hi) + (lo - lse_lo);
  }
};
struct SumOfFirst {
  vfloat operator()(vfloat g, vfloat, vfloat, vfloat) const { return g; }
};
struct SoftmaxGrad {  // y (g - dot), dot = dot_hi + dot_lo
  float dot_hi, dot_lo;
  vfloat operator()(vfloat g, vfloat y, vfloat, vfloat) const {
    return y * ((g - dot_hi) - dot_lo);
  }
};
struct LogSoftmaxGrad {  // g - exp(y) sum
  float sum;
  vfloat operator()(vfloat g, vfloat y, vfloat, vfloat) const { return g - vexp(y) * sum; }
};

// log(sum exp(x - shift)) in double, as log1p of the terms besides one maximum, so that a
// row dominated by its maximum gets log-probabilities near 0 with full relative accuracy. One
// pass sums exp(x - shift) over x < shift (in float64) and counts x == shift.
double log_sum_exp_shifted(const float* x, float shift, index_t dim) {
  const ShiftedExp exp_shifted{shift};
  vdouble low = vdouble{}, high = vdouble{};
  vint maxima = vint{};
  for_row_vectors(x, nullptr, dim, -__builtin_inff(), [&](index_t, int, vfloat v, vfloat) {
    const vint is_max = v == shift;
    const vfloat e = is_max ? vfloat{} : exp_shifted(v, v, v, v);
    low += vwiden_half(e, 0);
    high += vwiden_half(e, 1);
    maxima -= is_max;  // is_max is -1 where true
  });
  double count = 0.0;
  for (int k = 0; k < kLanes; ++k) count += maxima[k];
  return __builtin_log1p(hsum(low + high) + (count - 1.0));
}

// Sum of exp(x - shift) over the row in float64, the exponentials stored in e (softmax then
// rounds e / sum once: its error is exp's plus that rounding).
double exp_shifted_sum(const float* x, float shift, float* e, index_t dim) {
  const ShiftedExp exp_shifted{shift};
  vdouble low = vdouble{}, high = vdouble{};
  for_row_vectors(x, nullptr, dim, -__builtin_inff(), [&](index_t i, int count, vfloat v, vfloat) {
    const vfloat exp_v = exp_shifted(v, v, v, v);
    vstore_first(e + i, exp_v, count);
    low += vwiden_half(exp_v, 0);
    high += vwiden_half(exp_v, 1);
  });
  return hsum(low + high);
}

// sum g y over the row in float64, where each product is exact.
double dot_exact_products(const float* g, const float* y, index_t dim) {
  constexpr int kHalf = kLanes / 2;
  vdouble low = vdouble{}, high = vdouble{};
  index_t i = 0;
  for (; i + kLanes <= dim; i += kLanes) {
    low += vload_widened(g + i) * vload_widened(y + i);
    high += vload_widened(g + i + kHalf) * vload_widened(y + i + kHalf);
  }
  double sum = hsum(low + high);
  for (; i < dim; ++i) sum += static_cast<double>(g[i]) * y[i];
  return sum;
}

void softmax_row(const float* x, float* y, index_t dim, bool log) {
  const float shift = row_shift(x, dim);
  if (log) {
    const double lse = log_sum_exp_shifted(x, shift, dim);
    const float lse_hi = static_cast<float>(lse);
    const float lse_lo = __builtin_isfinite(lse) ? static_cast<float>(lse - lse_hi) : 0.0f;
    pointwise_range(SubtractBoth{shift, lse_hi, lse_lo}, Streams{{x, nullptr, nullptr, nullptr}},
                    y, 0, dim, false);
  } else {
    const double sum = exp_shifted_sum(x, shift, y, dim);
    pointwise_range(ScaleBy{1.0 / sum}, Streams{{y, nullptr, nullptr, nullptr}}, y, 0, dim, false);
  }
}

void softmax_backward_row(const float* g, const float* y, float* gx, index_t dim, bool log) {
  const Streams both{{g, y, nullptr, nullptr}};
  if (log) {
    const double sum = pointwise_range(SumOfFirst{}, Streams{{g, nullptr, nullptr, nullptr}},
                                       nullptr, 0, dim, true);
    pointwise_range(LogSoftmaxGrad{static_cast<float>(sum)}, both, gx, 0, dim, false);
  } else {
    const double dot = dot_exact_products(g, y, dim);
    const float dot_hi = static_cast<float>(dot);
    const float dot_lo = __builtin_isfinite(dot_hi) ? static_cast<float>(dot - dot_hi) : 0.0f;
    pointwise_range(SoftmaxGrad{dot_hi, dot_lo}, both, gx, 0, dim, false);
  }
}

template <class RowFn>
void for_rows(index_t rows, int nt, const RowFn& fn) {
  if (nt <= 1 || rows < 2) {
    for (index_t r = 0; r < rows; ++r) fn(r);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static)
  for (index_t r = 0; r < rows; ++r) fn(r);
}

void softmax_forward(const float* x, float* y, index_t rows, index_t dim, bool log, int nt) {
  for_rows(rows, nt, [&](index_t r) { softmax_row(x + r * dim, y + r * dim, dim, log); });
}

void softmax_backward(const float* g, const float* y, float* gx, index_t rows, index_t dim,
                      bool log, int nt) {
  for_rows(rows, nt, [&](index_t r) {
    softmax_backward_row(g + r * dim, y + r * dim, gx + r * dim, dim, log);
  });
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_activation)(KernelTable& table) {
  table.activation_forward = HPNN_ISA_NS::activation_forward;
  table.activation_backward = HPNN_ISA_NS::activation_backward;
  table.softmax_forward = HPNN_ISA_NS::softmax_forward;
  table.softmax_backward = HPNN_ISA_NS::softmax_backward;
}

}  // namespace hpnn

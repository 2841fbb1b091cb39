// Elementwise activations and row-wise (log-)softmax, forward and backward, compiled once per
// ISA (see core/isa.h). Semantics: python/hpnn/reference/activation.py.
#include "core/kernel_table.h"
#include "core/pointwise.h"
#include "kernels/common/stream_store.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// Forward ops read x from stream 0; backward ops read grad_y from 0 and the saved x or y from 1.
struct ReluForward {
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const { return x < 0.0f ? vfloat{} : x; }
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

// Both GELU derivatives cross 0 at x = r ~ -0.752, where their two terms cancel. On [-3, 0]
// they are written as (exponential factor) * (x - r) * H(x + 1.5), with r split in two floats
// (x - r is then exact to float32 rounding) and H a smooth, well-conditioned degree-12 fit
// (relative error < 1.2e-7, see the accuracy test).
static inline vfloat near_root(vfloat x, float root_hi, float root_lo, vfloat h) {
  return ((x - root_hi) - root_lo) * h;
}
static inline vint in_root_range(vfloat x) { return (x >= -3.0f) & (x <= 0.0f); }

// Tails that end in the subnormal range are computed scaled by 2^64 and scaled back by the last
// multiply, so that they round once there (to <= 1 subnormal ulp) instead of at every step.
constexpr int kTailScaleLog2 = 64;
constexpr float kTailScale = 18446744073709551616.0f, kTailUnscale = 5.42101086242752217e-20f;
constexpr float kInvSqrt2Pi = 0.398942280401432678f;

// x Phi(x); below -1 as x exp(-x^2/2) ratio.
struct GeluForward {
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const {
    const NormalCdfParts p = vnormal_cdf_parts(x, kTailScaleLog2);
    const vfloat lower = ((x * p.gauss) * p.ratio) * kTailUnscale;
    const vfloat upper = x * (1.0f - (p.gauss * kTailUnscale) * p.ratio);
    return vabs(x) < 1.0f ? x * p.central : (x < 0.0f ? lower : upper);
  }
};
// Phi(x) + x phi(x): phi(x) (x - r) H(x) near the root, exp(-x^2/2) (ratio + x / sqrt(2 pi))
// below it.
struct GeluBackward {
  vfloat operator()(vfloat g, vfloat x, vfloat, vfloat) const {
    const NormalCdfParts p = vnormal_cdf_parts(x, kTailScaleLog2);
    const vfloat pdf = (p.gauss * kTailUnscale) * kInvSqrt2Pi;
    const vfloat h = vpoly(x + 1.5f, {8.290832909e-08f, 3.833269204e-07f, 1.118984642e-06f,
                                      4.735518360e-06f, 2.102693179e-05f, 8.367578266e-05f,
                                      3.177121398e-04f, 1.161104883e-03f, 4.043128341e-03f,
                                      1.332828961e-02f, 4.129758105e-02f, 1.190996021e-01f,
                                      1.315387845e+00f});
    const vfloat central = pdf * near_root(x, -7.517915368e-01f, 1.211444989e-08f, h);
    const vfloat cdf = x < 1.0f ? p.central : 1.0f - (p.gauss * kTailUnscale) * p.ratio;
    const vfloat upper = g * (cdf + x * pdf);
    const vfloat lower = (g * (p.gauss * (p.ratio + x * kInvSqrt2Pi))) * kTailUnscale;
    return in_root_range(x) ? g * central : (x < 0.0f ? lower : upper);
  }
};

// GELU, tanh form: 0.5 x (1 + tanh(u)) = x sigmoid(U), U = 2u = x (A + B x^2) with
// A = 2 sqrt(2/pi), B = 0.044715 A. sigmoid(U) ~ exp(U) turns an error in U into a relative
// error |U| times larger, so U is carried as hi + lo (constants as float pairs, error-free
// products): *lo makes it exact to ~2^-44. x is clamped to [-20, 20], beyond which
// sigmoid(U) is 0 or 1 in float32 (and x^3 would overflow).
constexpr float kAHi = 1.595769167e+00f, kALo = -4.534068054e-08f;
constexpr float kBHi = 7.135481387e-02f, kBLo = 2.398832466e-09f;

static inline vfloat gelu_tanh_arg(vfloat x, vfloat* lo) {
  vfloat square_lo, b_lo, a_lo, u_lo;
  const vfloat square = vtwo_prod(x, x, &square_lo);
  const vfloat b_term = vtwo_prod(vbroadcast(kBHi), square, &b_lo);
  const vfloat factor = vtwo_sum(vbroadcast(kAHi), b_term, &a_lo);
  const vfloat factor_lo = (a_lo + b_lo) + (kBHi * square_lo + kBLo * square + kALo);
  const vfloat u = vtwo_prod(x, factor, &u_lo);
  *lo = u_lo + x * factor_lo;
  return u;
}

struct Sigmoids {
  vfloat scaled_s, one_minus_s;  // sigmoid(U) 2^64, sigmoid(-U)
};

static inline Sigmoids gelu_tanh_sigmoids(vfloat clamped_x) {
  vfloat lo;
  const vfloat hi = gelu_tanh_arg(clamped_x, &lo);
  const vint negative = hi < 0.0f;
  // exp(-|U|) 2^64
  const vfloat scaled_e = vexp2part(negative ? hi : -hi, negative ? lo : -lo, kTailScaleLog2);
  const vfloat large = 1.0f / (1.0f + scaled_e * kTailUnscale), scaled_small = scaled_e * large;
  return {negative ? scaled_small : large * kTailScale,
          negative ? large : scaled_small * kTailUnscale};
}

static inline vfloat clamp20(vfloat x) { return vclamp_high(vclamp_low(x, -20.0f), 20.0f); }

// a sigmoid(U) from sigmoid(U) 2^64: unscaled last where U < 0 (tiny s), first elsewhere
// (a s 2^64 could overflow).
static inline vfloat times_sigmoid(vfloat a, vfloat scaled_s, vfloat x) {
  return x < 0.0f ? (a * scaled_s) * kTailUnscale : a * (scaled_s * kTailUnscale);
}

struct GeluTanhForward {
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const {
    return times_sigmoid(vclamp_low(x, -20.0f), gelu_tanh_sigmoids(clamp20(x)).scaled_s, x);
  }
};
// s (1 + x (1 - s) U'), U' = A + 3B x^2; near the root s (x - r) H(x).
struct GeluTanhBackward {
  vfloat operator()(vfloat g, vfloat x, vfloat, vfloat) const {
    const vfloat xc = clamp20(x);
    const Sigmoids sig = gelu_tanh_sigmoids(xc);
    const vfloat slope = kAHi + (3.0f * kBHi) * (xc * xc);
    const vfloat h = vpoly(xc + 1.5f, {-3.021406201e-07f, -2.702227903e-06f, 7.351475233e-07f,
                                       4.071538569e-05f, 4.003395588e-05f, -3.779495019e-04f,
                                       -6.389914197e-04f, 3.218169091e-03f, 7.092218380e-03f,
                                       -2.848121151e-02f, 9.272237867e-02f, -9.227936864e-01f,
                                       2.551694155e+00f});
    const vfloat central = near_root(xc, -7.524614334e-01f, 1.133962790e-08f, h);
    const vfloat outer = 1.0f + xc * sig.one_minus_s * slope;
    return times_sigmoid(g * (in_root_range(xc) ? central : outer), sig.scaled_s, xc);
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

// Sum of exp(x - shift) over the row, optionally storing the exponentials in e.
template <class Op>
double row_sum(const Op& op, const float* x, const float* x2, float* out, index_t dim) {
  return pointwise_range(op, Streams{{x, x2, nullptr, nullptr}}, out, 0, dim, true);
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
struct DivideBy {
  float d;
  vfloat operator()(vfloat e, vfloat, vfloat, vfloat) const { return e / d; }
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
struct Product {
  vfloat operator()(vfloat g, vfloat y, vfloat, vfloat) const { return g * y; }
};
struct SumOfFirst {
  vfloat operator()(vfloat g, vfloat, vfloat, vfloat) const { return g; }
};
struct SoftmaxGrad {  // y (g - dot)
  float dot;
  vfloat operator()(vfloat g, vfloat y, vfloat, vfloat) const { return y * (g - dot); }
};
struct LogSoftmaxGrad {  // g - exp(y) sum
  float sum;
  vfloat operator()(vfloat g, vfloat y, vfloat, vfloat) const { return g - vexp(y) * sum; }
};

// log(sum exp(x - shift)) in double, as log1p of the terms besides one maximum, so that a
// row dominated by its maximum gets log-probabilities near 0 with full relative accuracy. One
// pass sums exp(x - shift) over x < shift and counts x == shift (the tail padded with -inf).
double log_sum_exp_shifted(const float* x, float shift, index_t dim) {
  const ShiftedExp exp_shifted{shift};
  double below = 0.0, maxima = 0.0;
  for (index_t i = 0; i < dim; i += 256) {
    const index_t end = imin(dim, i + 256);
    vfloat sum = vfloat{}, count = vfloat{};
    for (index_t j = i; j < end; j += kLanes) {
      vfloat v;
      if (j + kLanes <= end) {
        v = vload(x + j);
      } else {
        float padded[kLanes];
        for (int k = 0; k < kLanes; ++k) padded[k] = j + k < end ? x[j + k] : -__builtin_inff();
        v = vload(padded);
      }
      const vint is_max = v == shift;
      sum += is_max ? vfloat{} : exp_shifted(v, v, v, v);
      count += is_max ? vbroadcast(1.0f) : vfloat{};
    }
    below += hsum(sum);
    maxima += hsum(count);
  }
  return __builtin_log1p(below + (maxima - 1.0));
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
    const float sum = static_cast<float>(row_sum(ShiftedExp{shift}, x, nullptr, y, dim));
    pointwise_range(DivideBy{sum}, Streams{{y, nullptr, nullptr, nullptr}}, y, 0, dim, false);
  }
}

void softmax_backward_row(const float* g, const float* y, float* gx, index_t dim, bool log) {
  const Streams both{{g, y, nullptr, nullptr}};
  if (log)
    pointwise_range(LogSoftmaxGrad{static_cast<float>(row_sum(SumOfFirst{}, g, nullptr, nullptr, dim))},
                    both, gx, 0, dim, false);
  else
    pointwise_range(SoftmaxGrad{static_cast<float>(row_sum(Product{}, g, y, nullptr, dim))}, both,
                    gx, 0, dim, false);
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

// Vectorised float32 exp/log/tanh/sigmoid/Phi on vfloat (see simd.h), for per-ISA sources only,
// and the error-free products and sums that let a kernel carry an argument in two parts.
// Accuracy against float64 at the float32 input, measured over a dense sweep of all float32
// magnitudes by tests/kernels/test_activation_accuracy.py (relative; absolute in units of
// FLT_MIN where the result is subnormal): exp <= 1.2e-7, tanh 1.4e-7, sigmoid 1.8e-7, log ~1 ulp;
// Phi (normal CDF) ~2 ulp including its tail (measured through GELU).
// Special values follow libm: exp overflows to inf and underflows gradually to 0, log(0) = -inf,
// log(x < 0) = NaN, NaN propagates everywhere.
#pragma once
#include <cstdint>

#include "core/simd.h"
#if defined(__FMA__)
#include <immintrin.h>
#endif

namespace hpnn {
namespace HPNN_ISA_NS {

typedef std::int32_t vint __attribute__((vector_size(kVecBytes), aligned(4), may_alias));

static inline vint vbits(vfloat x) { return reinterpret_cast<vint&>(x); }
static inline vfloat vfrom_bits(vint x) { return reinterpret_cast<vfloat&>(x); }
static inline vfloat vabs(vfloat x) { return vfrom_bits(vbits(x) & 0x7fffffff); }
// max(x, lo) and min(x, hi) that keep a NaN x.
static inline vfloat vclamp_low(vfloat x, float lo) { return x < lo ? vbroadcast(lo) : x; }
static inline vfloat vclamp_high(vfloat x, float hi) { return x > hi ? vbroadcast(hi) : x; }
static inline float hsum(vfloat v) {
  float s = 0.0f;
  for (int i = 0; i < kLanes; ++i) s += v[i];
  return s;
}
static inline float hmax(vfloat v) {
  float m = v[0];
  for (int i = 1; i < kLanes; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

// v itself, but opaque to the optimiser: a product passed through it is rounded on its own and
// never fused into a later add by -ffp-contract=fast (the error-free transforms need that).
static inline vfloat vrounded(vfloat v) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__("" : "+v"(v));
#elif defined(__aarch64__)
  __asm__("" : "+w"(v));
#endif
  return v;
}

// a + b = sum + *err exactly (Knuth's TwoSum; any magnitudes, finite).
static inline vfloat vtwo_sum(vfloat a, vfloat b, vfloat* err) {
  const vfloat sum = a + b;
  const vfloat b_part = sum - a;
  *err = (a - (sum - b_part)) + (b - b_part);
  return sum;
}

// a * b = product + *err exactly, barring overflow and underflow: one FMA where the ISA has it,
// else the products of 12-bit halves (each exact in float32).
static inline vfloat vtwo_prod(vfloat a, vfloat b, vfloat* err) {
  const vfloat product = vrounded(a * b);
#if defined(__AVX512F__)
  *err = (vfloat)_mm512_fmsub_ps((__m512)a, (__m512)b, (__m512)product);
#elif defined(__FMA__) && defined(__AVX2__)
  *err = (vfloat)_mm256_fmsub_ps((__m256)a, (__m256)b, (__m256)product);
#else
  const vint high_mask = vint{} + (int)0xfffff000;
  const vfloat a_hi = vfrom_bits(vbits(a) & high_mask), a_lo = a - a_hi;
  const vfloat b_hi = vfrom_bits(vbits(b) & high_mask), b_lo = b - b_hi;
  *err = ((vrounded(a_hi * b_hi) - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo;
#endif
  return product;
}

// c[0] x^(N-1) + c[1] x^(N-2) + ... + c[N-1] by Horner's rule (one multiply-add per coefficient).
template <int N>
static inline vfloat vpoly(vfloat x, const float (&c)[N]) {
  vfloat p = vbroadcast(c[0]);
  for (int i = 1; i < N; ++i) p = p * x + c[i];
  return p;
}

// exp(hi + lo) 2^scale_log2 for |lo| << 1 (lo carries the rounding error of an argument computed
// in two parts; the scale keeps a tiny result that later factors enlarge out of the subnormal
// range, 0 <= scale_log2 <= 64). Cody-Waite reduction hi = n ln2 + r, Cephes degree-6
// polynomial on r, and 2^n applied as two factors so that subnormal results underflow gradually.
static inline vfloat vexp2part(vfloat hi, vfloat lo, int scale_log2 = 0) {
  const float lowest = -110.0f - 0.693147f * static_cast<float>(scale_log2);  // result 0 below
  const vfloat x = vclamp_high(vclamp_low(hi, lowest), 89.0f);
  const vfloat magic = vbroadcast(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  const vfloat t = x * 1.44269504088896341f + magic;
  const vint n = vbits(t) - vbits(magic);
  const vfloat nf = t - magic;
  vfloat r = x - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f + (x == hi ? lo : vfloat{});  // lo is moot where hi was clamped
  vfloat p = vbroadcast(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const vint n1 = (n + scale_log2) >> 1, n2 = (n + scale_log2) - n1;
  p = p * vfrom_bits((n1 + 127) << 23) * vfrom_bits((n2 + 127) << 23);
  if (scale_log2 != 0) p = hi < lowest ? vfloat{} : p;  // unscaled, exp(lowest) underflows to 0
  return hi != hi ? hi : p;
}

static inline vfloat vexp(vfloat x) { return vexp2part(x, vfloat{}); }

// Natural log (Cephes logf): x = 2^e m with m in [sqrt(1/2), sqrt(2)), degree-8 polynomial.
static inline vfloat vlog(vfloat x) {
  const vint tiny = x < 1.17549435e-38f;  // subnormals: scale into the normal range first
  const vfloat xs = tiny ? x * 16777216.0f : x;
  const vint bits = vbits(xs);
  vint e = ((bits >> 23) & 0xff) - 126 - (tiny & 24);
  vfloat m = vfrom_bits((bits & 0x007fffff) | 0x3f000000);  // in [0.5, 1)
  const vint small = m < 0.707106781186547524f;
  e += small;  // small is -1 where true
  m = (small ? m + m : m) - 1.0f;
  const vfloat z = m * m;
  vfloat y = vpoly(m, {7.0376836292e-2f, -1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f,
                       1.4249322787e-1f, -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f,
                       3.3333331174e-1f});
  const vfloat ef = __builtin_convertvector(e, vfloat);
  y = y * m * z + ef * -2.12194440e-4f - 0.5f * z;
  vfloat result = m + y + ef * 0.693359375f;
  result = x == 0.0f ? vbroadcast(-__builtin_inff()) : result;
  result = x < 0.0f ? vbroadcast(__builtin_nanf("")) : result;
  return x == __builtin_inff() || x != x ? x : result;
}

// log(1 + x) for x >= 0, accurate for tiny x: log(u) corrected by the rounding of u = 1 + x.
static inline vfloat vlog1p_pos(vfloat x) {
  const vfloat u = x + 1.0f;
  const vfloat correction = (x - (u - 1.0f)) / u;
  return u == 1.0f ? x : vlog(u) + correction;
}

// 1 / (1 + exp(-x)) without overflow: e = exp(-|x|) in (0, 1].
static inline vfloat vsigmoid(vfloat x) {
  const vfloat e = vexp(-vabs(x));
  const vfloat d = 1.0f + e;
  return x >= 0.0f ? 1.0f / d : e / d;
}

// tanh (Cephes tanhf): odd polynomial below 0.625, 1 - 2 / (exp(2|x|) + 1) above.
static inline vfloat vtanh(vfloat x) {
  const vfloat a = vabs(x);
  const vfloat z = x * x;
  vfloat p = vbroadcast(-5.70498872745e-3f);
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const vfloat small = p * z * x + x;
  const vfloat large_abs = 1.0f - 2.0f / (vexp(a + a) + 1.0f);
  const vfloat large = vfrom_bits(vbits(large_abs) | (vbits(x) & (int)0x80000000));
  return a < 0.625f ? small : large;
}

// exp(-x^2 / 2) with x^2 split exactly: x = xh + xl with xh holding the top 12 significand
// bits, so xh^2 is exact and x^2 - xh^2 = (x - xh)(x + xh) carries the rest.
static inline vfloat vgauss(vfloat x, int scale_log2 = 0) {
  const vfloat xh = vfrom_bits(vbits(x) & (int)0xfffff000);
  const vfloat g = vexp2part(-0.5f * xh * xh, -0.5f * ((x - xh) * (x + xh)), scale_log2);
  return x * x > 300.0f ? vfloat{} : g;  // exp(-150) is 0 in float32; also keeps inf - inf out
}

// The standard normal CDF in pieces: Phi(x) = central for |x| < 1, else Phi(-|x|) = gauss *
// ratio with gauss = exp(-x^2/2); both least-squares fits for relative error (< 3e-8 in float32
// coefficients): central = 0.5 + x P(x^2), ratio = t Q(t) with t = 1 / (1 + 0.3 |x|); gauss
// is scaled by 2^gauss_scale_log2 (see vexp2part).
struct NormalCdfParts {
  vfloat central, gauss, ratio;
};

static inline NormalCdfParts vnormal_cdf_parts(vfloat x, int gauss_scale_log2 = 0) {
  const vfloat s = x * x;
  const vfloat p = vpoly(s, {5.41005704235431e-07f, -9.28487042983761e-06f, 1.15331655251794e-04f,
                             -1.18729390669614e-03f, 9.97355114668608e-03f, -6.64903819561004e-02f,
                             3.98942291736603e-01f});
  const vfloat t = 1.0f / (1.0f + 0.3f * vabs(x));
  const vfloat q = vpoly(t, {-0.01403995230793953f, 0.08535538613796234f, -0.18016201257705688f,
                             0.14363522827625275f, -0.04947827383875847f, 0.08420193195343018f,
                             0.08144548535346985f, 0.10975427180528641f, 0.11961407959461212f,
                             0.1196851134300232f});
  return {0.5f + x * p, vgauss(x, gauss_scale_log2), t * q};
}

// Phi(x) with small relative error on both tails; *pdf = exp(-x^2/2)/sqrt(2pi).
static inline vfloat vnormal_cdf(vfloat x, vfloat* pdf) {
  const NormalCdfParts parts = vnormal_cdf_parts(x);
  *pdf = parts.gauss * 0.398942280401432678f;
  const vfloat lower = parts.gauss * parts.ratio;  // Phi(-|x|)
  const vfloat tail = x < 0.0f ? lower : 1.0f - lower;
  return vabs(x) < 1.0f ? parts.central : tail;
}

}  // namespace HPNN_ISA_NS
}  // namespace hpnn

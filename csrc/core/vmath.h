// Vectorised float32 exp/log/tanh/sigmoid on vfloat (see simd.h), for per-ISA sources only; the
// error-free products and sums that let a kernel carry an argument in two parts; and float64
// evaluation of float32 lanes (widen, exp, narrow) for formulas whose float32 roundings would add
// up past ~1 ulp (GELU).
// Accuracy against float64 at the float32 input, measured over a dense sweep of all float32
// magnitudes by tests/kernels/test_activation_accuracy.py (relative; absolute in units of
// subnormal ulps, 2^-149, where the result is subnormal): exp <= 8.5e-8, tanh 1.4e-7, sigmoid
// 1.8e-7, log ~1 ulp; vexp_nonpositive (float64) ~4e-11.
// Special values follow libm: exp overflows to inf and underflows gradually to 0, log(0) = -inf,
// log(x < 0) = NaN, NaN propagates everywhere.
#pragma once
#include <cstdint>

#include "core/simd.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace hpnn {
namespace HPNN_ISA_NS {

typedef std::int32_t vint __attribute__((vector_size(kVecBytes), aligned(4), may_alias));

static inline vint vbits(vfloat x) { return reinterpret_cast<vint&>(x); }
static inline vfloat vfrom_bits(vint x) { return reinterpret_cast<vfloat&>(x); }
// For bit arithmetic that may wrap (defined for unsigned lanes, undefined for signed ones).
typedef std::uint32_t vuint __attribute__((vector_size(kVecBytes), aligned(4), may_alias));
// 2^e from its float bits (e + 127 in [1, 254]), in unsigned lanes: a NaN argument pushes an
// out-of-range e through here, whose bits shift out (its result is replaced by NaN after).
static inline vfloat vpow2_bits(vint e) { return vfrom_bits((vint)(((vuint)e + 127u) << 23)); }
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

// c[0] x^(N-1) + c[1] x^(N-2) + ... + c[N-1] by Horner's rule (one multiply-add per coefficient),
// on vfloat with float coefficients or vdouble with double ones.
template <class V, class T, int N>
static inline V vpoly(V x, const T (&c)[N]) {
  V p = V{} + c[0];
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
  p = p * vpow2_bits(n1) * vpow2_bits(n2);
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

// ---- float64 evaluation of float32 lanes ------------------------------------------------------
// A formula whose float32 roundings add up past ~1 ulp is evaluated in float64 on the two halves
// of a vfloat and rounded once at the end (vwidened): float64 has the range and precision to
// carry it without the error-free transforms above, at about the same cost.

typedef double vdouble __attribute__((vector_size(kVecBytes), aligned(8), may_alias));
typedef std::int64_t vlong __attribute__((vector_size(kVecBytes), aligned(8), may_alias));
// For bit arithmetic that may wrap (defined for unsigned lanes, undefined for signed ones).
typedef std::uint64_t vulong __attribute__((vector_size(kVecBytes), aligned(8), may_alias));
typedef float vfloat_half __attribute__((vector_size(kVecBytes / 2), aligned(4), may_alias));

// Lanes [half * kLanes / 2, (half + 1) * kLanes / 2) of x in float64, and the inverse. (The
// intrinsics: GCC 12 splits a vector conversion into smaller ones.)
static inline vdouble vwiden_half(vfloat x, int half) {
#if defined(__AVX512F__)
  const __m512 whole = (__m512)x;
  const __m256 part = half ? _mm512_extractf32x8_ps(whole, 1) : _mm512_castps512_ps256(whole);
  return (vdouble)_mm512_cvtps_pd(part);
#elif defined(__AVX2__)
  const __m256 whole = (__m256)x;
  const __m128 part = half ? _mm256_extractf128_ps(whole, 1) : _mm256_castps256_ps128(whole);
  return (vdouble)_mm256_cvtps_pd(part);
#elif defined(__SSE2__)
  return (vdouble)_mm_cvtps_pd(half ? _mm_movehl_ps((__m128)x, (__m128)x) : (__m128)x);
#else
  vfloat_half part;
  __builtin_memcpy(&part, reinterpret_cast<const char*>(&x) + half * sizeof(part), sizeof(part));
  return __builtin_convertvector(part, vdouble);
#endif
}

// The kLanes / 2 floats at p in float64.
static inline vdouble vload_widened(const float* p) {
#if defined(__AVX512F__)
  return (vdouble)_mm512_cvtps_pd(_mm256_loadu_ps(p));
#elif defined(__AVX2__)
  return (vdouble)_mm256_cvtps_pd(_mm_loadu_ps(p));
#elif defined(__SSE2__)
  double pair;
  __builtin_memcpy(&pair, p, sizeof(pair));
  return (vdouble)_mm_cvtps_pd(_mm_castpd_ps(_mm_set_sd(pair)));
#else
  vfloat_half part;
  __builtin_memcpy(&part, p, sizeof(part));
  return __builtin_convertvector(part, vdouble);
#endif
}

static inline vfloat vnarrow(vdouble low, vdouble high) {
#if defined(__AVX512F__)
  return (vfloat)_mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps((__m512d)low)),
                                    _mm512_cvtpd_ps((__m512d)high), 1);
#elif defined(__AVX2__)
  return (vfloat)_mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps((__m256d)low)),
                                      _mm256_cvtpd_ps((__m256d)high), 1);
#elif defined(__SSE2__)
  return (vfloat)_mm_movelh_ps(_mm_cvtpd_ps((__m128d)low), _mm_cvtpd_ps((__m128d)high));
#else
  const vfloat_half parts[2] = {__builtin_convertvector(low, vfloat_half),
                                __builtin_convertvector(high, vfloat_half)};
  vfloat x;
  __builtin_memcpy(&x, parts, sizeof(x));
  return x;
#endif
}

// f(a, b) lane by lane in float64, rounded once to float32 (f takes and returns vdouble).
template <class F>
static inline vfloat vwidened(vfloat a, vfloat b, const F& f) {
  return vnarrow(f(vwiden_half(a, 0), vwiden_half(b, 0)), f(vwiden_half(a, 1), vwiden_half(b, 1)));
}

// x f rounded once (to within 2^-48 relative of it), f = f_hi + f_lo split into floats: one FMA
// x f_hi + (x f_lo) where the ISA has it, else in float64.
static inline vfloat vscale_rounded_once(vfloat x, double f) {
#if defined(__FMA__)
  const float f_hi = static_cast<float>(f), f_lo = static_cast<float>(f - f_hi);
  return x * f_hi + vrounded(x * f_lo);  // -ffp-contract=fast: the first product fuses, exact
#else
  return vwidened(x, x, [f](vdouble x, vdouble) { return x * f; });
#endif
}

static inline vdouble vabs(vdouble x) {
  const vlong bits = reinterpret_cast<vlong&>(x) & 0x7fffffffffffffff;
  return reinterpret_cast<const vdouble&>(bits);
}
static inline double hsum(vdouble v) {
  double s = 0.0;
  for (int i = 0; i < kLanes / 2; ++i) s += v[i];
  return s;
}
static inline vdouble vclamp(vdouble x, double lo, double hi) {  // keeps a NaN x
  x = x < lo ? vdouble{} + lo : x;
  return x > hi ? vdouble{} + hi : x;
}

// exp(x) for x <= 0 in float64 to ~1e-10 relative (enough for float32 results): x = n ln2 + r,
// |r| <= ln2 / 2, a degree-7 fit for relative error (4e-11) on r, 2^n from its bits. 0 below
// -700 (where every float32 product of it is 0, or NaN with an infinite factor: the steps
// before are moot there); NaN propagates.
static inline vdouble vexp_nonpositive(vdouble x) {
  const vdouble magic = vdouble{} + 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to integer
  const vdouble t = x * 1.4426950408889634 + magic;
  // In unsigned lanes: below -700 or for NaN the bits of t are arbitrary and the integer steps
  // would overflow (the result is replaced there anyway).
  const vulong n = reinterpret_cast<const vulong&>(t) - reinterpret_cast<const vulong&>(magic);
  const vdouble nf = t - magic;
  const vdouble r = (x - nf * 6.93147180369123816490e-01) - nf * 1.90821492927058770002e-10;
  const vdouble p = vpoly(r, {0.00019775143093838746, 0.0013948192224182874, 0.008333561198562689,
                              0.04166622529379323, 0.16666665125199331, 0.5000000104582654,
                              1.0000000002432807, 0.9999999999616594});
  const vulong scale_bits = (n + 1023) << 52;
  const vdouble result = p * reinterpret_cast<const vdouble&>(scale_bits);
  return x < -700.0 ? vdouble{} : result;
}

}  // namespace HPNN_ISA_NS
}  // namespace hpnn

// Lane access and the gate non-linearities of the recurrent cells (rnn_cells.h), on one vector
// of hidden units. Include only from the per-ISA recurrent sources; everything is in an
// anonymous namespace, so each including file has its own copy for its ISA.
#pragma once
#include "core/vmath.h"
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// `count` <= kLanes floats at p; lanes past count are zero on load and left alone on store.
inline vfloat load_n(const float* p, int count) {
  if (count == kLanes) return vload(p);
  vfloat v = vfloat{};
  __builtin_memcpy(&v, p, static_cast<std::size_t>(count) * sizeof(float));
  return v;
}

inline void store_n(float* p, vfloat v, int count) {
  if (count == kLanes) return vstore(p, v);
  __builtin_memcpy(p, &v, static_cast<std::size_t>(count) * sizeof(float));
}

// 1 / d: the hardware estimate refined by one Newton step (~1 ulp more than a division, but
// several times its throughput; the gates take five per vector).
inline vfloat reciprocal(vfloat d) {
#if defined(__AVX512F__)
  const vfloat r = (vfloat)_mm512_rcp14_ps((__m512)d);
#elif defined(__AVX2__)
  const vfloat r = (vfloat)_mm256_rcp_ps((__m256)d);
#else
  return 1.0f / d;
#endif
#if defined(__AVX512F__) || defined(__AVX2__)
  return r * (2.0f - d * r);
#endif
}

// exp(x) for the gates, x in [-87, 80] (callers clamp; NaN passes through): vexp's Cody-Waite
// reduction x = n ln2 + r, but a degree-6 polynomial on r (fitted for relative error: ~1 ulp
// with rounding, as vexp's degree 7) and 2^n as one factor, since n stays in the normal range:
// 14 operations instead of 25.
inline vfloat gate_exp(vfloat x) {
  const vfloat magic = vbroadcast(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  const vfloat t = x * 1.44269504088896341f + magic;
  const vfloat nf = t - magic;
  const vfloat r = x - nf * 0.693359375f - nf * -2.12194440e-4f;
  vfloat p = vbroadcast(1.381461275741458e-3f);
  p = p * r + 8.368710055947304e-3f;
  p = p * r + 4.166838899254799e-2f;
  p = p * r + 1.666652113199234e-1f;
  p = p * r + 4.999999403953552e-1f;
  p = p * (r * r) + r + 1.0f;
  return p * vpow2_bits(vbits(t));  // t's low bits hold n, the bits above shift out
}

// The gates' sigmoid and tanh: 1 / (1 + exp(-x)) with exp's argument clamped to its range (the
// result is already 0 or 1 in float32 there), and tanh(x) = 2 sigmoid(2x) - 1 (absolute error
// ~1e-7 near 0, like the rest).
inline vfloat gate_sigmoid(vfloat x) {
  return reciprocal(1.0f + gate_exp(vclamp_high(vclamp_low(-x, -87.0f), 80.0f)));
}
inline vfloat gate_tanh(vfloat x) { return 2.0f * gate_sigmoid(x + x) - 1.0f; }

inline vfloat dsigmoid(vfloat s) { return s * (1.0f - s); }  // from the sigmoid's value
inline vfloat dtanh(vfloat t) { return 1.0f - t * t; }       // from tanh's value

}  // namespace
}  // namespace HPNN_ISA_NS
}  // namespace hpnn

// The one SIMD abstraction of the ISA sources: GCC/Clang vector extensions, so a kernel is
// written once and compiled to SSE2, AVX2+FMA or AVX-512 by the flags of its translation unit.
// Include only from per-ISA sources (see isa.h).
#pragma once
#include "core/isa.h"

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace hpnn {
namespace HPNN_ISA_NS {

#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
#elif defined(__AVX2__)
constexpr int kVecBytes = 32;
#else
constexpr int kVecBytes = 16;  // SSE2 on x86-64, NEON on aarch64, plain code elsewhere
#endif
constexpr int kLanes = kVecBytes / static_cast<int>(sizeof(float));

// aligned(4): loads and stores through this type may be unaligned.
typedef float vfloat __attribute__((vector_size(kVecBytes), aligned(4), may_alias));

// Fixed-width types for shuffles and reductions; u: may be unaligned and alias anything.
typedef float vfloat4 __attribute__((vector_size(16)));
typedef float vfloat8 __attribute__((vector_size(32)));
typedef float vfloat4u __attribute__((vector_size(16), aligned(4), may_alias));
typedef float vfloat8u __attribute__((vector_size(32), aligned(4), may_alias));

static inline vfloat vload(const float* p) { return *reinterpret_cast<const vfloat*>(p); }
static inline void vstore(float* p, vfloat v) { *reinterpret_cast<vfloat*>(p) = v; }
// x - 0 folds to x (x + 0 does not: -0 + 0 is +0), so this compiles to a bare broadcast.
static inline vfloat vbroadcast(float x) { return x - vfloat{}; }

// Sum of the lanes by halving: log2(lanes) vector adds instead of lanes scalar ones. Halves by
// shuffles, not by copying bytes out of v: a memcpy from its address made GCC keep a caller's
// whole register block of accumulators in memory.
static inline float horizontal_sum(vfloat v) {
#if defined(__AVX512F__)
  const vfloat8 half = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                       __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const vfloat4 quarter = __builtin_shufflevector(half, half, 0, 1, 2, 3) +
                          __builtin_shufflevector(half, half, 4, 5, 6, 7);
#elif defined(__AVX2__)
  const vfloat4 quarter = __builtin_shufflevector(v, v, 0, 1, 2, 3) +
                          __builtin_shufflevector(v, v, 4, 5, 6, 7);
#else
  const vfloat4 quarter = __builtin_shufflevector(v, v, 0, 1, 2, 3);
#endif
  return (quarter[0] + quarter[2]) + (quarter[1] + quarter[3]);
}

// even[i] = lanes 2i and odd[i] = lanes 2i + 1 of the 2 * kLanes floats lo:hi.
static inline void deinterleave(vfloat lo, vfloat hi, vfloat* even, vfloat* odd) {
#if defined(__AVX512F__)
  *even = __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  *odd = __builtin_shufflevector(lo, hi, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
#elif defined(__AVX2__)
  *even = __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14);
  *odd = __builtin_shufflevector(lo, hi, 1, 3, 5, 7, 9, 11, 13, 15);
#else
  *even = __builtin_shufflevector(lo, hi, 0, 2, 4, 6);
  *odd = __builtin_shufflevector(lo, hi, 1, 3, 5, 7);
#endif
}

// The inverse of deinterleave: lo:hi = even[0], odd[0], even[1], odd[1], ...
static inline void interleave(vfloat even, vfloat odd, vfloat* lo, vfloat* hi) {
#if defined(__AVX512F__)
  *lo = __builtin_shufflevector(even, odd, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  *hi = __builtin_shufflevector(even, odd, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                15, 31);
#elif defined(__AVX2__)
  *lo = __builtin_shufflevector(even, odd, 0, 8, 1, 9, 2, 10, 3, 11);
  *hi = __builtin_shufflevector(even, odd, 4, 12, 5, 13, 6, 14, 7, 15);
#else
  *lo = __builtin_shufflevector(even, odd, 0, 4, 1, 5);
  *hi = __builtin_shufflevector(even, odd, 2, 6, 3, 7);
#endif
}

// max(x, 0) with NaN kept (NaN < 0 is false), as torch.relu.
static inline vfloat relu(vfloat x) { return x < 0.0f ? vfloat{} : x; }
static inline float relu(float x) { return x < 0.0f ? 0.0f : x; }

// prev's last lane followed by cur's lanes but the last: a stream of lanes shifted by one.
static inline vfloat shift_in(vfloat prev, vfloat cur) {
#if defined(__AVX512F__)
  return __builtin_shufflevector(prev, cur, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
                                 29, 30);
#elif defined(__AVX2__)
  return __builtin_shufflevector(prev, cur, 7, 8, 9, 10, 11, 12, 13, 14);
#else
  return __builtin_shufflevector(prev, cur, 3, 4, 5, 6);
#endif
}

// The first `count` (0 < count <= kLanes) floats at p, zero in the other lanes; reads nothing
// past them (masked loads on AVX2 and AVX-512). Moves bits only, so 32-bit integers go through
// it too (vec_ops.h).
static inline vfloat vload_first(const float* p, int count) {
#if defined(__AVX512F__)
  return (vfloat)_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1), p);
#elif defined(__AVX2__)
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return (vfloat)_mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(count), lanes));
#else
  vfloat v = {};
  __builtin_memcpy(&v, p, static_cast<std::size_t>(count) * sizeof(float));
  return v;
#endif
}

// Stores the first `count` (0 < count <= kLanes) lanes of v to p, nothing past them.
static inline void vstore_first(float* p, vfloat v, int count) {
#if defined(__AVX512F__)
  _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << count) - 1), (__m512)v);
#elif defined(__AVX2__)
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(count), lanes), (__m256)v);
#else
  __builtin_memcpy(p, &v, static_cast<std::size_t>(count) * sizeof(float));
#endif
}

static inline index_t imin(index_t a, index_t b) { return a < b ? a : b; }
static inline index_t imax(index_t a, index_t b) { return a > b ? a : b; }
static inline index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

}  // namespace HPNN_ISA_NS
}  // namespace hpnn

// Lane shuffles, index vectors, 2x2 window steps and simple streaming loops shared by the
// pooling, normalisation and convolution kernels. Include only from per-ISA sources (see core/isa.h).
#pragma once
#include <cstdint>

#include "core/simd.h"

namespace hpnn {
namespace HPNN_ISA_NS {

// 32-bit integer lanes matching vfloat: also the type of vfloat comparisons (-1 true, 0 false).
typedef int vint __attribute__((vector_size(kVecBytes), aligned(4), may_alias));
// kLanes 64-bit indices: two hardware vectors, split by the compiler.
typedef long long vint64 __attribute__((vector_size(2 * kVecBytes), aligned(8), may_alias));

// Lane numbers as a vector compare only against constants, so the lists below are per width.
#if defined(__AVX512F__)
#define HPNN_EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define HPNN_ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#define HPNN_LOW_PAIRS 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define HPNN_HIGH_PAIRS 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#define HPNN_IOTA 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
#elif defined(__AVX2__)
#define HPNN_EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14
#define HPNN_ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15
#define HPNN_LOW_PAIRS 0, 8, 1, 9, 2, 10, 3, 11
#define HPNN_HIGH_PAIRS 4, 12, 5, 13, 6, 14, 7, 15
#define HPNN_IOTA 0, 1, 2, 3, 4, 5, 6, 7
#else
#define HPNN_EVEN_LANES 0, 2, 4, 6
#define HPNN_ODD_LANES 1, 3, 5, 7
#define HPNN_LOW_PAIRS 0, 4, 1, 5
#define HPNN_HIGH_PAIRS 2, 6, 3, 7
#define HPNN_IOTA 0, 1, 2, 3
#endif

static inline vint lane_iota() { return vint{HPNN_IOTA}; }

// (lo, hi) = 2 * kLanes consecutive floats -> their even- and odd-numbered elements.
static inline void deinterleave(vfloat lo, vfloat hi, vfloat& even, vfloat& odd) {
  even = __builtin_shufflevector(lo, hi, HPNN_EVEN_LANES);
  odd = __builtin_shufflevector(lo, hi, HPNN_ODD_LANES);
}

// The inverse: lo, hi = even[0], odd[0], even[1], odd[1], ...
static inline void interleave(vfloat even, vfloat odd, vfloat& lo, vfloat& hi) {
  lo = __builtin_shufflevector(even, odd, HPNN_LOW_PAIRS);
  hi = __builtin_shufflevector(even, odd, HPNN_HIGH_PAIRS);
}

// Max-pool selection step in window order: `candidate` wins where it is greater or NaN.
static inline void take_if_better(vfloat& best, vint& best_offset, vfloat candidate,
                                  vint offset) {
  const vint wins = (candidate > best) | (candidate != candidate);
  best = wins ? candidate : best;
  best_offset = wins ? offset : best_offset;
}

// The maxima of a vector of 2x2 windows whose top rows are t0:t1 and bottom rows b0:b1 (two
// vectors of input columns each), and their flat positions in the plane, the first window's
// top-left at `corner`.
static inline void window_max_2x2(vfloat t0, vfloat t1, vfloat b0, vfloat b1, index_t width,
                                  index_t corner, vfloat& best, vint& at) {
  vfloat tl, tr, bl, br;
  deinterleave(t0, t1, tl, tr);
  deinterleave(b0, b1, bl, br);
  best = tl;
  vint offset = vint{};  // of the winner from top-left: 0, 1, W, W + 1
  const vint w = vint{} + static_cast<int>(width);
  take_if_better(best, offset, tr, vint{} + 1);
  take_if_better(best, offset, bl, w);
  take_if_better(best, offset, br, w + 1);
  at = offset + lane_iota() * 2 + static_cast<int>(corner);
}

// vload_first and vstore_first on 32-bit integer lanes: the same masked moves of bits.
static inline vint vload_first(const std::int32_t* p, int count) {
  return (vint)vload_first(reinterpret_cast<const float*>(p), count);
}

static inline void vstore_first(std::int32_t* p, vint v, int count) {
  vstore_first(reinterpret_cast<float*>(p), (vfloat)v, count);
}

// Max-unpools `count` (0 < count <= kLanes) disjoint 2x2 windows in one masked step: window i's
// gradient gy[i] (zero where relu_out[i], when given, is not > 0) goes to its argmax idx[i], a
// flat position in the plane (`width` wide; window 0's top-left at `corner`), within the
// windows' 2 * count columns of rows top and bottom, zero elsewhere in them. Nothing past those
// columns is read or written. Returns the lanes whose index lies outside its window.
static inline vint unpool_2x2_masked(const float* gy, const float* relu_out,
                                     const std::int32_t* idx, int count, index_t corner,
                                     index_t width, float* top, float* bottom) {
  const vint offset = vload_first(idx, count) - (lane_iota() * 2 + static_cast<int>(corner));
  const vint w = vint{} + static_cast<int>(width);
  const vint tl = offset == 0, tr = offset == 1, bl = offset == w, br = offset == w + 1;
  const vfloat zero = vfloat{};
  vfloat g = vload_first(gy, count);
  if (relu_out) g = vload_first(relu_out, count) > 0.0f ? g : zero;
  const int first = static_cast<int>(imin(2 * count, kLanes)), second = 2 * count - first;
  vfloat lo, hi;
  interleave(tl ? g : zero, tr ? g : zero, lo, hi);
  vstore_first(top, lo, first);
  if (second > 0) vstore_first(top + kLanes, hi, second);
  interleave(bl ? g : zero, br ? g : zero, lo, hi);
  vstore_first(bottom, lo, first);
  if (second > 0) vstore_first(bottom + kLanes, hi, second);
  return ~(tl | tr | bl | br) & (lane_iota() < count);
}

static inline void store_index(index_t* out, vint positions) {
  *reinterpret_cast<vint64*>(out) = __builtin_convertvector(positions, vint64);
}

static inline void store_index(std::int32_t* out, vint positions) {
  *reinterpret_cast<vint*>(out) = positions;
}

static inline void fill(float* out, index_t n, float value) {
  const vfloat v = vbroadcast(value);
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes) vstore(out + i, v);
  for (; i < n; ++i) out[i] = value;
}

static inline float lane_sum(vfloat v) {
  float total = 0.0f;
  for (int l = 0; l < kLanes; ++l) total += v[l];
  return total;
}

// sum(p[i] - shift) over n <= a few thousand values, in float with 4 * kLanes partial sums.
static inline float shifted_sum(const float* p, index_t n, float shift) {
  const vfloat vshift = vbroadcast(shift);
  vfloat acc[4] = {};
  index_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes)
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) acc[u] += vload(p + i + u * kLanes) - vshift;
  for (; i + kLanes <= n; i += kLanes) acc[0] += vload(p + i) - vshift;
  float total = lane_sum((acc[0] + acc[1]) + (acc[2] + acc[3]));
  for (; i < n; ++i) total += p[i] - shift;
  return total;
}

// Values summed in float per block, blocks in double: accurate for any length.
constexpr index_t kSumBlock = 2048;

static inline double sum_blocked(const float* p, index_t n) {
  double total = 0.0;
  for (index_t i = 0; i < n; i += kSumBlock) total += shifted_sum(p + i, imin(kSumBlock, n - i), 0.0f);
  return total;
}

}  // namespace HPNN_ISA_NS
}  // namespace hpnn

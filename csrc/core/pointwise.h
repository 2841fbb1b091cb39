// Loop drivers for elementwise kernels (activations, losses, optimizer steps, dropout), so each
// op is written once as a vector function. Include only from per-ISA sources (see core/isa.h).
#pragma once
#include <vector>

#include "core/parallel.h"
#include "core/vmath.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace hpnn {
namespace HPNN_ISA_NS {

// Calls body(begin, end) on nt contiguous parts of [0, n) (each a multiple of 16 elements but
// the last, so that parts never share a cache line), in parallel when nt > 1.
template <class Body>
void parallel_ranges(index_t n, int nt, const Body& body) {
  const index_t part = ceil_div(ceil_div(n, nt > 0 ? nt : 1), 16) * 16;
  const index_t parts = part > 0 ? ceil_div(n, part) : 0;
  if (parts <= 1) {
    if (n > 0) body(index_t{0}, n);
    return;
  }
#pragma omp parallel for num_threads(static_cast<int>(parts)) schedule(static)
  for (index_t p = 0; p < parts; ++p) body(p * part, imin(n, (p + 1) * part));
}

// Elements per part of a deterministic sum (a multiple of pointwise_range's 256-element
// blocks): parts fixed by n alone, each summed by whichever thread takes it.
constexpr index_t kSumPart = 1 << 14;

// As parallel_ranges, for bodies returning a partial sum; returns the total. Deterministic
// mode (core/parallel.h): the parts are kSumPart elements, whatever nt, and their sums are
// added in order; otherwise nt parts, added in the order OpenMP's reduction takes them.
template <class Body>
double parallel_sum(index_t n, int nt, const Body& body) {
  if (deterministic_algorithms()) {
    const index_t parts = ceil_div(n, kSumPart);
    if (parts <= 1) return n > 0 ? body(index_t{0}, n) : 0.0;
    std::vector<double> sums(static_cast<std::size_t>(parts));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (index_t p = 0; p < parts; ++p) sums[p] = body(p * kSumPart, imin(n, (p + 1) * kSumPart));
    double total = 0.0;
    for (const double part_sum : sums) total += part_sum;
    return total;
  }
  const index_t part = ceil_div(ceil_div(n, nt > 0 ? nt : 1), 16) * 16;
  const index_t parts = part > 0 ? ceil_div(n, part) : 0;
  if (parts <= 1) return n > 0 ? body(index_t{0}, n) : 0.0;
  double total = 0.0;
#pragma omp parallel for num_threads(static_cast<int>(parts)) schedule(static) reduction(+ : total)
  for (index_t p = 0; p < parts; ++p) total += body(p * part, imin(n, (p + 1) * part));
  return total;
}

// Up to four input streams of one elementwise op; a null stream reads as zeros.
struct Streams {
  const float* in[4];
};

static inline vfloat load_or_zero(const float* p, index_t i) { return p ? vload(p + i) : vfloat{}; }

// out[i] = op(a[i], b[i], c[i], d[i]) for i in [begin, end); the tail runs on zero-padded
// copies. Returns the sum of the outputs (in double across blocks of 256 elements) when `sum`.
// out may be null (sum only) and may alias an input.
template <class Op>
double pointwise_range(const Op& op, const Streams& s, float* out, index_t begin, index_t end,
                       bool sum) {
  double total = 0.0;
  index_t i = begin;
  while (i + kLanes <= end) {
    const index_t block_end = imin(end - kLanes + 1, i + 256);
    vfloat acc = vfloat{};
    for (; i < block_end; i += kLanes) {
      const vfloat y = op(load_or_zero(s.in[0], i), load_or_zero(s.in[1], i),
                          load_or_zero(s.in[2], i), load_or_zero(s.in[3], i));
      if (out) vstore(out + i, y);
      if (sum) acc += y;
    }
    if (sum) total += hsum(acc);
  }
  if (i < end) {
    const int rem = static_cast<int>(end - i);
    float padded[4][kLanes] = {}, result[kLanes];
    for (int k = 0; k < 4; ++k)
      if (s.in[k])
        for (int j = 0; j < rem; ++j) padded[k][j] = s.in[k][i + j];
    vstore(result, op(vload(padded[0]), vload(padded[1]), vload(padded[2]), vload(padded[3])));
    for (int j = 0; j < rem; ++j) {
      if (out) out[i + j] = result[j];
      if (sum) total += result[j];
    }
  }
  return total;
}

template <class Op>
double pointwise(const Op& op, const Streams& s, float* out, index_t n, int nt, bool sum) {
  return parallel_sum(n, nt, [&](index_t begin, index_t end) {
    return pointwise_range(op, s, out, begin, end, sum);
  });
}

// The row's max, replaced by 0 when not finite (as the reference's _shifted does).
static inline float row_shift(const float* x, index_t dim) {
  vfloat m = vbroadcast(-__builtin_inff());
  index_t i = 0;
  for (; i + kLanes <= dim; i += kLanes) {
    const vfloat v = vload(x + i);
    m = v > m ? v : m;
  }
  float best = hmax(m);
  for (; i < dim; ++i) best = x[i] > best ? x[i] : best;
  return __builtin_isfinite(best) ? best : 0.0f;
}

}  // namespace HPNN_ISA_NS
}  // namespace hpnn

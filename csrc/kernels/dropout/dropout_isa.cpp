// Inverted dropout with the counter-based SplitMix64 mask of python/hpnn/reference/dropout.py:
// element i's bit depends only on (seed, i), so any split over threads gives the same mask.
// The hash runs on 64-bit vectors (vpmullq with AVX-512DQ, emulated elsewhere).
#include <cstdint>

#include "core/kernel_table.h"
#include "core/pointwise.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// The top 24 bits of the (i + 1)-th SplitMix64 output for `seed`.
static inline std::uint64_t splitmix_top24(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (z ^ (z >> 31)) >> 40;
}

constexpr int kHalf = kLanes / 2;
typedef std::uint64_t vu64 __attribute__((vector_size(kVecBytes)));
typedef std::int32_t vi32_half __attribute__((vector_size(kVecBytes / 2)));
typedef std::int32_t vi32 __attribute__((vector_size(kVecBytes)));
typedef std::uint8_t vu8 __attribute__((vector_size(kLanes)));

#if defined(__AVX512F__)
#define HPNN_DROPOUT_IOTA 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
#elif defined(__AVX2__)
#define HPNN_DROPOUT_IOTA 0, 1, 2, 3, 4, 5, 6, 7
#else
#define HPNN_DROPOUT_IOTA 0, 1, 2, 3
#endif

// -1 where the (index + 1)-th outputs, index = first + lane, reach the threshold.
static inline vi32_half keep_lanes(std::uint64_t seed, vu64 index, std::uint64_t threshold) {
  vu64 z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return __builtin_convertvector(((z ^ (z >> 31)) >> 40) >= threshold, vi32_half);
}

void dropout_range(const DropoutArgs& a, index_t begin, index_t end) {
  vu64 lane;
  for (int j = 0; j < kHalf; ++j) lane[j] = static_cast<std::uint64_t>(j);
  index_t i = begin;
  for (; i + kLanes <= end; i += kLanes) {
    const vu64 first = static_cast<std::uint64_t>(i) + lane;
    const vi32 keep = __builtin_shufflevector(keep_lanes(a.seed, first, a.threshold),
                                              keep_lanes(a.seed, first + kHalf, a.threshold),
                                              HPNN_DROPOUT_IOTA);
    vstore(a.out + i, keep ? vload(a.input + i) * a.scale : vfloat{});
    const vu8 bytes = __builtin_convertvector(keep & 1, vu8);
    __builtin_memcpy(a.mask + i, &bytes, kLanes);
  }
  for (; i < end; ++i) {
    const bool keep = splitmix_top24(a.seed, static_cast<std::uint64_t>(i)) >= a.threshold;
    a.mask[i] = keep;
    a.out[i] = keep ? a.input[i] * a.scale : 0.0f;
  }
}

void dropout_forward(const DropoutArgs& a) {
  parallel_ranges(a.n, a.num_threads,
                  [&](index_t begin, index_t end) { dropout_range(a, begin, end); });
}

void dropout_backward(const DropoutArgs& a) {
  parallel_ranges(a.n, a.num_threads, [&](index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) a.out[i] = a.mask[i] ? a.input[i] * a.scale : 0.0f;
  });
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_dropout)(KernelTable& table) {
  table.dropout_forward = HPNN_ISA_NS::dropout_forward;
  table.dropout_backward = HPNN_ISA_NS::dropout_backward;
}

}  // namespace hpnn

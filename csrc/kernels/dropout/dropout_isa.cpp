// Inverted dropout with the counter-based SplitMix64 mask of python/hpnn/reference/dropout.py:
// element i's bit depends only on (seed, i), so any split over threads gives the same mask.
// Plain loops: GCC vectorises the 64-bit mixing (vpmullq with AVX-512DQ).
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

void dropout_forward(const DropoutArgs& a) {
  parallel_ranges(a.n, a.num_threads, [&](index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) {
      const bool keep = splitmix_top24(a.seed, static_cast<std::uint64_t>(i)) >= a.threshold;
      a.mask[i] = keep;
      a.out[i] = keep ? a.input[i] * a.scale : 0.0f;
    }
  });
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

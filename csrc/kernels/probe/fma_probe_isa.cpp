// Measures the core's peak multiply-add throughput for this ISA: independent accumulator
// chains (more than latency x ports) updated in registers, nothing touching memory.
#include "core/kernel_table.h"
#include "core/simd.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

constexpr int kChains = kVecBytes == 64 ? 24 : 12;

double fma_probe(index_t iters) {
  vfloat acc[kChains];
#pragma GCC unroll 32
  for (int j = 0; j < kChains; ++j) acc[j] = vbroadcast(1.0f + 1e-3f * j);
  // Read through volatile so the compiler cannot fold the loop.
  volatile float scale_value = 0.9999999f, shift_value = 1e-7f;
  const vfloat scale = vbroadcast(scale_value), shift = vbroadcast(shift_value);
  for (index_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32
    for (int j = 0; j < kChains; ++j) acc[j] = acc[j] * scale + shift;
  }
  vfloat total = vfloat{};
  for (int j = 0; j < kChains; ++j) total += acc[j];
  volatile float sink[kLanes];
  for (int i = 0; i < kLanes; ++i) sink[i] = total[i];
  return 2.0 * kLanes * kChains * static_cast<double>(iters);
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_probe)(KernelTable& table) { table.fma_probe = HPNN_ISA_NS::fma_probe; }

}  // namespace hpnn

// The one SIMD abstraction of the ISA sources: GCC/Clang vector extensions, so a kernel is
// written once and compiled to SSE2, AVX2+FMA or AVX-512 by the flags of its translation unit.
// Include only from per-ISA sources (see isa.h).
#pragma once
#include "core/isa.h"

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

static inline vfloat vload(const float* p) { return *reinterpret_cast<const vfloat*>(p); }
static inline void vstore(float* p, vfloat v) { *reinterpret_cast<vfloat*>(p) = v; }
// x - 0 folds to x (x + 0 does not: -0 + 0 is +0), so this compiles to a bare broadcast.
static inline vfloat vbroadcast(float x) { return x - vfloat{}; }

static inline index_t imin(index_t a, index_t b) { return a < b ? a : b; }
static inline index_t imax(index_t a, index_t b) { return a > b ? a : b; }
static inline index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

}  // namespace HPNN_ISA_NS
}  // namespace hpnn

// The unpacked dot-product GEMM for narrow products, compiled once per ISA (included by per-ISA
// sources only; everything is in an anonymous namespace).
#pragma once
#include "core/kernel_table.h"
#include "core/simd.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// Narrow products with K contiguous in both operands (row-major A @ row-major B.T, e.g. a linear
// layer with few outputs): every element of C is a dot product along K. A TM x TN tile of
// vector accumulators, reduced once at the end, needs no packing at all -- the packed path
// would transpose B and pad the narrow side to a whole NR panel.
#if defined(__AVX512F__)
constexpr int TM = 4, TN = 4;
#else
constexpr int TM = 2, TN = 4;  // 8 accumulators + 6 operands in 16 registers
#endif

void dot_tile(const GemmArgs& g, index_t i0, index_t j0) {
  const float* a_rows[TM];
  const float* b_cols[TN];
  for (int i = 0; i < TM; ++i) a_rows[i] = g.a + imin(i0 + i, g.m - 1) * g.rs_a;  // clamp edges
  for (int j = 0; j < TN; ++j) b_cols[j] = g.b + imin(j0 + j, g.n - 1) * g.cs_b;
  vfloat acc[TM][TN];
#pragma GCC unroll 16
  for (int i = 0; i < TM; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < TN; ++j) acc[i][j] = vfloat{};
  index_t p = 0;
  for (; p + kLanes <= g.k; p += kLanes) {
    vfloat a_vec[TM], b_vec[TN];
#pragma GCC unroll 4
    for (int i = 0; i < TM; ++i) a_vec[i] = vload(a_rows[i] + p);
#pragma GCC unroll 4
    for (int j = 0; j < TN; ++j) b_vec[j] = vload(b_cols[j] + p);
#pragma GCC unroll 16
    for (int i = 0; i < TM; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < TN; ++j) acc[i][j] += a_vec[i] * b_vec[j];
  }
  for (int i = 0; i < imin(TM, g.m - i0); ++i)
    for (int j = 0; j < imin(TN, g.n - j0); ++j) {
      float dot = horizontal_sum(acc[i][j]);
      for (index_t q = p; q < g.k; ++q) dot += a_rows[i][q] * b_cols[j][q];
      float& out = g.c[(i0 + i) * g.rs_c + (j0 + j) * g.cs_c];
      out = g.beta == 0.0f ? g.alpha * dot : g.alpha * dot + g.beta * out;
    }
}

// C = alpha * A @ B^T + beta * C on the calling thread through dot_tile (op(A) and op(B) must
// have K contiguous: cs_a == 1, rs_b == 1).
void gemm_dot(const GemmArgs& g) {
  for (index_t i0 = 0; i0 < g.m; i0 += TM)
    for (index_t j0 = 0; j0 < g.n; j0 += TN) dot_tile(g, i0, j0);
}

}  // namespace
}  // namespace HPNN_ISA_NS
}  // namespace hpnn

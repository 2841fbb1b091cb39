// Single-precision GEMM entry point, compiled once per ISA: trivial cases, the unpacked
// dot-product path for narrow products, and the blocked path of gemm_driver.h.
#include "kernels/gemm/gemm_driver.h"

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

bool use_dot_path(const GemmArgs& g) {
  const bool k_contiguous = g.cs_a == 1 && g.rs_b == 1;
  const bool narrow = imin(g.m, g.n) < NR / 2;
  return k_contiguous && narrow && g.m * g.n * g.k <= (index_t{1} << 21);
}

void sgemm_dot(const GemmArgs& g) {
  for (index_t i0 = 0; i0 < g.m; i0 += TM)
    for (index_t j0 = 0; j0 < g.n; j0 += TN) dot_tile(g, i0, j0);
}

// Area of C the micro-kernel computes, edges padded to whole MR x NR tiles.
index_t padded_area(index_t m, index_t n) { return ceil_div(m, MR) * MR * ceil_div(n, NR) * NR; }

// C^T = op(B)^T op(A)^T: the same product with the roles of M and N exchanged.
GemmArgs transposed(const GemmArgs& g) {
  GemmArgs t = g;
  t.m = g.n, t.n = g.m;
  t.a = g.b, t.rs_a = g.cs_b, t.cs_a = g.rs_b;
  t.b = g.a, t.rs_b = g.cs_a, t.cs_b = g.rs_a;
  t.rs_c = g.cs_c, t.cs_c = g.rs_c;
  return t;
}

void sgemm(const GemmArgs& args, const GemmBlocking& blk) {
  if (args.m == 0 || args.n == 0) return;
  if (args.k == 0 || args.alpha == 0.0f) return scale_c(args);
  if (use_dot_path(args)) return sgemm_dot(args);
  // A narrow C (N well below NR, e.g. a 10-class output layer) wastes most of each tile on
  // padding; computing C^T puts the narrow side on the MR rows instead.
  const bool swap = 4 * padded_area(args.n, args.m) < 3 * padded_area(args.m, args.n);
  const GemmArgs g = swap ? transposed(args) : args;
  gemm_run(g, blk, StridedB{g.b, g.rs_b, g.cs_b});
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_gemm)(KernelTable& table) {
  table.sgemm = HPNN_ISA_NS::sgemm;
  table.gemm_blocking = HPNN_ISA_NS::kBlocking;
}

}  // namespace hpnn

// Single-precision GEMM entry point, compiled once per ISA: trivial cases, the unpacked
// dot-product path for narrow products (gemm_dot.h), and the blocked path of gemm_driver.h.
#include "kernels/gemm/gemm_dot.h"
#include "kernels/gemm/gemm_driver.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

bool use_dot_path(const GemmArgs& g) {
  return g.cs_a == 1 && g.rs_b == 1 && dot_products_pay(g.m, g.n, g.k);
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
  if (use_dot_path(args)) return gemm_dot(args);
  // A narrow C (N well below NR, e.g. a 10-class output layer) wastes most of each tile on
  // padding; computing C^T puts the narrow side on the MR rows instead.
  const bool swap = 4 * padded_area(args.n, args.m) < 3 * padded_area(args.m, args.n);
  const GemmArgs g = swap ? transposed(args) : args;
  gemm_run(g, blk, StridedB{g.b, g.rs_b, g.cs_b});
}

// One item of a batch, at its offsets, on `threads` threads.
void batch_item(const GemmBatchArgs& args, index_t i, int threads, const GemmBlocking& blk) {
  GemmArgs g = args.gemm;
  g.a += args.a_offsets[i], g.b += args.b_offsets[i], g.c += args.c_offsets[i];
  g.num_threads = threads;
  sgemm(g, blk);
}

void sgemm_batched(const GemmBatchArgs& args, const GemmBlocking& blk) {
  const int nt = args.gemm.num_threads;
#ifdef _OPENMP
  if (args.items_on_threads && nt > 1) {
    // Static schedule: equal items cost the same, and each thread's scratch stays warm.
#pragma omp parallel for num_threads(nt) schedule(static)
    for (index_t i = 0; i < args.batch; ++i) batch_item(args, i, 1, blk);
    return;
  }
#endif
  for (index_t i = 0; i < args.batch; ++i)
    batch_item(args, i, args.items_on_threads ? 1 : nt, blk);
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_gemm)(KernelTable& table) {
  table.sgemm = HPNN_ISA_NS::sgemm;
  table.sgemm_batched = HPNN_ISA_NS::sgemm_batched;
  table.gemm_blocking = HPNN_ISA_NS::kBlocking;
}

}  // namespace hpnn

// What the recurrent sequence drivers (rnn_forward_isa.cpp, rnn_backward_isa.cpp) share: the
// per-step product against recurrent weights packed once per sequence, the time sweep's thread
// team, and the strided products before and after the sweep. Include only from per-ISA sources.
//
// Threads split the hidden units into NR-wide panels: a thread computes the recurrent product
// for its panels of every gate and then the gates of exactly those units, so a step needs one
// barrier (everyone's new state is read by everyone's next product).
#pragma once
#include "kernels/gemm/gemm_driver.h"

namespace hpnn {
namespace HPNN_ISA_NS {

void rnn_forward(const RnnArgs& a, const RnnSaved& saved);
void rnn_backward(const RnnArgs& a, const RnnSaved& saved, const RnnGrads& grads);

namespace {

// Below this many flops per step a second thread costs more (a barrier per step) than it saves.
constexpr double kStepGrainFlops = 3e5;
// Likewise for each thread of the GEMMs before and after the sweep.
constexpr double kGemmGrainFlops = 2e6;

inline int gates_of(RnnCell cell) {
  return cell == RnnCell::kLstm ? 4 : cell == RnnCell::kGru ? 3 : 1;
}

// ---------------------------------------------------------------------------- step product

// op(B) of a per-step product packed once per sequence: `groups` blocks of `width` columns, each
// cut into `panels` NR-column panels holding all `depth` rows (panel q of group g at
// data + (g * panels + q) * depth * NR). Element (p, col) of op(B) is at src[p * rs + col * cs].
struct PackedB {
  float* data;
  index_t depth, width, panels;
  int groups;
  const float* src;
  index_t rs, cs;
  float* panel(int g, index_t q) const { return data + (g * panels + q) * depth * NR; }
  void pack(index_t q0, index_t q1) const {  // one thread's panels, of every group
    for (int g = 0; g < groups; ++g)
      for (index_t q = q0; q < q1; ++q) {
        const index_t col = g * width + q * NR;
        pack_panel<NR>(depth, static_cast<int>(imin(NR, width - q * NR)), src + col * cs, cs, rs,
                       panel(g, q));
      }
  }
};

// Where group g of a step's product goes: c (row stride rs), added to what is there or not.
struct StepTarget {
  float* c;
  index_t rs;
  bool accumulate;
};

// targets[g][:, panels q0..q1) (+)= A (m x depth, row stride rs_a) @ op(B) group g. Full
// MR-row tiles of A (the previous state, or the gate gradients) are read in place, so a step
// packs nothing but a trailing partial tile, which the kernel must not read past.
void step_product(const PackedB& b, const float* a, index_t rs_a, index_t m,
                  const StepTarget* targets, index_t q0, index_t q1, float* packed_a) {
  const index_t full = m - m % MR;
  for (index_t pc = 0; pc < b.depth; pc += kBlocking.kc) {
    const index_t kc = imin(kBlocking.kc, b.depth - pc);
    if (full < m) pack_a(m - full, kc, a + full * rs_a + pc, rs_a, 1, packed_a);
    for (int g = 0; g < b.groups; ++g) {
      const StepTarget& out = targets[g];
      const float beta = pc == 0 && !out.accumulate ? 0.0f : 1.0f;
      for (index_t q = q0; q < q1; ++q) {
        const int cols = static_cast<int>(imin(NR, b.width - q * NR));
        const BPanel panel{b.panel(g, q) + pc * NR, false};
        float* c_panel = out.c + q * NR;
        for (index_t ir = 0; ir < m; ir += MR) {
          const bool direct = ir < full;
          run_tile(direct, direct ? a + ir * rs_a + pc : packed_a, rs_a, 1, panel, nullptr, kc,
                   c_panel + ir * out.rs, out.rs, 1, TileWrite{1.0f, beta},
                   static_cast<int>(imin(MR, m - ir)), cols);
        }
      }
    }
  }
}

float* packed_a_scratch(index_t depth) {
  return thread_scratch(kScratchRnnPackA, static_cast<std::size_t>(MR * imin(kBlocking.kc, depth)));
}

// ---------------------------------------------------------------------------- time sweep

struct Sweep {
  const RnnArgs* a;
  index_t T, N, H, panels;
  int threads;  // in the time loop
  index_t time(index_t position) const { return a->reverse ? T - 1 - position : position; }
  // The state rows that step `position` starts from: `initial` at the first step.
  template <class P>
  P* previous(P* sequence, P* initial, index_t position) const {
    return position == 0 ? initial : sequence + time(position - 1) * N * H;
  }
};

Sweep make_sweep(const RnnArgs& a) {
  Sweep s{&a, a.steps, a.batch, a.hidden, ceil_div(a.hidden, NR), 1};
  const double step_flops = 2.0 * a.batch * gates_of(a.cell) * a.hidden * a.hidden;
  const index_t useful = imin(s.panels, static_cast<index_t>(step_flops / kStepGrainFlops));
  s.threads = static_cast<int>(imax(1, imin(a.num_threads, useful)));
  return s;
}

inline int team_size() {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

// Runs body(q0, q1, j0, j1): this thread's panels and hidden units, on the sweep's threads.
template <class Body>
void for_each_thread(const Sweep& s, const Body& body) {
#pragma omp parallel num_threads(s.threads) if (s.threads > 1)
  {
    index_t q0, q1;
    split_range(s.panels, team_size(), thread_id(), &q0, &q1);
    body(q0, q1, q0 * NR, imin(q1 * NR, s.H));
  }
}

inline void step_barrier(const Sweep& s) {
  if (s.threads > 1) {
#pragma omp barrier
  }
}

// Runs fn(j, count) on hidden units [j0, j1), a vector at a time.
template <class Fn>
void for_each_vector(index_t j0, index_t j1, const Fn& fn) {
  for (index_t j = j0; j < j1; j += kLanes) fn(j, static_cast<int>(imin(kLanes, j1 - j)));
}

// ---------------------------------------------------------------------------- plain loops

void fill(float* dst, index_t count, float value) {
  for (index_t i = 0; i < count; ++i) dst[i] = value;
}

void copy_or_zero(float* dst, const float* src, index_t count) {
  for (index_t i = 0; i < count; ++i) dst[i] = src ? src[i] : 0.0f;
}

// Threads worth using for a product of this many flops, at most nt.
int product_threads(double flops, int nt) {
  return static_cast<int>(imax(1, imin(nt, static_cast<index_t>(flops / kGemmGrainFlops))));
}

// Lanes of the register tiles an m x n product computes, padding included.
index_t tile_area(index_t m, index_t n) { return ceil_div(m, MR) * MR * ceil_div(n, NR) * NR; }

// C (m x n) = A @ B + beta C, both operands strided, on up to nt threads. A product narrower
// than the tile (grad_x with a few input features: n = F < NR) runs as C^T = B^T A^T where
// that pads less. Only then: C^T's tiles are written element by element, at stride rs_c, which
// costs more than a few percent of padding (twice the time for the GRU's input projection).
void product(index_t m, index_t n, index_t k, const float* a, index_t rs_a, index_t cs_a,
             const float* b, index_t rs_b, index_t cs_b, float* c, index_t rs_c, float beta,
             int nt) {
  nt = product_threads(2.0 * m * n * k, nt);
  const GemmArgs g = n < NR && tile_area(n, m) < tile_area(m, n)
      ? GemmArgs{n, m, k, b, cs_b, rs_b, a, cs_a, rs_a, c, 1, rs_c, 1.0f, beta, nt}
      : GemmArgs{m, n, k, a, rs_a, cs_a, b, rs_b, cs_b, c, rs_c, 1, 1.0f, beta, nt};
  if (k == 0) return scale_c(g);
  gemm_run(g, kBlocking, StridedB{g.b, g.rs_b, g.cs_b});
}

}  // namespace
}  // namespace HPNN_ISA_NS
}  // namespace hpnn

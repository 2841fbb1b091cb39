// What the recurrent sequence drivers (rnn_forward_isa.cpp, rnn_backward_isa.cpp) share: the
// per-step product against recurrent weights packed once per sequence, the time sweep's thread
// team, and the strided products before and after the sweep. Include only from per-ISA sources.
#pragma once
#include "kernels/gemm/gemm_dot.h"
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

// op(B) of a per-step product, packed once per sequence into NR-column panels: `groups` blocks
// of columns, group g `width` wide and holding rows [lo, hi) of the product's `depth` (its
// panel q at panel(g, q), row p at + p * NR; rows outside [lo, hi) unused). A group's rows
// [0, split) come from sources[0], the rest from sources[1]: the forward's
// [x_t | h_{t-1}] @ [w_ih | w_hh]^T. Call layout() once the groups are set.
struct PackedB {
  struct Source {  // element (p, col) at src[p * rs + col * cs]
    const float* src;
    index_t rs, cs;
  };
  struct Group {
    Source sources[2];
    index_t width, lo, hi;
    bool by_units;  // its columns are the hidden units (a gate), split between threads as those
    index_t first;  // panels of the groups before it
  };
  float* data;
  index_t depth, split;
  int groups;
  Group group[4];
  index_t panels(int g) const { return ceil_div(group[g].width, NR); }
  index_t size() const { return (group[groups - 1].first + panels(groups - 1)) * depth * NR; }
  void layout() {
    for (int g = 1; g < groups; ++g) group[g].first = group[g - 1].first + panels(g - 1);
  }
  float* panel(int g, index_t q) const { return data + (group[g].first + q) * depth * NR; }
  void pack_rows(int g, index_t q, index_t p0, index_t p1, const Source& from, index_t from_row) const {
    if (p0 >= p1) return;
    pack_panel<NR>(p1 - p0, static_cast<int>(imin(NR, group[g].width - q * NR)),
                   from.src + (p0 - from_row) * from.rs + q * NR * from.cs, from.cs, from.rs,
                   panel(g, q) + p0 * NR);
  }
  void pack(int g, index_t q0, index_t q1) const {  // panels [q0, q1) of group g
    const Group& gr = group[g];
    for (index_t q = q0; q < q1; ++q) {
      pack_rows(g, q, gr.lo, imin(gr.hi, split), gr.sources[0], 0);
      pack_rows(g, q, imax(gr.lo, split), gr.hi, gr.sources[1], split);
    }
  }
};

// Where group g of a step's product goes: c (row stride rs, overwritten), panels [q0, q1).
struct StepTarget {
  float* c;
  index_t rs, q0, q1;
};

// targets[g] = A (m x depth, row stride rs_a) @ op(B) group g. Full MR-row tiles of A (the
// staged inputs and state, or the gate gradients) are read in place, so a step packs nothing
// but a trailing partial tile, which the kernel must not read past; a stride that aliases in L1
// packs every tile. packed_a holds packed_a_size(m, min(kc, depth)) floats.
void step_product(const PackedB& b, const float* a, index_t rs_a, index_t m,
                  const StepTarget* targets, float* packed_a) {
  const index_t direct_rows = rows_alias_in_l1(rs_a) ? 0 : m - m % MR;  // read in place
  for (index_t pc = 0; pc < b.depth; pc += kBlocking.kc) {
    const index_t kc = imin(kBlocking.kc, b.depth - pc);
    if (direct_rows < m)
      pack_a(m - direct_rows, kc, a + direct_rows * rs_a + pc, rs_a, 1,
             packed_a + direct_rows * kc);
    for (int g = 0; g < b.groups; ++g) {
      const index_t lo = imax(pc, b.group[g].lo), hi = imin(pc + kc, b.group[g].hi);
      if (lo >= hi) continue;
      const StepTarget& out = targets[g];
      const float beta = lo == b.group[g].lo ? 0.0f : 1.0f;
      for (index_t q = out.q0; q < out.q1; ++q) {
        const int cols = static_cast<int>(imin(NR, b.group[g].width - q * NR));
        const BPanel panel{b.panel(g, q) + lo * NR, false};
        float* c_panel = out.c + q * NR;
        for (index_t ir = 0; ir < m; ir += MR) {
          const bool direct = ir < direct_rows;
          run_tile(direct, direct ? a + ir * rs_a + lo : packed_a + ir * kc + (lo - pc) * MR, rs_a,
                   1, panel, nullptr, hi - lo, c_panel + ir * out.rs, out.rs, 1,
                   TileWrite{1.0f, beta}, static_cast<int>(imin(MR, m - ir)), cols);
        }
      }
    }
  }
}

// Scratch for step_product's packed A: m rows of up to KC of the depth.
float* packed_a_scratch(index_t m, index_t depth) {
  return thread_scratch(kScratchRnnPackA,
                        static_cast<std::size_t>(packed_a_size(m, imin(kBlocking.kc, depth))));
}

// ---------------------------------------------------------------------------- time sweep

// The time loop's threads split either the batch rows (every step's rows are independent of
// the other rows', so the threads never wait for each other) or, with too few rows for that,
// the hidden units in NR-wide panels: a thread computes the product's panels of every gate and
// then the gates of exactly those units, and a step ends on a barrier (everyone's new state is
// read by everyone's next product).
struct Sweep {
  const RnnArgs* a;
  index_t T, N, H, panels;
  int threads;      // in the time loop
  bool split_rows;  // threads own batch rows rather than hidden panels
  index_t time(index_t position) const { return a->reverse ? T - 1 - position : position; }
  // The state rows that step `position` starts from: `initial` at the first step.
  template <class P>
  P* previous(P* sequence, P* initial, index_t position) const {
    return position == 0 ? initial : sequence + time(position - 1) * N * H;
  }
};

// Rows per thread from which the threads split the batch rather than the hidden units.
constexpr index_t kMinRowsPerThread = MR;

// depth: of the per-step product (its flops decide how many threads pay off).
Sweep make_sweep(const RnnArgs& a, index_t depth) {
  Sweep s{&a, a.steps, a.batch, a.hidden, ceil_div(a.hidden, NR), 1, false};
  const double step_flops = 2.0 * a.batch * gates_of(a.cell) * a.hidden * depth;
  const index_t useful = imin(a.num_threads, static_cast<index_t>(step_flops / kStepGrainFlops));
  s.split_rows = useful > 1 && a.batch >= useful * kMinRowsPerThread;
  s.threads = static_cast<int>(imax(1, s.split_rows ? useful : imin(useful, s.panels)));
  return s;
}

inline int team_size() {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

// One thread's share of every step: batch rows [n0, n1) and hidden panels [q0, q1), that is
// units [j0, j1); `id` of `count` threads.
struct Share {
  index_t n0, n1, q0, q1, j0, j1;
  int id, count;
};

// Runs body(share) on the sweep's threads.
template <class Body>
void for_each_thread(const Sweep& s, const Body& body) {
#pragma omp parallel num_threads(s.threads) if (s.threads > 1)
  {
    Share sh{0, s.N, 0, s.panels, 0, 0, thread_id(), team_size()};
    if (s.split_rows)
      split_range(s.N, sh.count, sh.id, &sh.n0, &sh.n1);
    else
      split_range(s.panels, sh.count, sh.id, &sh.q0, &sh.q1);
    sh.j0 = sh.q0 * NR, sh.j1 = imin(sh.q1 * NR, s.H);
    body(sh);
  }
}

inline void step_barrier(const Sweep& s) {
  if (s.threads > 1 && !s.split_rows) {
#pragma omp barrier
  }
}

// The panels of group g this thread multiplies by: all of them (rows split); else, for a
// gate, its hidden units' panels, for another group a share of its panels.
void product_panels(const Sweep& s, const Share& sh, const PackedB& b, int g, index_t* q0,
                    index_t* q1) {
  if (s.split_rows)
    *q0 = 0, *q1 = b.panels(g);
  else if (b.group[g].by_units)
    *q0 = sh.q0, *q1 = sh.q1;
  else
    split_range(b.panels(g), sh.count, sh.id, q0, q1);
}

// Where group g of this thread's step goes: c (row stride rs) from the thread's first row.
StepTarget step_target(const Sweep& s, const Share& sh, const PackedB& b, int g, float* c,
                       index_t rs) {
  StepTarget target{c + sh.n0 * rs, rs, 0, 0};
  product_panels(s, sh, b, g, &target.q0, &target.q1);
  return target;
}

// Packs the panels of b this thread's steps read: its own, or (rows split) a share of them
// all, which every thread reads, hence the barrier.
void pack_weights(const Sweep& s, const Share& sh, const PackedB& b) {
  for (int g = 0; g < b.groups; ++g) {
    index_t q0, q1;
    if (s.split_rows)
      split_range(b.panels(g), sh.count, sh.id, &q0, &q1);
    else
      product_panels(s, sh, b, g, &q0, &q1);
    b.pack(g, q0, q1);
  }
  if (s.split_rows && sh.count > 1) {
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

void copy_floats(float* dst, const float* src, index_t count) {
  index_t i = 0;
  for (; i + kLanes <= count; i += kLanes) vstore(dst + i, vload(src + i));
  for (; i < count; ++i) dst[i] = src[i];
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
// A product narrower still (grad_x of 8 input features on AVX-512; dot_products_pay), with A's
// rows contiguous, runs as dot products (gemm_dot.h) against B transposed into scratch
// (kScratchRnnPackA, free after the sweep), which pads nothing.
void product(index_t m, index_t n, index_t k, const float* a, index_t rs_a, index_t cs_a,
             const float* b, index_t rs_b, index_t cs_b, float* c, index_t rs_c, float beta,
             int nt) {
  if (cs_a == 1 && dot_products_pay(m, n, k)) {
    float* b_t = thread_scratch(kScratchRnnPackA, static_cast<std::size_t>(n * k));
    for (index_t p = 0; p < k; ++p)
      for (index_t j = 0; j < n; ++j) b_t[j * k + p] = b[p * rs_b + j * cs_b];
    return gemm_dot(GemmArgs{m, n, k, a, rs_a, 1, b_t, 1, k, c, rs_c, 1, 1.0f, beta, 1});
  }
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

// Recurrent layers over whole sequences (Elman RNN, LSTM, GRU; one layer, one direction),
// compiled once per ISA. One driver runs every cell type; a cell only supplies its gate
// functions on one vector of hidden units of one batch row.
//
// Forward:  P = x @ w_ih^T for all steps in one GEMM, written where the step's saved output goes
//           (the saved gates, or the hidden state for the RNN); then per step
//           Q = h_{t-1} @ w_hh^T against w_hh packed once, and one fused pass over the gates
//           (biases, non-linearities, new states) that overwrites P with what is saved.
// Backward: per step (in reverse processing order) one fused pass writes the gate gradients
//           D[t] (kept for all steps) and carries, then grad h_{t-1} = D_h[t] @ w_hh; after the
//           sweep grad_w_ih = D_i^T x, grad_w_hh = D_h^T h_prev, grad_x = D_i @ w_ih and the bias
//           gradients (column sums of D) are large GEMMs / passes.
//
// Threads split the hidden units into NR-wide panels: a thread computes the recurrent product
// for its panels of every gate and then the gates of exactly those units, so a step needs one
// barrier (everyone's new state is read by everyone's next product).
#include "core/vmath.h"
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif
#include "kernels/gemm/gemm_driver.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// Below this many flops per step a second thread costs more (a barrier per step) than it saves.
constexpr double kStepGrainFlops = 3e5;
// Likewise for each thread of the GEMMs before and after the sweep.
constexpr double kGemmGrainFlops = 2e6;

// ---------------------------------------------------------------------------- lanes

// `count` <= kLanes floats at p; lanes past count are zero on load and left alone on store.
inline vfloat load_n(const float* p, int count) {
  if (count == kLanes) return vload(p);
  vfloat v = vfloat{};
  __builtin_memcpy(&v, p, static_cast<std::size_t>(count) * sizeof(float));
  return v;
}

inline void store_n(float* p, vfloat v, int count) {
  if (count == kLanes) return vstore(p, v);
  __builtin_memcpy(p, &v, static_cast<std::size_t>(count) * sizeof(float));
}

// 1 / d: the hardware estimate refined by one Newton step (~1 ulp more than a division, but
// several times its throughput; the gates take five per vector).
inline vfloat reciprocal(vfloat d) {
#if defined(__AVX512F__)
  const vfloat r = (vfloat)_mm512_rcp14_ps((__m512)d);
#elif defined(__AVX2__)
  const vfloat r = (vfloat)_mm256_rcp_ps((__m256)d);
#else
  return 1.0f / d;
#endif
#if defined(__AVX512F__) || defined(__AVX2__)
  return r * (2.0f - d * r);
#endif
}

// exp(x) for the gates, x in [-87, 80] (callers clamp; NaN passes through): vexp's Cody-Waite
// reduction x = n ln2 + r, but a degree-6 polynomial on r (fitted for relative error: ~1 ulp
// with rounding, as vexp's degree 7) and 2^n as one factor, since n stays in the normal range:
// 14 operations instead of 25.
inline vfloat gate_exp(vfloat x) {
  const vfloat magic = vbroadcast(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  const vfloat t = x * 1.44269504088896341f + magic;
  const vfloat nf = t - magic;
  const vfloat r = x - nf * 0.693359375f - nf * -2.12194440e-4f;
  vfloat p = vbroadcast(1.381461275741458e-3f);
  p = p * r + 8.368710055947304e-3f;
  p = p * r + 4.166838899254799e-2f;
  p = p * r + 1.666652113199234e-1f;
  p = p * r + 4.999999403953552e-1f;
  p = p * (r * r) + r + 1.0f;
  return p * vfrom_bits((vbits(t) << 23) + (127 << 23));  // t's low bits hold n
}

// The gates' sigmoid and tanh: 1 / (1 + exp(-x)) with exp's argument clamped to its range (the
// result is already 0 or 1 in float32 there), and tanh(x) = 2 sigmoid(2x) - 1 (absolute error
// ~1e-7 near 0, like the rest).
inline vfloat gate_sigmoid(vfloat x) {
  return reciprocal(1.0f + gate_exp(vclamp_high(vclamp_low(-x, -87.0f), 80.0f)));
}
inline vfloat gate_tanh(vfloat x) { return 2.0f * gate_sigmoid(x + x) - 1.0f; }

inline vfloat dsigmoid(vfloat s) { return s * (1.0f - s); }  // from the sigmoid's value
inline vfloat dtanh(vfloat t) { return 1.0f - t * t; }       // from tanh's value

// ---------------------------------------------------------------------------- cells

// One batch row of a forward step; gate k of a (G*H)-wide row starts at k * hidden.
struct ForwardRow {
  float* gates;        // in: x w_ih^T (no bias); out: what is saved (gates or, RNN, h)
  const float* rec;    // h_{t-1} w_hh^T (no bias)
  const float* bias;   // b_ih + b_hh
  const float *b_ih, *b_hh;
  const float *h_prev, *c_prev;
  float *h, *c;
  index_t hidden;
};

// One batch row of a backward step.
struct BackwardRow {
  const float* grad_out;  // grad_output[t]
  float* grad_rec;        // in: D_h[t+1] w_hh (the later step's product); read only
  float* carry_h;         // GRU: grad_h * z, passed to h_{t-1} directly
  float* carry_c;         // LSTM: in grad c_t (from the later step), out grad c_{t-1}
  const float *gates, *h, *c, *h_prev, *c_prev;
  float* d;               // out: the gate gradients of this step
  index_t hidden;
};

// Input of gate k: x w_ih^T + h w_hh^T + (b_ih + b_hh).
inline vfloat pre_activation(const ForwardRow& r, int k, index_t j, int n) {
  const index_t o = k * r.hidden + j;
  return load_n(r.gates + o, n) + load_n(r.rec + o, n) + load_n(r.bias + o, n);
}

template <bool kRelu>
struct ElmanCell {
  static constexpr int kGates = 1;
  static constexpr int kSavedGates = 0;  // P lives in the saved hidden state
  static constexpr int kGradWidth = 1;
  static void forward(const ForwardRow& r, index_t j, int n) {
    const vfloat pre = pre_activation(r, 0, j, n);
    store_n(r.h + j, kRelu ? (pre < 0.0f ? vfloat{} : pre) : gate_tanh(pre), n);
  }
  static void backward(const BackwardRow& r, index_t j, int n) {
    const vfloat dh = load_n(r.grad_out + j, n) + load_n(r.grad_rec + j, n);
    const vfloat h = load_n(r.h + j, n);
    store_n(r.d + j, kRelu ? (h > 0.0f ? dh : vfloat{}) : dh * dtanh(h), n);
  }
};

struct LstmCell {
  static constexpr int kGates = 4;
  static constexpr int kSavedGates = 4;  // i, f, g, o
  static constexpr int kGradWidth = 4;
  static void forward(const ForwardRow& r, index_t j, int n) {
    const index_t H = r.hidden;
    const vfloat i = gate_sigmoid(pre_activation(r, 0, j, n)), f = gate_sigmoid(pre_activation(r, 1, j, n));
    const vfloat g = gate_tanh(pre_activation(r, 2, j, n)), o = gate_sigmoid(pre_activation(r, 3, j, n));
    const vfloat c = f * load_n(r.c_prev + j, n) + i * g;
    store_n(r.gates + j, i, n), store_n(r.gates + H + j, f, n);
    store_n(r.gates + 2 * H + j, g, n), store_n(r.gates + 3 * H + j, o, n);
    store_n(r.c + j, c, n), store_n(r.h + j, o * gate_tanh(c), n);
  }
  static void backward(const BackwardRow& r, index_t j, int n) {
    const index_t H = r.hidden;
    const vfloat i = load_n(r.gates + j, n), f = load_n(r.gates + H + j, n);
    const vfloat g = load_n(r.gates + 2 * H + j, n), o = load_n(r.gates + 3 * H + j, n);
    const vfloat dh = load_n(r.grad_out + j, n) + load_n(r.grad_rec + j, n);
    const vfloat tc = gate_tanh(load_n(r.c + j, n));
    const vfloat dc = load_n(r.carry_c + j, n) + dh * o * dtanh(tc);
    store_n(r.d + j, dc * g * dsigmoid(i), n);
    store_n(r.d + H + j, dc * load_n(r.c_prev + j, n) * dsigmoid(f), n);
    store_n(r.d + 2 * H + j, dc * i * dtanh(g), n);
    store_n(r.d + 3 * H + j, dh * tc * dsigmoid(o), n);
    store_n(r.carry_c + j, dc * f, n);
  }
};

// Saved: r, z, n, h W_hn^T + b_hn. Gradients: r, z, n (w.r.t. h W_hn^T + b_hn: dn * r), n (w.r.t.
// x W_in^T + b_in), so D_h = the first 3H columns and D_i = columns [0, 2H) and [3H, 4H).
struct GruCell {
  static constexpr int kGates = 3;
  static constexpr int kSavedGates = 4;
  static constexpr int kGradWidth = 4;
  static void forward(const ForwardRow& r, index_t j, int n) {
    const index_t H = r.hidden;
    const vfloat rg = gate_sigmoid(pre_activation(r, 0, j, n)), z = gate_sigmoid(pre_activation(r, 1, j, n));
    const vfloat hn = load_n(r.rec + 2 * H + j, n) + load_n(r.b_hh + 2 * H + j, n);
    const vfloat nn = gate_tanh(load_n(r.gates + 2 * H + j, n) + load_n(r.b_ih + 2 * H + j, n) + rg * hn);
    const vfloat hp = load_n(r.h_prev + j, n);
    store_n(r.gates + j, rg, n), store_n(r.gates + H + j, z, n);
    store_n(r.gates + 2 * H + j, nn, n), store_n(r.gates + 3 * H + j, hn, n);
    store_n(r.h + j, nn + z * (hp - nn), n);
  }
  static void backward(const BackwardRow& r, index_t j, int n) {
    const index_t H = r.hidden;
    const vfloat rg = load_n(r.gates + j, n), z = load_n(r.gates + H + j, n);
    const vfloat nn = load_n(r.gates + 2 * H + j, n), hn = load_n(r.gates + 3 * H + j, n);
    const vfloat dh =
        load_n(r.grad_out + j, n) + load_n(r.grad_rec + j, n) + load_n(r.carry_h + j, n);
    const vfloat dn = dh * (1.0f - z) * dtanh(nn);
    store_n(r.d + j, dn * hn * dsigmoid(rg), n);
    store_n(r.d + H + j, dh * (load_n(r.h_prev + j, n) - nn) * dsigmoid(z), n);
    store_n(r.d + 2 * H + j, dn * rg, n), store_n(r.d + 3 * H + j, dn, n);
    store_n(r.carry_h + j, dh * z, n);
  }
};

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

// C[:, group g panels q0..q1) = A (m x depth, row stride rs_a) @ op(B) for every group. Full
// MR-row tiles of A (the previous state, or the gate gradients) are read in place, so a step
// packs nothing but a trailing partial tile, which the kernel must not read past.
void step_product(const PackedB& b, const float* a, index_t rs_a, index_t m, float* c,
                  index_t rs_c, index_t q0, index_t q1, float* packed_a) {
  const index_t full = m - m % MR;
  for (index_t pc = 0; pc < b.depth; pc += kBlocking.kc) {
    const index_t kc = imin(kBlocking.kc, b.depth - pc);
    if (full < m) pack_a(m - full, kc, a + full * rs_a + pc, rs_a, 1, packed_a);
    const float beta = pc == 0 ? 0.0f : 1.0f;
    for (int g = 0; g < b.groups; ++g)
      for (index_t q = q0; q < q1; ++q) {
        const int cols = static_cast<int>(imin(NR, b.width - q * NR));
        const BPanel panel{b.panel(g, q) + pc * NR, false};
        float* c_panel = c + g * b.width + q * NR;
        for (index_t ir = 0; ir < m; ir += MR) {
          const bool direct = ir < full;
          run_tile(direct, direct ? a + ir * rs_a + pc : packed_a, rs_a, 1, panel, nullptr, kc,
                   c_panel + ir * rs_c, rs_c, 1, 1.0f, beta, static_cast<int>(imin(MR, m - ir)),
                   cols);
        }
      }
  }
}

float* packed_a_scratch(index_t depth) {
  return thread_scratch(kScratchRnnPackA, static_cast<std::size_t>(MR * imin(kBlocking.kc, depth)));
}

// ---------------------------------------------------------------------------- sequence driver

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
  const int gates = a.cell == RnnCell::kLstm ? 4 : a.cell == RnnCell::kGru ? 3 : 1;
  const double step_flops = 2.0 * a.batch * gates * a.hidden * a.hidden;
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

// Applies row_fn(n, j, count) to every batch row over hidden units [j0, j1), a vector at a time.
template <class RowFn>
void for_each_lane_block(index_t rows, index_t j0, index_t j1, const RowFn& row_fn) {
  for (index_t n = 0; n < rows; ++n)
    for (index_t j = j0; j < j1; j += kLanes) row_fn(n, j, static_cast<int>(imin(kLanes, j1 - j)));
}

void fill(float* dst, index_t count, float value) {
  for (index_t i = 0; i < count; ++i) dst[i] = value;
}

void copy_or_zero(float* dst, const float* src, index_t count) {
  for (index_t i = 0; i < count; ++i) dst[i] = src ? src[i] : 0.0f;
}

// Lanes of the register tiles an m x n product computes, padding included.
index_t tile_area(index_t m, index_t n) { return ceil_div(m, MR) * MR * ceil_div(n, NR) * NR; }

// C (m x n) = A @ B + beta C, both operands strided, on up to nt threads. A product narrow
// against the tile (grad_x and grad_w_ih with a few input features: n = F << NR) runs as
// C^T = B^T A^T where that pads less.
void product(index_t m, index_t n, index_t k, const float* a, index_t rs_a, index_t cs_a,
             const float* b, index_t rs_b, index_t cs_b, float* c, index_t rs_c, float beta,
             int nt) {
  const double flops = 2.0 * m * n * k;
  nt = static_cast<int>(imax(1, imin(nt, static_cast<index_t>(flops / kGemmGrainFlops))));
  const GemmArgs g = tile_area(n, m) < tile_area(m, n)
      ? GemmArgs{n, m, k, b, cs_b, rs_b, a, cs_a, rs_a, c, 1, rs_c, 1.0f, beta, nt}
      : GemmArgs{m, n, k, a, rs_a, cs_a, b, rs_b, cs_b, c, rs_c, 1, 1.0f, beta, nt};
  if (k == 0) return scale_c(g);
  gemm_run(g, kBlocking, StridedB{g.b, g.rs_b, g.cs_b});
}

template <class Cell>
void forward(const RnnArgs& a, const RnnSaved& saved) {
  const index_t T = a.steps, N = a.batch, F = a.input, H = a.hidden, GH = Cell::kGates * H;
  const index_t stride = Cell::kSavedGates ? Cell::kSavedGates * H : H;  // of a P row
  float* pre = Cell::kSavedGates ? saved.gates : saved.hidden;
  product(T * N, GH, F, a.x, F, 1, a.w_ih, 1, F, pre, stride, 0.0f, a.num_threads);

  const Sweep s = make_sweep(a);
  float* work = thread_scratch(kScratchRnnWeights,
                               static_cast<std::size_t>(Cell::kGates * s.panels * NR * H + N * GH + 3 * GH));
  const PackedB b{work, H, H, s.panels, Cell::kGates, a.w_hh, 1, H};  // op(B) = w_hh^T
  float* rec = work + Cell::kGates * s.panels * NR * H;                 // Q, (N, G*H)
  float* b_ih = rec + N * GH;
  float *b_hh = b_ih + GH, *bias = b_hh + GH;
  copy_or_zero(b_ih, a.b_ih, GH), copy_or_zero(b_hh, a.b_hh, GH);
  for (index_t i = 0; i < GH; ++i) bias[i] = b_ih[i] + b_hh[i];
  for_each_thread(s, [&](index_t q0, index_t q1, index_t j0, index_t j1) {
    b.pack(q0, q1);
    float* packed_a = packed_a_scratch(H);
    for (index_t pos = 0; pos < T; ++pos) {
      const index_t t = s.time(pos);
      const float* h_prev = s.previous<const float>(saved.hidden, a.h0, pos);
      const float* c_prev = saved.cell ? s.previous<const float>(saved.cell, a.c0, pos) : nullptr;
      step_product(b, h_prev, H, N, rec, GH, q0, q1, packed_a);
      for_each_lane_block(N, j0, j1, [&](index_t n, index_t j, int count) {
        const index_t row = t * N + n;
        const ForwardRow r{pre + row * stride, rec + n * GH, bias, b_ih, b_hh, h_prev + n * H,
                           c_prev ? c_prev + n * H : nullptr, saved.hidden + row * H,
                           saved.cell ? saved.cell + row * H : nullptr, H};
        Cell::forward(r, j, count);
      });
      step_barrier(s);
    }
  });
}

// Column sums of the rows x width matrix d (row stride `stride`) into sums.
void column_sums(const float* d, index_t rows, index_t width, index_t stride, float* sums) {
  fill(sums, width, 0.0f);
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < width; ++c) sums[c] += d[r * stride + c];
}

// Gradient blocks of the input projection: columns [col, col + rows) of D are the gradient of
// w_ih rows [row, row + rows) (the GRU's D_i skips the dn * r block).
struct InputBlock {
  index_t col, row, rows;
};

template <class Cell>
void weight_gradients(const RnnArgs& a, const RnnSaved& saved, const RnnGrads& g, const float* d) {
  const index_t T = a.steps, N = a.batch, F = a.input, H = a.hidden, GH = Cell::kGates * H;
  const index_t ds = Cell::kGradWidth * H;
  const int nt = a.num_threads;
  const InputBlock blocks[2] = {{0, 0, Cell::kGates == 3 ? 2 * H : GH}, {3 * H, 2 * H, H}};
  const int n_blocks = Cell::kGates == 3 ? 2 : 1;
  for (int i = 0; i < n_blocks; ++i) {
    const InputBlock& blk = blocks[i];
    product(blk.rows, F, T * N, d + blk.col, 1, ds, a.x, F, 1, g.grad_w_ih + blk.row * F, F, 0.0f, nt);
    product(T * N, F, blk.rows, d + blk.col, ds, 1, a.w_ih + blk.row * F, F, 1, g.grad_x, F,
            i == 0 ? 0.0f : 1.0f, nt);
  }
  // grad_w_hh: the first processed step pairs with h0, the others with the state before them.
  const index_t first = a.reverse ? T - 1 : 0;
  product(GH, H, N, d + first * N * ds, 1, ds, a.h0, H, 1, g.grad_w_hh, H, 0.0f, nt);
  const float* d_rest = d + (a.reverse ? 0 : N * ds);
  const float* h_rest = saved.hidden + (a.reverse ? N * H : 0);
  product(GH, H, (T - 1) * N, d_rest, 1, ds, h_rest, H, 1, g.grad_w_hh, H, 1.0f, nt);
  if (!g.grad_b_ih && !g.grad_b_hh) return;
  float* sums = thread_scratch(kScratchRnnWeights, static_cast<std::size_t>(ds));
  column_sums(d, T * N, ds, ds, sums);
  if (g.grad_b_hh) copy_or_zero(g.grad_b_hh, sums, GH);
  if (g.grad_b_ih)
    for (int i = 0; i < n_blocks; ++i) copy_or_zero(g.grad_b_ih + blocks[i].row, sums + blocks[i].col, blocks[i].rows);
}

template <class Cell>
void backward(const RnnArgs& a, const RnnSaved& saved, const RnnGrads& g) {
  const index_t T = a.steps, N = a.batch, H = a.hidden, GH = Cell::kGates * H;
  const index_t ds = Cell::kGradWidth * H;
  float* d = thread_scratch(kScratchRnnGrads, static_cast<std::size_t>(T * N * ds));
  const Sweep s = make_sweep(a);
  float* work = thread_scratch(kScratchRnnWeights, static_cast<std::size_t>(s.panels * NR * GH + N * H));
  const PackedB b{work, GH, H, s.panels, 1, a.w_hh, H, 1};  // op(B) = w_hh
  float* carry_h = work + s.panels * NR * GH;
  fill(carry_h, N * H, 0.0f);
  copy_or_zero(g.grad_h0, g.grad_h_n, N * H);  // grad_h0 holds the recurrent gradient
  if (g.grad_c0) copy_or_zero(g.grad_c0, g.grad_c_n, N * H);
  for_each_thread(s, [&](index_t q0, index_t q1, index_t j0, index_t j1) {
    b.pack(q0, q1);
    float* packed_a = packed_a_scratch(GH);
    for (index_t pos = T - 1; pos >= 0; --pos) {
      const index_t t = s.time(pos);
      const float* h_prev = s.previous<const float>(saved.hidden, a.h0, pos);
      const float* c_prev = saved.cell ? s.previous<const float>(saved.cell, a.c0, pos) : nullptr;
      for_each_lane_block(N, j0, j1, [&](index_t n, index_t j, int count) {
        const index_t row = t * N + n;
        const BackwardRow r{g.grad_output + row * H, g.grad_h0 + n * H, carry_h + n * H,
                            g.grad_c0 ? g.grad_c0 + n * H : nullptr,
                            saved.gates ? saved.gates + row * Cell::kSavedGates * H : nullptr,
                            saved.hidden + row * H, saved.cell ? saved.cell + row * H : nullptr,
                            h_prev + n * H, c_prev ? c_prev + n * H : nullptr, d + row * ds, H};
        Cell::backward(r, j, count);
      });
      step_barrier(s);
      step_product(b, d + t * N * ds, ds, N, g.grad_h0, H, q0, q1, packed_a);
    }
  });
  if (Cell::kGates == 3)
    for (index_t i = 0; i < N * H; ++i) g.grad_h0[i] += carry_h[i];
  weight_gradients<Cell>(a, saved, g, d);
}

void rnn_forward(const RnnArgs& a, const RnnSaved& saved) {
  switch (a.cell) {
    case RnnCell::kTanh: return forward<ElmanCell<false>>(a, saved);
    case RnnCell::kRelu: return forward<ElmanCell<true>>(a, saved);
    case RnnCell::kLstm: return forward<LstmCell>(a, saved);
    case RnnCell::kGru: return forward<GruCell>(a, saved);
  }
}

void rnn_backward(const RnnArgs& a, const RnnSaved& saved, const RnnGrads& grads) {
  switch (a.cell) {
    case RnnCell::kTanh: return backward<ElmanCell<false>>(a, saved, grads);
    case RnnCell::kRelu: return backward<ElmanCell<true>>(a, saved, grads);
    case RnnCell::kLstm: return backward<LstmCell>(a, saved, grads);
    case RnnCell::kGru: return backward<GruCell>(a, saved, grads);
  }
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_rnn)(KernelTable& table) {
  table.rnn_forward = HPNN_ISA_NS::rnn_forward;
  table.rnn_backward = HPNN_ISA_NS::rnn_backward;
}

}  // namespace hpnn

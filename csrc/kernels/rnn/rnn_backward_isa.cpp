// Backward of the recurrent layers over whole sequences, compiled once per ISA; one driver for
// every cell type (rnn_cells.h), like the forward (rnn_forward_isa.cpp):
//
//   per step, in reverse processing order, one fused pass writes the gate gradients D[t] (kept
//   for all steps), their column sums (the bias gradients) and the carries; then one product
//   against weights packed once gives grad h_{t-1} = D_h[t] @ w_hh and (but for the GRU)
//   grad_x[t] = D[t] @ w_ih. After the sweep the weight gradients are one GEMM per block of D:
//   D^T [x | h_prev] gives grad_w_ih and grad_w_hh together (one packing of D), then the GRU's
//   grad_x = D_i @ w_ih.
#include "core/parallel.h"
#include "kernels/rnn/rnn_cells.h"
#include "kernels/rnn/rnn_sweep.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// A block of gate-gradient columns [col, col + rows) of D and the weight-gradient rows it
// produces: w_ih rows from ih_row, w_hh rows from hh_row (-1: none).
struct GradBlock {
  index_t col, rows, ih_row, hh_row;
};

// Elman and LSTM: D_i = D_h = D. GRU (see GruCell): D_h = columns [0, 3H), D_i = [0, 2H) and
// [3H, 4H), so r and z feed both weights, the n gate's two parts one each.
int grad_blocks(int gates, index_t H, GradBlock* blocks) {
  if (gates != 3) return blocks[0] = {0, gates * H, 0, 0}, 1;
  blocks[0] = {0, 2 * H, 0, 0};
  blocks[1] = {2 * H, H, -1, 2 * H};
  blocks[2] = {3 * H, H, 2 * H, -1};
  return 3;
}

// op(B) of a weight-gradient GEMM over the T * N sequence rows (time-major): row t * N + n is
// [x_t | h_prev], x's x_cols (F or 0) columns and then h_cols (H or 0) of the state step t
// started from (h0 at the first processed step).
struct InputsAndStates {
  const RnnArgs* a;
  const float* hidden;
  index_t x_cols, h_cols;
  const float* state_row(index_t t, index_t n) const {
    const index_t T = a->steps, N = a->batch, H = a->hidden;
    if (t == (a->reverse ? T - 1 : 0)) return a->h0 + n * H;
    return hidden + ((a->reverse ? t + 1 : t - 1) * N + n) * H;
  }
  // A panel within x's columns or within the states' is a strided matrix but for the rows of
  // the first processed step (h0), so those pack as plain copies; one across both goes by rows.
  void operator()(index_t pc, index_t kc, index_t j0, int cols, float* out) const {
    const index_t N = a->batch, T = a->steps, H = a->hidden;
    if (j0 + cols <= x_cols)
      return pack_panel<NR>(kc, cols, a->x + pc * a->input + j0, 1, a->input, out);
    if (j0 >= x_cols) {
      const index_t col = j0 - x_cols;
      // the first processed step's rows [first, first + N); row p otherwise holds state p -/+ N
      const index_t first = a->reverse ? (T - 1) * N : 0, shift = a->reverse ? N : -N;
      const index_t lo = imax(pc, first), hi = imin(pc + kc, first + N);
      const index_t before = imin(kc, imax(0, lo - pc));  // rows ahead of the h0 rows
      if (lo >= hi) return pack_panel<NR>(kc, cols, hidden + (pc + shift) * H + col, 1, H, out);
      if (before > 0) pack_panel<NR>(before, cols, hidden + (pc + shift) * H + col, 1, H, out);
      pack_panel<NR>(hi - lo, cols, a->h0 + (lo - first) * H + col, 1, H, out + (lo - pc) * NR);
      if (hi < pc + kc)
        pack_panel<NR>(pc + kc - hi, cols, hidden + (hi + shift) * H + col, 1, H,
                       out + (hi - pc) * NR);
      return;
    }
    index_t t = pc / N, n = pc % N;
    const index_t from_x = x_cols - j0;  // leading columns taken from x
    for (index_t p = 0; p < kc; ++p, out += NR) {
      copy_floats(out, a->x + (t * N + n) * a->input + j0, from_x);
      copy_floats(out + from_x, state_row(t, n), cols - from_x);
      for (int l = cols; l < NR; ++l) out[l] = 0.0f;
      if (++n == N) n = 0, ++t;
    }
  }
};

// D_block^T [x | h_prev] for the columns `inputs` selects, into c (row stride rs_c).
void weight_product(const RnnArgs& a, const float* d_block, index_t ds, index_t rows,
                        const InputsAndStates& inputs, float* c, index_t rs_c) {
  const index_t width = inputs.x_cols + inputs.h_cols, k = a.steps * a.batch;
  const int nt = product_threads(2.0 * rows * width * k, a.num_threads);
  gemm_run(GemmArgs{rows, width, k, d_block, 1, ds, nullptr, 0, 0, c, rs_c, 1, 1.0f, 0.0f, nt},
           kBlocking, inputs);
}

// grad_w_ih and grad_w_hh rows of one block. Both at once (one packing of D, through `work`,
// rows x (F + H)) unless that pads the register tiles more than two products, one of which may
// then run transposed (grad_w_ih with a few input features).
void block_weight_gradients(const RnnArgs& a, const RnnSaved& saved, const RnnGrads& g,
                            const float* d, index_t ds, const GradBlock& blk) {
  const index_t F = a.input, H = a.hidden, rows = blk.rows;
  const float* d_block = d + blk.col;
  const InputsAndStates states{&a, saved.hidden, 0, H};
  float* grad_hh = g.grad_w_hh + blk.hh_row * H;
  if (blk.ih_row < 0) return weight_product(a, d_block, ds, rows, states, grad_hh, H);
  const index_t x_area = F < NR ? imin(tile_area(rows, F), tile_area(F, rows)) : tile_area(rows, F);
  const index_t apart = x_area + tile_area(rows, H);
  if (blk.hh_row < 0 || tile_area(rows, F + H) > apart) {
    product(rows, F, a.steps * a.batch, d_block, 1, ds, a.x, F, 1, g.grad_w_ih + blk.ih_row * F,
            F, 0.0f, a.num_threads);
    if (blk.hh_row >= 0) weight_product(a, d_block, ds, rows, states, grad_hh, H);
    return;
  }
  float* work = thread_scratch(kScratchRnnWeights, static_cast<std::size_t>(rows * (F + H)));
  weight_product(a, d_block, ds, rows, InputsAndStates{&a, saved.hidden, F, H}, work, F + H);
  for (index_t i = 0; i < rows; ++i) {
    copy_floats(g.grad_w_ih + (blk.ih_row + i) * F, work + i * (F + H), F);
    copy_floats(grad_hh + i * H, work + i * (F + H) + F, H);
  }
}

// with_grad_x: grad_x too (unless the sweep computed it).
void weight_gradients(const RnnArgs& a, const RnnSaved& saved, const RnnGrads& g, const float* d,
                      index_t ds, bool with_grad_x) {
  const index_t F = a.input;
  GradBlock blocks[3];
  const int n_blocks = grad_blocks(gates_of(a.cell), a.hidden, blocks);
  bool first_input = true;
  for (int i = 0; i < n_blocks; ++i) {
    const GradBlock& blk = blocks[i];
    block_weight_gradients(a, saved, g, d, ds, blk);
    if (blk.ih_row < 0 || !with_grad_x) continue;
    product(a.steps * a.batch, F, blk.rows, d + blk.col, ds, 1, a.w_ih + blk.ih_row * F, F, 1,
            g.grad_x, F, first_input ? 0.0f : 1.0f, a.num_threads);
    first_input = false;
  }
}

// The bias gradients from the column sums of D.
void bias_gradients(const RnnArgs& a, const RnnGrads& g, const float* sums) {
  GradBlock blocks[3];
  const int n_blocks = grad_blocks(gates_of(a.cell), a.hidden, blocks);
  for (int i = 0; i < n_blocks; ++i) {
    const GradBlock& blk = blocks[i];
    if (g.grad_b_ih && blk.ih_row >= 0) copy_floats(g.grad_b_ih + blk.ih_row, sums + blk.col, blk.rows);
    if (g.grad_b_hh && blk.hh_row >= 0) copy_floats(g.grad_b_hh + blk.hh_row, sums + blk.col, blk.rows);
  }
}

// sums[k] += d[row][k] (rows ds floats apart) over the sweep's rows in the order a single thread
// visits them (time steps last to first, batch rows in order); threads split the columns,
// whose sums are independent.
void column_sums_in_step_order(const Sweep& s, const float* d, index_t ds, int nt, float* sums) {
  constexpr index_t kColumns = 256;  // a block of columns: 1 KiB of each row per visit
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t k0 = 0; k0 < ds; k0 += kColumns) {
    const index_t k1 = imin(ds, k0 + kColumns);
    for (index_t pos = s.T - 1; pos >= 0; --pos)
      for (index_t n = 0; n < s.N; ++n) {
        const float* row = d + (s.time(pos) * s.N + n) * ds;
        for (index_t k = k0; k < k1; ++k) sums[k] += row[k];
      }
  }
}

template <class Cell>
void backward(const RnnArgs& a, const RnnSaved& saved, const RnnGrads& g) {
  const index_t T = a.steps, N = a.batch, H = a.hidden, GH = Cell::kGates * H;
  const index_t ds = Cell::kGradWidth * H;
  float* d = thread_scratch(kScratchRnnGrads, static_cast<std::size_t>(T * N * ds));
  // The step's product: grad h_{t-1} = D_h[t] @ w_hh and, but for the GRU (whose D_i is not
  // D_h), grad_x[t] = D[t] @ w_ih -- unless F pads its NR-wide panels by more than a quarter (8
  // input features fill a quarter of AVX-512's 32 columns): one product after the sweep then,
  // which pads less (product()).
  const bool step_grad_x = Cell::kGates != 3 && ceil_div(a.input, NR) * NR * 4 <= a.input * 5;
  const Sweep s = make_sweep(a, step_grad_x ? H + a.input : H);
  PackedB b{nullptr, GH, GH, step_grad_x ? 2 : 1, {}};
  b.group[0] = {{{a.w_hh, H, 1}, {}}, H, 0, GH, true, 0};
  b.group[1] = {{{a.w_ih, a.input, 1}, {}}, a.input, 0, GH, false, 0};
  b.layout();
  const index_t packed = b.size();
  float* work = thread_scratch(kScratchRnnWeights,
                               static_cast<std::size_t>(packed + N * H + s.threads * ds));
  b.data = work;
  float* carry_h = work + packed;
  float* sums = carry_h + N * H;  // each thread's column sums of D
  fill(carry_h, N * H, 0.0f), fill(sums, s.threads * ds, 0.0f);
  copy_or_zero(g.grad_h0, g.grad_h_n, N * H);  // grad_h0 holds the recurrent gradient
  if (g.grad_c0) copy_or_zero(g.grad_c0, g.grad_c_n, N * H);
  // Threads owning batch rows would each sum their own rows' D: in deterministic mode the
  // column sums are taken after the sweep instead, in the one-thread order.
  const bool sums_after = s.split_rows && s.threads > 1 && deterministic_algorithms();
  for_each_thread(s, [&](const Share& sh) {
    pack_weights(s, sh, b);
    float* packed_a = packed_a_scratch(sh.n1 - sh.n0, GH);
    float* own_sums = sums + sh.id * ds;
    for (index_t pos = T - 1; pos >= 0; --pos) {
      const index_t t = s.time(pos);
      const float* h_prev = s.previous<const float>(saved.hidden, a.h0, pos);
      const float* c_prev = saved.cell ? s.previous<const float>(saved.cell, a.c0, pos) : nullptr;
      for (index_t n = sh.n0; n < sh.n1; ++n) {
        const index_t row = t * N + n;
        const BackwardRow r{g.grad_output + row * H, g.grad_h0 + n * H, carry_h + n * H,
                            g.grad_c0 ? g.grad_c0 + n * H : nullptr,
                            saved.gates ? saved.gates + row * Cell::kSavedGates * H : nullptr,
                            saved.hidden + row * H, saved.cell ? saved.cell + row * H : nullptr,
                            h_prev + n * H, c_prev ? c_prev + n * H : nullptr, d + row * ds, H};
        for_each_vector(sh.j0, sh.j1, [&](index_t j, int count) {
          Cell::backward(r, j, count);
          if (sums_after) return;
          for (int k = 0; k < Cell::kGradWidth; ++k) {
            float* sum = own_sums + k * H + j;
            store_n(sum, load_n(sum, count) + load_n(r.d + k * H + j, count), count);
          }
        });
      }
      step_barrier(s);
      const StepTarget targets[2] = {step_target(s, sh, b, 0, g.grad_h0, H),
                                     step_target(s, sh, b, 1, g.grad_x + t * N * a.input, a.input)};
      step_product(b, d + (t * N + sh.n0) * ds, ds, sh.n1 - sh.n0, targets, packed_a);
    }
  });
  if (sums_after)
    column_sums_in_step_order(s, d, ds, a.num_threads, sums);
  for (int i = 1; i < s.threads; ++i)
    for (index_t k = 0; k < ds; ++k) sums[k] += sums[i * ds + k];
  if (Cell::kGates == 3)
    for (index_t i = 0; i < N * H; ++i) g.grad_h0[i] += carry_h[i];
  bias_gradients(a, g, sums);  // before the weight gradients reuse the scratch
  weight_gradients(a, saved, g, d, ds, !step_grad_x);
}

}  // namespace

void rnn_backward(const RnnArgs& a, const RnnSaved& saved, const RnnGrads& grads) {
  switch (a.cell) {
    case RnnCell::kTanh: return backward<ElmanCell<false>>(a, saved, grads);
    case RnnCell::kRelu: return backward<ElmanCell<true>>(a, saved, grads);
    case RnnCell::kLstm: return backward<LstmCell>(a, saved, grads);
    case RnnCell::kGru: return backward<GruCell>(a, saved, grads);
  }
}

}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_rnn)(KernelTable& table) {
  table.rnn_forward = HPNN_ISA_NS::rnn_forward;
  table.rnn_backward = HPNN_ISA_NS::rnn_backward;
}

}  // namespace hpnn

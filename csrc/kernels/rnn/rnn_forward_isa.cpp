// Forward of the recurrent layers over whole sequences (Elman RNN, LSTM, GRU; one layer, one
// direction), compiled once per ISA. One driver runs every cell type (rnn_cells.h):
//
//   per step P[t] = [x_t | h_{t-1}] @ [w_ih | w_hh]^T, one product against both weights packed
//   once per sequence (x_t and h_{t-1} staged side by side, so that the product reads its rows
//   in place), written where the step's saved output goes (the saved gates, or the hidden state
//   for the RNN; the GRU's h W_hn^T goes to a buffer of its own, as r multiplies it); then a
//   fused pass over the gates (biases, non-linearities, new states) overwrites P[t] with what
//   is saved.
#include "kernels/rnn/rnn_cells.h"
#include "kernels/rnn/rnn_sweep.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

// The per-step bias of each gate, b_ih + b_hh (absent ones zero), except the GRU's n gate,
// whose b_hh part (b_hn) goes inside r * (h W_hn^T + b_hn) and is kept apart.
void sum_biases(const RnnArgs& a, index_t gh, bool gru, float* bias, float* b_hn) {
  const index_t n_gate = gru ? 2 * a.hidden : gh;  // GRU: where the n gate's columns start
  for (index_t k = 0; k < gh; ++k) {
    const float b_ih = a.b_ih ? a.b_ih[k] : 0.0f, b_hh = a.b_hh ? a.b_hh[k] : 0.0f;
    bias[k] = k < n_gate ? b_ih + b_hh : b_ih;
    if (k >= n_gate) b_hn[k - n_gate] = b_hh;
  }
}

// The per-step product's weights: [w_ih | w_hh]^T, one group per gate; the GRU's n gate is two
// groups, x w_in^T (into the saved gates) and h w_hn^T (into rec_n, as r multiplies it).
PackedB packed_weights(const RnnArgs& a, int gates, float* data) {
  const index_t F = a.input, H = a.hidden, depth = F + H;
  PackedB b{data, depth, F, gates == 3 ? 4 : gates, {}};
  for (int g = 0; g < gates; ++g)
    b.group[g] = {{{a.w_ih + g * H * F, 1, F}, {a.w_hh + g * H * H, 1, H}}, H, 0, depth, true, 0};
  if (gates == 3) b.group[3] = b.group[2], b.group[3].lo = F, b.group[2].hi = F;
  b.layout();
  return b;
}

// Copies x_t's rows [n0, n1) into the staged inputs [x_t | h_{t-1}] (row stride F + H).
void stage_inputs(const RnnArgs& a, index_t t, index_t n0, index_t n1, float* staged) {
  const index_t F = a.input, N = a.batch;
  for (index_t n = n0; n < n1; ++n)
    copy_floats(staged + n * (F + a.hidden), a.x + (t * N + n) * F, F);
}

template <class Cell>
void forward(const RnnArgs& a, const RnnSaved& saved) {
  const index_t T = a.steps, N = a.batch, F = a.input, H = a.hidden, GH = Cell::kGates * H;
  const index_t FH = F + H, stride = Cell::kSavedGates ? Cell::kSavedGates * H : H;  // of a P row
  const bool gru = Cell::kGates == 3;
  float* pre = Cell::kSavedGates ? saved.gates : saved.hidden;
  const Sweep s = make_sweep(a, FH);
  PackedB b = packed_weights(a, Cell::kGates, nullptr);
  const index_t packed = b.size();
  float* work = thread_scratch(
      kScratchRnnWeights, static_cast<std::size_t>(packed + 2 * N * FH + (gru ? N * H : 0) + GH + H));
  b.data = work;
  float* staged = work + packed;  // two (N, F + H) buffers, [x_t | h_{t-1}] of alternate steps
  float* rec_n = staged + 2 * N * FH;  // GRU: (N, H)
  float* bias = rec_n + (gru ? N * H : 0);
  float* b_hn = bias + GH;
  sum_biases(a, GH, gru, bias, b_hn);
  stage_inputs(a, s.time(0), 0, N, staged);
  for (index_t n = 0; n < N; ++n) copy_floats(staged + n * FH + F, a.h0 + n * H, H);
  for_each_thread(s, [&](const Share& sh) {
    pack_weights(s, sh, b);
    float* packed_a = packed_a_scratch(sh.n1 - sh.n0, FH);
    index_t x0, x1;  // the rows of x this thread stages
    split_range(N, sh.count, sh.id, &x0, &x1);
    for (index_t pos = 0; pos < T; ++pos) {
      const index_t t = s.time(pos);
      const float* in = staged + pos % 2 * N * FH;
      float* next = pos + 1 < T ? staged + (pos + 1) % 2 * N * FH : nullptr;
      if (next) stage_inputs(a, s.time(pos + 1), x0, x1, next);
      float* pre_t = pre + t * N * stride;
      StepTarget targets[4];
      for (int g = 0; g < Cell::kGates; ++g) targets[g] = step_target(s, sh, b, g, pre_t + g * H, stride);
      if (gru) targets[3] = step_target(s, sh, b, 3, rec_n, H);
      step_product(b, in + sh.n0 * FH, FH, sh.n1 - sh.n0, targets, packed_a);
      const float* h_prev = s.previous<const float>(saved.hidden, a.h0, pos);
      const float* c_prev = saved.cell ? s.previous<const float>(saved.cell, a.c0, pos) : nullptr;
      for (index_t n = sh.n0; n < sh.n1; ++n) {
        const index_t row = t * N + n;
        const ForwardRow r{pre_t + n * stride, rec_n + n * H, bias, b_hn, h_prev + n * H,
                           c_prev ? c_prev + n * H : nullptr, saved.hidden + row * H,
                           saved.cell ? saved.cell + row * H : nullptr, H};
        for_each_vector(sh.j0, sh.j1, [&](index_t j, int count) { Cell::activate(r, j, count); });
        if (Cell::kUpdates)
          for_each_vector(sh.j0, sh.j1, [&](index_t j, int count) { Cell::update(r, j, count); });
        if (next) copy_floats(next + n * FH + F + sh.j0, r.h + sh.j0, sh.j1 - sh.j0);
      }
      step_barrier(s);
    }
  });
}

}  // namespace

void rnn_forward(const RnnArgs& a, const RnnSaved& saved) {
  switch (a.cell) {
    case RnnCell::kTanh: return forward<ElmanCell<false>>(a, saved);
    case RnnCell::kRelu: return forward<ElmanCell<true>>(a, saved);
    case RnnCell::kLstm: return forward<LstmCell>(a, saved);
    case RnnCell::kGru: return forward<GruCell>(a, saved);
  }
}

}  // namespace HPNN_ISA_NS
}  // namespace hpnn

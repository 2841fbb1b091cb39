// Forward of the recurrent layers over whole sequences (Elman RNN, LSTM, GRU; one layer, one
// direction), compiled once per ISA. One driver runs every cell type (rnn_cells.h):
//
//   P = x @ w_ih^T for all steps in one GEMM, written where the step's saved output goes (the
//   saved gates, or the hidden state for the RNN); then per step P[t] += h_{t-1} @ w_hh^T
//   against w_hh packed once (the GRU's n gate goes to a buffer of its own, as r multiplies
//   it), and a fused pass over the gates (biases, non-linearities, new states) that overwrites
//   P[t] with what is saved.
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

template <class Cell>
void forward(const RnnArgs& a, const RnnSaved& saved) {
  const index_t T = a.steps, N = a.batch, F = a.input, H = a.hidden, GH = Cell::kGates * H;
  const index_t stride = Cell::kSavedGates ? Cell::kSavedGates * H : H;  // of a P row
  const bool gru = Cell::kGates == 3;
  float* pre = Cell::kSavedGates ? saved.gates : saved.hidden;
  product(T * N, GH, F, a.x, F, 1, a.w_ih, 1, F, pre, stride, 0.0f, a.num_threads);

  const Sweep s = make_sweep(a);
  const index_t packed = Cell::kGates * s.panels * NR * H;
  float* work = thread_scratch(kScratchRnnWeights,
                               static_cast<std::size_t>(packed + (gru ? N * H : 0) + GH + H));
  const PackedB b{work, H, H, s.panels, Cell::kGates, a.w_hh, 1, H};  // op(B) = w_hh^T
  float* rec_n = work + packed;                                         // GRU: (N, H)
  float* bias = rec_n + (gru ? N * H : 0);
  float* b_hn = bias + GH;
  sum_biases(a, GH, gru, bias, b_hn);
  for_each_thread(s, [&](index_t q0, index_t q1, index_t j0, index_t j1) {
    b.pack(q0, q1);
    float* packed_a = packed_a_scratch(H);
    for (index_t pos = 0; pos < T; ++pos) {
      const index_t t = s.time(pos);
      const float* h_prev = s.previous<const float>(saved.hidden, a.h0, pos);
      const float* c_prev = saved.cell ? s.previous<const float>(saved.cell, a.c0, pos) : nullptr;
      float* pre_t = pre + t * N * stride;
      StepTarget targets[Cell::kGates];
      for (int g = 0; g < Cell::kGates; ++g) targets[g] = {pre_t + g * H, stride, true};
      if (gru) targets[2] = {rec_n, H, false};
      step_product(b, h_prev, H, N, targets, q0, q1, packed_a);
      for (index_t n = 0; n < N; ++n) {
        const index_t row = t * N + n;
        const ForwardRow r{pre_t + n * stride, rec_n + n * H, bias, b_hn, h_prev + n * H,
                           c_prev ? c_prev + n * H : nullptr, saved.hidden + row * H,
                           saved.cell ? saved.cell + row * H : nullptr, H};
        for_each_vector(j0, j1, [&](index_t j, int count) { Cell::activate(r, j, count); });
        if (Cell::kUpdates)
          for_each_vector(j0, j1, [&](index_t j, int count) { Cell::update(r, j, count); });
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

// The dispatch table: one set of function pointers per compiled ISA, filled by the per-ISA
// registration functions, the best one the CPU supports chosen at import (HPNN_ISA overrides).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/isa.h"
#include "core/nn_args.h"

namespace hpnn {

// C = alpha * op(A) @ op(B) + beta * C with element (i, j) of X at x[i * rs_x + j * cs_x];
// op() is folded into the strides by the caller. beta == 0 never reads C; alpha == 0 or
// k == 0 never reads A or B (the BLAS convention).
struct GemmArgs {
  index_t m, n, k;
  const float* a;
  index_t rs_a, cs_a;
  const float* b;
  index_t rs_b, cs_b;
  float* c;
  index_t rs_c, cs_c;
  float alpha, beta;
  int num_threads;
  // a holds op(A) already packed, as pack_a_whole lays it out (gemm_driver.h); rs_a, cs_a unused.
  bool a_packed = false;
  // When set, row_bias[i] is added to row i of C in the same write (a convolution's bias).
  const float* row_bias = nullptr;
  // max(C, 0) (NaN kept) in the write of the last pass over the depth (a fused ReLU).
  bool relu = false;
  // C is far larger than the caches and written once (beta == 0, k within one KC block): its
  // whole tiles are stored non-temporally, skipping the read for ownership of every line.
  bool stream_c = false;
};

// A batch of products of one geometry (GemmArgs' m, n, k, strides, alpha, beta): item i reads
// A at gemm.a + a_offsets[i], B at gemm.b + b_offsets[i] and writes C at gemm.c + c_offsets[i]
// (offsets in floats; a broadcast operand repeats its offsets). With items_on_threads, a team
// of gemm.num_threads threads shares the items, each item computed whole by one thread; else
// the items run one after another, each on gemm.num_threads threads. Either way an item's
// result does not depend on the thread count.
struct GemmBatchArgs {
  GemmArgs gemm;
  index_t batch;
  const index_t *a_offsets, *b_offsets, *c_offsets;
  bool items_on_threads;
};

// Pooling over `planes` contiguous H x W planes (N * C of an NCHW array) into OH x OW planes.
struct PoolArgs {
  index_t planes, height, width, out_height, out_width;
  index_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  bool count_include_pad;    // average pooling: padding counts in the divisor
  index_t divisor_override;  // average pooling: > 0 replaces the divisor
  int num_threads;
  bool int32_indices = false;  // max pooling: indices are int32 (planes < 2^31), else int64
  // Max pooling's backward: when set (grad_y's shape), grad_y passes only where this is > 0
  // -- the pooled output of relu'd values, a ReLU before the pool folded into its backward.
  const float* relu_output = nullptr;
};

// Batch norm over a contiguous (N, C, S) array: statistics per channel over N * S values.
struct BatchNormArgs {
  index_t batch, channels, spatial;
  const float* weight;  // (C,) or null (affine off); bias likewise
  const float* bias;
  int num_threads;
};

// Layer and group norm: `rows` independent rows of `channels` runs of `spatial` values each,
// normalised over the whole row. Row r's channels use weight/bias entries
// [(r % groups) * channels, + channels). Layer norm: groups 1, channels D, spatial 1 (weight
// and bias per element); group norm over (N, C, S): rows N * G, channels C / G, spatial S.
struct RowNormArgs {
  index_t rows, groups, channels, spatial;
  const float* weight;  // (groups * channels,) or null; bias likewise
  const float* bias;
  int num_threads;
};

// An embedding lookup: `count` indices (all checked to lie in [0, num_embeddings)) into a
// (num_embeddings, dim) table. padding_idx: rows of that index get no gradient (-1: none).
struct EmbeddingArgs {
  const std::int64_t* indices;
  index_t count, num_embeddings, dim, padding_idx;
  bool scale_grad_by_freq;
  int num_threads;
};

// Attention's masked softmax over x (batch, heads, rows, cols): y = softmax(scale * x + mask)
// along cols. The additive mask is (batch or 1, heads or 1, rows or 1, cols), given by its
// strides in floats (0 where a dim is broadcast); null for none. causal keeps col <= row
// (top-left aligned, as PyTorch's tril). A row with no finite logit gets zeros when
// zero_empty_rows (PyTorch's scaled_dot_product_attention), NaN otherwise (plain softmax).
struct MaskedSoftmaxArgs {
  index_t batch, heads, rows, cols;
  const float* mask;
  index_t mask_batch_stride, mask_head_stride, mask_row_stride;
  float scale;
  bool causal, zero_empty_rows;
  int num_threads;
};

// Cache blocking of one ISA's GEMM (see csrc/kernels/gemm/gemm_driver.h for the reasoning).
struct GemmBlocking {
  int mr, nr;           // register tile of the micro-kernel
  index_t kc, mc, nc;   // depth, rows and columns of the packed blocks
};

// A 2-d convolution, NCHW: x (n, c, h, w), weight (k, c / groups, kh, kw), y (n, k, oh, ow).
struct ConvShape {
  index_t n, c, h, w;
  index_t k, kh, kw;
  index_t oh, ow;
  index_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  index_t groups;
};

// A recurrent layer over a whole sequence, one layer and direction (csrc/kernels/rnn), PyTorch's
// layout: x (T, N, F), states (N, H), w_ih (G*H, F), w_hh (G*H, H), biases (G*H,) or null.
enum class RnnCell { kTanh, kRelu, kLstm, kGru };
struct RnnArgs {
  RnnCell cell;
  index_t steps, batch, input, hidden;
  bool reverse;
  const float *x, *h0, *c0, *w_ih, *w_hh, *b_ih, *b_hh;  // c0: LSTM only
  int num_threads;
};
// What the forward saves, (T, N, *) each, indexed by time: hidden; cell (LSTM); gates (LSTM:
// activated i, f, g, o; GRU: r, z, n, h W_hn^T + b_hn). Unused pointers are null.
struct RnnSaved {
  float *hidden, *cell, *gates;
};
// The backward's outputs; grad_c0 (LSTM) and the bias gradients may be null.
struct RnnGrads {
  const float *grad_output, *grad_h_n, *grad_c_n;  // grad_h_n / grad_c_n may be null (zeros)
  float *grad_x, *grad_h0, *grad_c0, *grad_w_ih, *grad_w_hh, *grad_b_ih, *grad_b_hh;
};

struct KernelTable {
  const char* isa = nullptr;
  void (*sgemm)(const GemmArgs&, const GemmBlocking&) = nullptr;
  void (*sgemm_batched)(const GemmBatchArgs&, const GemmBlocking&) = nullptr;
  GemmBlocking gemm_blocking{};
  // Convolutions over contiguous NCHW arrays; bias may be null. Outputs are overwritten. The
  // forward applies max(y, 0) (NaN kept) in its output write when `relu`.
  void (*conv2d_forward)(const ConvShape&, const float* x, const float* weight, const float* bias,
                         bool relu, float* y, int num_threads) = nullptr;
  void (*conv2d_backward_input)(const ConvShape&, const float* grad_y, const float* weight,
                                float* grad_x, int num_threads) = nullptr;
  // grad_params: the weight gradient (K x C/groups x kh x kw), then with_bias the bias
  // gradient (K), summed in the same sweep over grad_y.
  void (*conv2d_backward_weight)(const ConvShape&, const float* grad_y, const float* x,
                                 float* grad_params, bool with_bias, int num_threads) = nullptr;
  // Both: grad_x, and grad_params (weight gradient, then bias gradient) from one sweep that
  // shares what the two have in common (Winograd's transformed dy).
  void (*conv2d_backward)(const ConvShape&, const float* grad_y, const float* x,
                          const float* weight, float* grad_x, float* grad_params,
                          int num_threads) = nullptr;
  // max_pool2d(relu(conv)) with a 2x2 stride-2 pool (floor): the pooled values (N, K, OH/2,
  // OW/2) and their flat positions in the convolution's output planes; false (nothing written)
  // where no fused path suits the convolution.
  bool (*conv2d_relu_max_pool2x2)(const ConvShape&, const float* x, const float* weight,
                                  const float* bias, float* y, std::int32_t* indices,
                                  int num_threads) = nullptr;
  // Its backward: conv2d_backward's (grad_x, grad_params) of the convolution under the relu and
  // pool (grad_params alone where grad_x is null), from the pool's gradient, indices and output,
  // with dy never written; false (outputs unfinished) where no fused path suits or an index
  // lies outside its window.
  bool (*conv2d_relu_max_pool2x2_backward)(const ConvShape&, const float* grad,
                                           const std::int32_t* indices, const float* output,
                                           const float* x, const float* weight, float* grad_x,
                                           float* grad_params, int num_threads) = nullptr;
  // Runs `iters` iterations of independent FMAs in registers; returns the flops done.
  double (*fma_probe)(index_t iters) = nullptr;
  // Activations, losses, optimizer steps and dropout (core/nn_args.h).
  void (*activation_forward)(Activation op, const float* x, float* y, index_t n, float param,
                             int num_threads) = nullptr;
  void (*activation_backward)(Activation op, const float* grad_y, const float* saved,
                              float* grad_x, index_t n, float param, int num_threads) = nullptr;
  // (Log-)softmax along the rows of a contiguous rows x dim matrix.
  void (*softmax_forward)(const float* x, float* y, index_t rows, index_t dim, bool log,
                          int num_threads) = nullptr;
  void (*softmax_backward)(const float* grad_y, const float* y, float* grad_x, index_t rows,
                           index_t dim, bool log, int num_threads) = nullptr;
  double (*pointwise_loss_forward)(const PointwiseLossArgs&) = nullptr;  // returns the sum
  void (*pointwise_loss_backward)(const PointwiseLossArgs&) = nullptr;
  void (*cross_entropy_forward)(const ClassLossArgs&) = nullptr;
  void (*cross_entropy_backward)(const ClassLossArgs&) = nullptr;
  void (*sgd_step)(const SgdArgs&) = nullptr;
  void (*adam_step)(const AdamArgs&) = nullptr;
  void (*rmsprop_step)(const RmspropArgs&) = nullptr;
  void (*adagrad_step)(const AdagradArgs&) = nullptr;
  void (*dropout_forward)(const DropoutArgs&) = nullptr;
  void (*dropout_backward)(const DropoutArgs&) = nullptr;
  // Pooling (csrc/kernels/pool). Outputs are overwritten. max_pool2d_backward returns false
  // when an index lies outside its plane (gradients are then incomplete). Max-pool indices
  // are int64, or int32 with PoolArgs::int32_indices.
  void (*max_pool2d_forward)(const PoolArgs&, const float* x, float* y, void* indices) = nullptr;
  bool (*max_pool2d_backward)(const PoolArgs&, const float* grad_y, const void* indices,
                              float* grad_x) = nullptr;
  void (*avg_pool2d_forward)(const PoolArgs&, const float* x, float* y) = nullptr;
  void (*avg_pool2d_backward)(const PoolArgs&, const float* grad_y, float* grad_x) = nullptr;
  void (*global_avg_pool2d_forward)(index_t planes, index_t size, const float* x, float* y,
                                    int num_threads) = nullptr;
  void (*global_avg_pool2d_backward)(index_t planes, index_t size, const float* grad_y,
                                     float* grad_x, int num_threads) = nullptr;
  // Batch norm (csrc/kernels/norm). Training: batch statistics into save_mean/save_invstd,
  // running stats (may be null) updated in place. Eval: normalise with mean/var given.
  void (*batch_norm_forward_train)(const BatchNormArgs&, const float* x, float* y,
                                   float* save_mean, float* save_invstd, float* running_mean,
                                   float* running_var, double momentum, double eps) = nullptr;
  void (*batch_norm_forward_eval)(const BatchNormArgs&, const float* x, float* y,
                                  const float* mean, const float* var, double eps) = nullptr;
  // grad_weight/grad_bias may be null (affine off); args.bias is unused.
  void (*batch_norm_backward)(const BatchNormArgs&, const float* grad_y, const float* x,
                              const float* save_mean, const float* save_invstd, float* grad_x,
                              float* grad_weight, float* grad_bias) = nullptr;
  // Layer / group norm (csrc/kernels/norm/row_norm_isa.cpp): mean and rstd (rows,) saved.
  void (*row_norm_forward)(const RowNormArgs&, const float* x, float* y, float* mean,
                           float* rstd, double eps) = nullptr;
  // grad_weight and grad_bias ((groups * channels,) each) both null or both set; the sums over
  // rows are deterministic at any thread count. args.bias is unused.
  void (*row_norm_backward)(const RowNormArgs&, const float* grad_y, const float* x,
                            const float* mean, const float* rstd, float* grad_x,
                            float* grad_weight, float* grad_bias) = nullptr;
  // Embedding (csrc/kernels/embedding): y (count, dim) = weight rows; the backward overwrites
  // grad_weight (num_embeddings, dim), deterministically.
  void (*embedding_forward)(const EmbeddingArgs&, const float* weight, float* y) = nullptr;
  void (*embedding_backward)(const EmbeddingArgs&, const float* grad_y,
                             float* grad_weight) = nullptr;
  // Attention (csrc/kernels/attention): the backward writes grad_x = scale * dsoftmax, which
  // is also the additive mask's gradient divided by scale.
  void (*masked_softmax_forward)(const MaskedSoftmaxArgs&, const float* x, float* y) = nullptr;
  void (*masked_softmax_backward)(const MaskedSoftmaxArgs&, const float* grad_y, const float* y,
                                  float* grad_x) = nullptr;
  // Recurrent layers (csrc/kernels/rnn): the forward fills `saved`, the backward reads it.
  void (*rnn_forward)(const RnnArgs&, const RnnSaved& saved) = nullptr;
  void (*rnn_backward)(const RnnArgs&, const RnnSaved& saved, const RnnGrads& grads) = nullptr;
};

const KernelTable& active_kernels();
const char* active_isa();
std::vector<std::string> available_isas();   // compiled in and supported by this CPU, best first
std::vector<std::string> compiled_isas();
void select_isa(const std::string& name);    // throws std::invalid_argument
void set_gemm_blocking(index_t kc, index_t mc, index_t nc);  // tuning hook for the benchmarks

}  // namespace hpnn

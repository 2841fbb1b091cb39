// Argument types of the activation, loss, optimizer-step and dropout kernels (KernelTable).
// All arrays are contiguous float32 of `n` elements unless stated; semantics are those of the
// numpy twins in python/hpnn/reference/{activation,loss,optim,dropout}.py.
#pragma once
#include <cstdint>

#include "core/isa.h"

namespace hpnn {

// Elementwise activations; `param` is leaky_relu's negative_slope, unused by the others.
enum class Activation : int { kRelu, kLeakyRelu, kSigmoid, kTanh, kGelu, kGeluTanh };

// Elementwise losses (terms before reduction) and their gradients.
enum class PointwiseLoss : int { kMse, kBce, kBceWithLogits };

struct PointwiseLossArgs {
  PointwiseLoss op;
  const float* input;       // prediction: input, probs or logits
  const float* target;
  const float* pos_weight;  // bce_with_logits only, broadcast to n elements; null: weight 1
  const float* grad_loss;   // backward with reduction 'none': per-element upstream; else null
  float grad_scale;         // backward otherwise: the scalar upstream ('mean' divided in)
  float* out;               // per-element loss or gradient; may be null in a forward (sum only)
  index_t n;
  int num_threads;
};

// Cross entropy / NLL over `rows` x `classes` scores with int64 targets.
struct ClassLossArgs {
  const float* scores;       // logits (cross entropy) or log-probabilities (nll)
  const std::int64_t* target;
  index_t rows, classes;
  std::int64_t ignore_index;
  float label_smoothing;
  const float* grad_rows;    // backward, reduction 'none': upstream per row; else null
  float grad_scale;          // backward otherwise
  float* out;                // forward: per-row loss (rows); backward: gradient (rows x classes)
  int num_threads;
};

// Optimizer steps update param and state in place; hyper-parameters as torch.optim's.
struct SgdArgs {
  float* param;
  const float* grad;
  float* momentum_buffer;  // null when momentum == 0
  index_t n;
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize, first_step;
  int num_threads;
};

struct AdamArgs {
  float* param;
  const float* grad;
  float *exp_avg, *exp_avg_sq, *max_exp_avg_sq;  // the last null unless amsgrad
  index_t n;
  std::int64_t step;
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, decoupled_weight_decay, maximize;
  int num_threads;
};

struct RmspropArgs {
  float* param;
  const float* grad;
  float *square_avg, *grad_avg, *momentum_buffer;  // grad_avg iff centered, buffer iff momentum
  index_t n;
  double lr, alpha, eps, weight_decay, momentum;
  bool centered, maximize;
  int num_threads;
};

struct AdagradArgs {
  float* param;
  const float* grad;
  float* state_sum;
  index_t n;
  std::int64_t step;
  double lr, lr_decay, weight_decay, initial_accumulator_value, eps;
  bool maximize;
  int num_threads;
};

// Dropout: element i is kept iff (splitmix64(seed, i) >> 40) >= threshold (see the reference).
struct DropoutArgs {
  const float* input;  // x (forward) or grad_y (backward)
  bool* mask;          // written by the forward, read by the backward
  float* out;
  index_t n;
  std::uint64_t seed, threshold;
  float scale;
  int num_threads;
};

}  // namespace hpnn

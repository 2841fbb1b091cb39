// Optimizer steps (SGD, Adam/AdamW, RMSprop, Adagrad): one fused pass over param, grad and the
// state buffers. Operation order and float32 rounding of the hyper-parameters follow
// python/hpnn/reference/optim.py (PyTorch's single-tensor implementations).
// No FMA contraction here: with the reference's separate roundings the steps reproduce it (and
// torch's CPU path) almost bit for bit; a step is memory-bound, so fused multiply-adds buy nothing.
#pragma GCC optimize("fp-contract=off")
#include "core/kernel_table.h"
#include "core/pointwise.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

constexpr int kBuffers = 5;  // param, grad, then up to three state buffers
constexpr int kGrad = 1;     // the one buffer that is only read

static inline vfloat vsqrt(vfloat x) {
  vfloat r;
  for (int i = 0; i < kLanes; ++i) r[i] = __builtin_sqrtf(x[i]);  // becomes one vsqrtps
  return r;
}

// np.maximum: NaN in either operand wins.
static inline vfloat vmax_nan(vfloat a, vfloat b) { return (a != a) | (a > b) ? a : b; }

// In-place torch.lerp(start, end, w), computed from the nearer end (see _lerp_ in the reference).
struct Lerp {
  bool from_end;
  float w, one_minus_w;
  vfloat operator()(vfloat start, vfloat end) const {
    return from_end ? end - (end - start) * one_minus_w : start + w * (end - start);
  }
};

static inline Lerp make_lerp(double w) {
  return Lerp{w >= 0.5, static_cast<float>(w), static_cast<float>(1.0 - w)};
}

// Runs step(buffers, i) on every vector of [0, n); the tail on zero-padded copies, written back
// to every buffer but grad. Null buffers stay null.
template <class Step>
void for_each_vector(const Step& step, float* const (&buffers)[kBuffers], index_t n, int nt) {
  parallel_ranges(n, nt, [&](index_t begin, index_t end) {
    index_t i = begin;
    for (; i + kLanes <= end; i += kLanes) step(buffers, i);
    if (i == end) return;
    const int rem = static_cast<int>(end - i);
    float padded[kBuffers][kLanes] = {};
    float* tail[kBuffers];
    for (int k = 0; k < kBuffers; ++k) {
      tail[k] = buffers[k] ? padded[k] : nullptr;
      for (int j = 0; buffers[k] && j < rem; ++j) padded[k][j] = buffers[k][i + j];
    }
    step(tail, 0);
    for (int k = 0; k < kBuffers; ++k)
      for (int j = 0; k != kGrad && buffers[k] && j < rem; ++j) buffers[k][i + j] = padded[k][j];
  });
}

// g = (-grad if maximize else grad) + weight_decay * param (the decay only when nonzero).
struct Gradient {
  bool maximize, decay;
  float weight_decay;
  vfloat operator()(vfloat grad, vfloat param) const {
    const vfloat g = maximize ? -grad : grad;
    return decay ? g + weight_decay * param : g;
  }
};

struct SgdStep {
  Gradient gradient;
  bool use_momentum, nesterov, first_step;
  float lr, momentum, one_minus_dampening;
  void operator()(float* const* b, index_t i) const {
    const vfloat p = vload(b[0] + i);
    vfloat g = gradient(vload(b[1] + i), p);
    if (use_momentum) {
      const vfloat buf = first_step ? g : vload(b[2] + i) * momentum + one_minus_dampening * g;
      vstore(b[2] + i, buf);
      g = nesterov ? g + momentum * buf : buf;
    }
    vstore(b[0] + i, p - lr * g);
  }
};

void sgd_step(const SgdArgs& a) {
  const SgdStep step{Gradient{a.maximize, a.weight_decay != 0.0, static_cast<float>(a.weight_decay)},
                     a.momentum != 0.0, a.nesterov, a.first_step, static_cast<float>(a.lr),
                     static_cast<float>(a.momentum), static_cast<float>(1.0 - a.dampening)};
  float* const buffers[kBuffers] = {a.param, const_cast<float*>(a.grad), a.momentum_buffer,
                                    nullptr, nullptr};
  for_each_vector(step, buffers, a.n, a.num_threads);
}

struct AdamStep {
  Gradient gradient;
  bool decoupled, amsgrad;
  float decay_factor;  // 1 - lr * weight_decay (decoupled)
  Lerp lerp;
  float beta2, one_minus_beta2, bias2_sqrt, eps, step_size;
  void operator()(float* const* b, index_t i) const {
    vfloat p = vload(b[0] + i);
    vfloat g = vload(b[1] + i);
    if (decoupled) {
      g = gradient.maximize ? -g : g;
      p = p * decay_factor;
    } else {
      g = gradient(g, p);
    }
    const vfloat m = lerp(vload(b[2] + i), g);
    vfloat v = vload(b[3] + i) * beta2 + one_minus_beta2 * g * g;
    vstore(b[2] + i, m);
    vstore(b[3] + i, v);
    if (amsgrad) {
      v = vmax_nan(vload(b[4] + i), v);
      vstore(b[4] + i, v);
    }
    const vfloat denom = vsqrt(v) / bias2_sqrt + eps;
    vstore(b[0] + i, p + step_size * (m / denom));
  }
};

void adam_step(const AdamArgs& a) {
  const double step = static_cast<double>(a.step);
  const double bias1 = 1.0 - __builtin_pow(a.beta1, step);
  const double bias2 = 1.0 - __builtin_pow(a.beta2, step);
  const AdamStep s{Gradient{a.maximize, a.weight_decay != 0.0, static_cast<float>(a.weight_decay)},
                   a.decoupled_weight_decay, a.amsgrad,
                   static_cast<float>(1.0 - a.lr * a.weight_decay), make_lerp(1.0 - a.beta1),
                   static_cast<float>(a.beta2), static_cast<float>(1.0 - a.beta2),
                   static_cast<float>(__builtin_sqrt(bias2)), static_cast<float>(a.eps),
                   static_cast<float>(-(a.lr / bias1))};
  float* const buffers[kBuffers] = {a.param, const_cast<float*>(a.grad), a.exp_avg, a.exp_avg_sq,
                                    a.amsgrad ? a.max_exp_avg_sq : nullptr};
  for_each_vector(s, buffers, a.n, a.num_threads);
}

struct RmspropStep {
  Gradient gradient;
  bool centered, use_momentum;
  float alpha, one_minus_alpha;
  Lerp lerp;
  float eps, lr, momentum;
  void operator()(float* const* b, index_t i) const {
    const vfloat p = vload(b[0] + i);
    const vfloat g = gradient(vload(b[1] + i), p);
    const vfloat square_avg = vload(b[2] + i) * alpha + one_minus_alpha * g * g;
    vstore(b[2] + i, square_avg);
    vfloat avg;
    if (centered) {
      const vfloat grad_avg = lerp(vload(b[3] + i), g);
      vstore(b[3] + i, grad_avg);
      avg = vsqrt(square_avg - grad_avg * grad_avg);
    } else {
      avg = vsqrt(square_avg);
    }
    avg = avg + eps;
    if (use_momentum) {
      const vfloat buf = vload(b[4] + i) * momentum + g / avg;
      vstore(b[4] + i, buf);
      vstore(b[0] + i, p - lr * buf);
    } else {
      vstore(b[0] + i, p + (-lr) * (g / avg));
    }
  }
};

void rmsprop_step(const RmspropArgs& a) {
  const RmspropStep s{Gradient{a.maximize, a.weight_decay != 0.0, static_cast<float>(a.weight_decay)},
                      a.centered, a.momentum > 0.0, static_cast<float>(a.alpha),
                      static_cast<float>(1.0 - a.alpha), make_lerp(1.0 - a.alpha),
                      static_cast<float>(a.eps), static_cast<float>(a.lr),
                      static_cast<float>(a.momentum)};
  float* const buffers[kBuffers] = {a.param, const_cast<float*>(a.grad), a.square_avg,
                                    a.centered ? a.grad_avg : nullptr,
                                    a.momentum > 0.0 ? a.momentum_buffer : nullptr};
  for_each_vector(s, buffers, a.n, a.num_threads);
}

struct AdagradStep {
  Gradient gradient;
  bool reset;
  float initial, neg_clr, eps;
  void operator()(float* const* b, index_t i) const {
    const vfloat p = vload(b[0] + i);
    const vfloat g = gradient(vload(b[1] + i), p);
    const vfloat sum = (reset ? vbroadcast(initial) : vload(b[2] + i)) + g * g;
    vstore(b[2] + i, sum);
    vstore(b[0] + i, p + neg_clr * (g / (vsqrt(sum) + eps)));
  }
};

void adagrad_step(const AdagradArgs& a) {
  const double clr = a.lr / (1.0 + static_cast<double>(a.step - 1) * a.lr_decay);
  const AdagradStep s{Gradient{a.maximize, a.weight_decay != 0.0, static_cast<float>(a.weight_decay)},
                      a.step == 1, static_cast<float>(a.initial_accumulator_value),
                      static_cast<float>(-clr), static_cast<float>(a.eps)};
  float* const buffers[kBuffers] = {a.param, const_cast<float*>(a.grad), a.state_sum, nullptr,
                                    nullptr};
  for_each_vector(s, buffers, a.n, a.num_threads);
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_optim)(KernelTable& table) {
  table.sgd_step = HPNN_ISA_NS::sgd_step;
  table.adam_step = HPNN_ISA_NS::adam_step;
  table.rmsprop_step = HPNN_ISA_NS::rmsprop_step;
  table.adagrad_step = HPNN_ISA_NS::adagrad_step;
}

}  // namespace hpnn

// Losses: elementwise MSE / BCE / BCE-with-logits terms and gradients, and row-wise cross
// entropy computing log-sum-exp once per row. Semantics: python/hpnn/reference/loss.py.
#include "core/kernel_table.h"
#include "core/pointwise.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

constexpr float kBceLogClamp = -100.0f;
constexpr float kBceGradEps = 1e-12f;

// Streams: 0 prediction, 1 target, 2 pos_weight (or zeros), 3 per-element upstream (or zeros).
struct Upstream {
  bool per_element;
  float scale;
  vfloat operator()(vfloat g) const { return per_element ? g : vbroadcast(scale); }
};

struct MseForward {
  vfloat operator()(vfloat x, vfloat t, vfloat, vfloat) const { return (x - t) * (x - t); }
};
struct MseBackward {
  Upstream up;
  vfloat operator()(vfloat x, vfloat t, vfloat, vfloat g) const { return 2.0f * (x - t) * up(g); }
};
struct BceForward {
  vfloat operator()(vfloat p, vfloat t, vfloat, vfloat) const {
    const vfloat log_p = vclamp_low(vlog(p), kBceLogClamp);
    const vfloat log_1mp = vclamp_low(vlog(1.0f - p), kBceLogClamp);
    return -(t * log_p + (1.0f - t) * log_1mp);
  }
};
struct BceBackward {
  Upstream up;
  vfloat operator()(vfloat p, vfloat t, vfloat, vfloat g) const {
    const vfloat denominator = vclamp_low((1.0f - p) * p, kBceGradEps);
    return (p - t) / denominator * up(g);
  }
};
// loss = (1 - t) x + w (log1p(exp(-|x|)) + max(-x, 0)), w = 1 + (pos_weight - 1) t.
struct BceLogitsForward {
  bool weighted;
  vfloat operator()(vfloat x, vfloat t, vfloat pw, vfloat) const {
    vfloat nls = vlog1p_pos(vexp(-vabs(x))) + vclamp_low(-x, 0.0f);
    if (weighted) nls = (1.0f + (pw - 1.0f) * t) * nls;
    return (1.0f - t) * x + nls;
  }
};
struct BceLogitsBackward {
  bool weighted;
  Upstream up;
  vfloat operator()(vfloat x, vfloat t, vfloat pw, vfloat g) const {
    const vfloat sig = vsigmoid(x);
    const vfloat grad = weighted ? (1.0f + (pw - 1.0f) * t) * (sig - 1.0f) + 1.0f - t : sig - t;
    return grad * up(g);
  }
};

Streams loss_streams(const PointwiseLossArgs& a) {
  return Streams{{a.input, a.target, a.pos_weight, a.grad_loss}};
}

double pointwise_loss_forward(const PointwiseLossArgs& a) {
  const Streams s = loss_streams(a);
  switch (a.op) {
    case PointwiseLoss::kMse: return pointwise(MseForward{}, s, a.out, a.n, a.num_threads, true);
    case PointwiseLoss::kBce: return pointwise(BceForward{}, s, a.out, a.n, a.num_threads, true);
    case PointwiseLoss::kBceWithLogits:
      return pointwise(BceLogitsForward{a.pos_weight != nullptr}, s, a.out, a.n, a.num_threads,
                       true);
  }
  return 0.0;
}

void pointwise_loss_backward(const PointwiseLossArgs& a) {
  const Streams s = loss_streams(a);
  const Upstream up{a.grad_loss != nullptr, a.grad_scale};
  switch (a.op) {
    case PointwiseLoss::kMse:
      pointwise(MseBackward{up}, s, a.out, a.n, a.num_threads, false);
      return;
    case PointwiseLoss::kBce:
      pointwise(BceBackward{up}, s, a.out, a.n, a.num_threads, false);
      return;
    case PointwiseLoss::kBceWithLogits:
      pointwise(BceLogitsBackward{a.pos_weight != nullptr, up}, s, a.out, a.n, a.num_threads,
                false);
      return;
  }
}

// ---- cross entropy ----------------------------------------------------------------------------

// log_softmax(x)[c] = (x[c] - shift) - logsum; sum_shifted = sum_c (x[c] - shift).
struct RowStats {
  float shift, logsum, sum_shifted;
};

RowStats row_stats(const float* x, index_t classes) {
  const float shift = row_shift(x, classes);
  vfloat sum_exp = vfloat{}, sum_shifted = vfloat{};
  index_t c = 0;
  for (; c + kLanes <= classes; c += kLanes) {
    const vfloat d = vload(x + c) - shift;
    sum_exp += vexp(d);
    sum_shifted += d;
  }
  float se = hsum(sum_exp), ss = hsum(sum_shifted);
  for (; c < classes; ++c) {  // tail with libm
    se += __builtin_expf(x[c] - shift);
    ss += x[c] - shift;
  }
  return RowStats{shift, __builtin_logf(se), ss};
}

bool ignored(const ClassLossArgs& a, index_t r) { return a.target[r] == a.ignore_index; }

template <class RowFn>
void for_rows(index_t rows, int nt, const RowFn& fn) {
  parallel_ranges(rows, nt, [&](index_t begin, index_t end) {
    for (index_t r = begin; r < end; ++r) fn(r);
  });
}

// loss = (1 - eps) (-lp[t]) + eps / C (-sum_c lp[c]); 0 on ignored rows.
void cross_entropy_forward(const ClassLossArgs& a) {
  const float keep = 1.0f - a.label_smoothing;
  const float spread = static_cast<float>(static_cast<double>(a.label_smoothing) / a.classes);
  for_rows(a.rows, a.num_threads, [&](index_t r) {
    if (ignored(a, r)) {
      a.out[r] = 0.0f;
      return;
    }
    const float* x = a.scores + r * a.classes;
    const RowStats s = row_stats(x, a.classes);
    const float nll = -((x[a.target[r]] - s.shift) - s.logsum);
    const float smooth = -(s.sum_shifted - static_cast<float>(a.classes) * s.logsum);
    a.out[r] = keep * nll + spread * smooth;
  });
}

struct CrossEntropyGrad {
  float shift, logsum, spread, scale;
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const {
    return (vexp((x - shift) - logsum) - spread) * scale;
  }
};

// (softmax - (1 - eps) one_hot - eps / C) * upstream; 0 on ignored rows.
void cross_entropy_backward(const ClassLossArgs& a) {
  const float keep = 1.0f - a.label_smoothing;
  const float spread = static_cast<float>(static_cast<double>(a.label_smoothing) / a.classes);
  for_rows(a.rows, a.num_threads, [&](index_t r) {
    const float* x = a.scores + r * a.classes;
    float* g = a.out + r * a.classes;
    if (ignored(a, r)) {
      for (index_t c = 0; c < a.classes; ++c) g[c] = 0.0f;
      return;
    }
    const RowStats s = row_stats(x, a.classes);
    const float scale = a.grad_rows ? a.grad_rows[r] : a.grad_scale;
    const CrossEntropyGrad op{s.shift, s.logsum, spread, scale};
    pointwise_range(op, Streams{{x, nullptr, nullptr, nullptr}}, g, 0, a.classes, false);
    const index_t t = a.target[r];
    const float p_t = __builtin_expf((x[t] - s.shift) - s.logsum);
    g[t] = ((p_t - keep) - spread) * scale;
  });
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_loss)(KernelTable& table) {
  table.pointwise_loss_forward = HPNN_ISA_NS::pointwise_loss_forward;
  table.pointwise_loss_backward = HPNN_ISA_NS::pointwise_loss_backward;
  table.cross_entropy_forward = HPNN_ISA_NS::cross_entropy_forward;
  table.cross_entropy_backward = HPNN_ISA_NS::cross_entropy_backward;
}

}  // namespace hpnn

// Elementwise activations and row-wise (log-)softmax, forward and backward, compiled once per
// ISA (see core/isa.h). Semantics: python/hpnn/reference/activation.py.
#include "core/kernel_table.h"
#include "core/pointwise.h"

namespace hpnn {
namespace HPNN_ISA_NS {
namespace {

constexpr float kSqrt2OverPi = 0.797884560802865356f;
constexpr float kGeluTanhCoeff = 0.044715f;

// Forward ops read x from stream 0; backward ops read grad_y from 0 and the saved x or y from 1.
struct ReluForward {
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const { return x < 0.0f ? vfloat{} : x; }
};
struct ReluBackward {
  vfloat operator()(vfloat g, vfloat x, vfloat, vfloat) const { return x > 0.0f ? g : vfloat{}; }
};
struct LeakyReluForward {
  float slope;
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const { return x > 0.0f ? x : x * slope; }
};
struct LeakyReluBackward {
  float slope;
  vfloat operator()(vfloat g, vfloat x, vfloat, vfloat) const { return x > 0.0f ? g : g * slope; }
};
struct SigmoidForward {
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const { return vsigmoid(x); }
};
struct SigmoidBackward {
  vfloat operator()(vfloat g, vfloat y, vfloat, vfloat) const { return g * (1.0f - y) * y; }
};
struct TanhForward {
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const { return vtanh(x); }
};
struct TanhBackward {
  vfloat operator()(vfloat g, vfloat y, vfloat, vfloat) const { return g * (1.0f - y * y); }
};
// x Phi(x); the derivative is Phi(x) + x phi(x).
struct GeluForward {
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const {
    vfloat pdf;
    return x * vnormal_cdf(x, &pdf);
  }
};
struct GeluBackward {
  vfloat operator()(vfloat g, vfloat x, vfloat, vfloat) const {
    vfloat pdf;
    const vfloat cdf = vnormal_cdf(x, &pdf);
    return g * (cdf + x * pdf);
  }
};
// 0.5 x (1 + tanh(u)) = x sigmoid(2u): no cancellation for negative x.
static inline vfloat gelu_tanh_inner(vfloat x) {
  return kSqrt2OverPi * (x + kGeluTanhCoeff * (x * x * x));
}
struct GeluTanhForward {
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const {
    const vfloat u = gelu_tanh_inner(x);
    return x * vsigmoid(u + u);
  }
};
struct GeluTanhBackward {
  vfloat operator()(vfloat g, vfloat x, vfloat, vfloat) const {
    const vfloat t = vtanh(gelu_tanh_inner(x));
    const vfloat d_inner = kSqrt2OverPi * (1.0f + 3.0f * kGeluTanhCoeff * (x * x));
    return g * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * d_inner);
  }
};

template <class Op>
void run(const Op& op, const float* a, const float* b, float* out, index_t n, int nt) {
  pointwise(op, Streams{{a, b, nullptr, nullptr}}, out, n, nt, false);
}

void activation_forward(Activation op, const float* x, float* y, index_t n, float param, int nt) {
  switch (op) {
    case Activation::kRelu: return run(ReluForward{}, x, nullptr, y, n, nt);
    case Activation::kLeakyRelu: return run(LeakyReluForward{param}, x, nullptr, y, n, nt);
    case Activation::kSigmoid: return run(SigmoidForward{}, x, nullptr, y, n, nt);
    case Activation::kTanh: return run(TanhForward{}, x, nullptr, y, n, nt);
    case Activation::kGelu: return run(GeluForward{}, x, nullptr, y, n, nt);
    case Activation::kGeluTanh: return run(GeluTanhForward{}, x, nullptr, y, n, nt);
  }
}

void activation_backward(Activation op, const float* g, const float* saved, float* gx, index_t n,
                         float param, int nt) {
  switch (op) {
    case Activation::kRelu: return run(ReluBackward{}, g, saved, gx, n, nt);
    case Activation::kLeakyRelu: return run(LeakyReluBackward{param}, g, saved, gx, n, nt);
    case Activation::kSigmoid: return run(SigmoidBackward{}, g, saved, gx, n, nt);
    case Activation::kTanh: return run(TanhBackward{}, g, saved, gx, n, nt);
    case Activation::kGelu: return run(GeluBackward{}, g, saved, gx, n, nt);
    case Activation::kGeluTanh: return run(GeluTanhBackward{}, g, saved, gx, n, nt);
  }
}

// ---- softmax along contiguous rows ------------------------------------------------------------

// Sum of exp(x - shift) over the row, optionally storing the exponentials in e.
template <class Op>
float row_sum(const Op& op, const float* x, const float* x2, float* out, index_t dim) {
  return static_cast<float>(pointwise_range(op, Streams{{x, x2, nullptr, nullptr}}, out, 0, dim,
                                            true));
}

struct ShiftedExp {
  float shift;
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const { return vexp(x - shift); }
};
struct DivideBy {
  float d;
  vfloat operator()(vfloat e, vfloat, vfloat, vfloat) const { return e / d; }
};
struct SubtractBoth {
  float shift, lse;
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const { return (x - shift) - lse; }
};
struct Product {
  vfloat operator()(vfloat g, vfloat y, vfloat, vfloat) const { return g * y; }
};
struct SumOfFirst {
  vfloat operator()(vfloat g, vfloat, vfloat, vfloat) const { return g; }
};
struct SoftmaxGrad {  // y (g - dot)
  float dot;
  vfloat operator()(vfloat g, vfloat y, vfloat, vfloat) const { return y * (g - dot); }
};
struct LogSoftmaxGrad {  // g - exp(y) sum
  float sum;
  vfloat operator()(vfloat g, vfloat y, vfloat, vfloat) const { return g - vexp(y) * sum; }
};

void softmax_row(const float* x, float* y, index_t dim, bool log) {
  const float shift = row_shift(x, dim);
  if (log) {
    const float lse = __builtin_logf(row_sum(ShiftedExp{shift}, x, nullptr, nullptr, dim));
    pointwise_range(SubtractBoth{shift, lse}, Streams{{x, nullptr, nullptr, nullptr}}, y, 0, dim,
                    false);
  } else {
    const float sum = row_sum(ShiftedExp{shift}, x, nullptr, y, dim);
    pointwise_range(DivideBy{sum}, Streams{{y, nullptr, nullptr, nullptr}}, y, 0, dim, false);
  }
}

void softmax_backward_row(const float* g, const float* y, float* gx, index_t dim, bool log) {
  const Streams both{{g, y, nullptr, nullptr}};
  if (log)
    pointwise_range(LogSoftmaxGrad{row_sum(SumOfFirst{}, g, nullptr, nullptr, dim)}, both, gx, 0,
                    dim, false);
  else
    pointwise_range(SoftmaxGrad{row_sum(Product{}, g, y, nullptr, dim)}, both, gx, 0, dim, false);
}

template <class RowFn>
void for_rows(index_t rows, int nt, const RowFn& fn) {
  if (nt <= 1 || rows < 2) {
    for (index_t r = 0; r < rows; ++r) fn(r);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static)
  for (index_t r = 0; r < rows; ++r) fn(r);
}

void softmax_forward(const float* x, float* y, index_t rows, index_t dim, bool log, int nt) {
  for_rows(rows, nt, [&](index_t r) { softmax_row(x + r * dim, y + r * dim, dim, log); });
}

void softmax_backward(const float* g, const float* y, float* gx, index_t rows, index_t dim,
                      bool log, int nt) {
  for_rows(rows, nt, [&](index_t r) {
    softmax_backward_row(g + r * dim, y + r * dim, gx + r * dim, dim, log);
  });
}

}  // namespace
}  // namespace HPNN_ISA_NS

void HPNN_ISA_FN(register_activation)(KernelTable& table) {
  table.activation_forward = HPNN_ISA_NS::activation_forward;
  table.activation_backward = HPNN_ISA_NS::activation_backward;
  table.softmax_forward = HPNN_ISA_NS::softmax_forward;
  table.softmax_backward = HPNN_ISA_NS::softmax_backward;
}

}  // namespace hpnn

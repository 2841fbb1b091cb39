// GELU, exact (x Phi(x)) and tanh form, forward and backward, as pointwise ops (see
// core/pointwise.h) for activation_isa.cpp. Each is evaluated in float64 on the two halves of a
// vector and rounded once (core/vmath.h: vwidened): the float64 errors (fits < 3.5e-9, exp 4e-11,
// up to ~10 times that where the derivatives cancel) stay far below that rounding. Measured
// against float64 at the float32 input (tests/kernels/test_activation_accuracy.py), relative:
// forward 6.3e-8, backward 7.5e-8; tanh form 6e-8 both (0.5 ulp is up to 6e-8).
#pragma once
#include "core/vmath.h"

namespace hpnn {
namespace HPNN_ISA_NS {

// Phi(-|x|) = exp(-x^2/2) ratio(|x|), ratio = t Q(t) with t = 1 / (1 + 0.3 |x|): a fit for
// relative error (3.4e-9) on |x| <= 13.5 (1.3e-8 up to 15); below x = -13.5 every GELU value and
// derivative is a float32 subnormal.
struct NormalTail {
  vdouble gauss, ratio;  // exp(-x^2/2), Phi(-|x|) / exp(-x^2/2)
};

static inline NormalTail normal_tail(vdouble x) {
  const vdouble gauss = vexp_nonpositive(-0.5 * (x * x));
  const vdouble t = 1.0 / (1.0 + 0.3 * vabs(x));
  const vdouble q = vpoly(t, {-0.020595264999683185, 0.11227676147193022, -0.22782511606817937,
                              0.19124412368649701, -0.07895321399230434, 0.09589191110669033,
                              0.07848604174351814, 0.1102136297354385, 0.11957458672579041,
                              0.11968653887609809});
  return {gauss, t * q};
}

// Both derivatives cross 0 at x = r ~ -0.752, where their two terms cancel: within kRootWindow
// of r they are written as (x - r) H(x - r), H a degree-5 fit (relative error < 3.1e-11);
// outside, the cancellation enlarges the float64 errors at most ~10 times.
constexpr double kRootWindow = 0.1;
constexpr double kInvSqrt2Pi = 0.3989422804014327;

// x Phi(x).
struct GeluForward {
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const {
    return vwidened(x, x, [](vdouble x, vdouble) {
      const NormalTail n = normal_tail(x);
      const vdouble lower = n.gauss * n.ratio;
      return x * (x < 0.0 ? lower : 1.0 - lower);
    });
  }
};

// Phi(x) + x phi(x), near its root phi(x) (x - r) H(x - r); for x < 0 factored as
// exp(-x^2/2) (ratio + x / sqrt(2 pi)).
struct GeluBackward {
  vfloat operator()(vfloat g, vfloat x, vfloat, vfloat) const {
    return vwidened(g, x, [](vdouble g, vdouble x) {
      const NormalTail n = normal_tail(x);
      const vdouble pdf = n.gauss * kInvSqrt2Pi;
      const vdouble v = x - -0.7517915246935645;
      const vdouble h = vpoly(v, {0.004365177068460949, 0.012965319146412115, 0.03587898790130287,
                                  0.09169637376786459, 0.21245271263674675, 1.434809503442146});
      const vdouble near = pdf * v * h;
      const vdouble far = x < 0.0 ? n.gauss * (n.ratio + x * kInvSqrt2Pi)
                                  : (1.0 - n.gauss * n.ratio) + x * pdf;
      return g * (vabs(v) < kRootWindow ? near : far);
    });
  }
};

// GELU, tanh form: 0.5 x (1 + tanh(u)) = x sigmoid(U), U = 2u = x (A + B x^2) with
// A = 2 sqrt(2/pi), B = 0.044715 A. x is clamped to [-20, 20] inside sigmoid (beyond, the
// results are those at +-20 in float32) and the forward's factor x to >= -20 (-inf gives -0).
constexpr double kA = 1.5957691216057308, kB = 0.07135481627260025;

struct Sigmoids {
  vdouble s, one_minus_s;  // sigmoid(U), sigmoid(-U)
};

static inline Sigmoids gelu_tanh_sigmoids(vdouble clamped_x) {
  const vdouble u = clamped_x * (kA + kB * (clamped_x * clamped_x));
  const vdouble e = vexp_nonpositive(-vabs(u));
  const vdouble large = 1.0 / (1.0 + e), small = e * large;
  const vlong negative = u < 0.0;
  return {negative ? small : large, negative ? large : small};
}

struct GeluTanhForward {
  vfloat operator()(vfloat x, vfloat, vfloat, vfloat) const {
    return vwidened(x, x, [](vdouble x, vdouble) {
      const vdouble xc = vclamp(x, -20.0, 20.0);
      return (x < -20.0 ? xc : x) * gelu_tanh_sigmoids(xc).s;
    });
  }
};

// s (1 + x (1 - s) U') with U' = A + 3B x^2; near its root s (x - r) H(x - r).
struct GeluTanhBackward {
  vfloat operator()(vfloat g, vfloat x, vfloat, vfloat) const {
    return vwidened(g, x, [](vdouble g, vdouble x) {
      const vdouble xc = vclamp(x, -20.0, 20.0);
      const Sigmoids sig = gelu_tanh_sigmoids(xc);
      const vdouble v = xc - -0.7524614220710163;
      const vdouble near = v * vpoly(v, {-0.0017354285834031728, 0.010192864306214123,
                                         0.002321063551433302, 0.06160518341676372,
                                         -0.8163184971737428, 1.9045991237958284});
      const vdouble far = 1.0 + xc * sig.one_minus_s * (kA + (3.0 * kB) * (xc * xc));
      return g * ((vabs(v) < kRootWindow ? near : far) * sig.s);
    });
  }
};

}  // namespace HPNN_ISA_NS
}  // namespace hpnn

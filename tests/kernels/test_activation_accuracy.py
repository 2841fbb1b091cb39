"""Accuracy of the native activations against a float64 evaluation of the exact formula at the
float32 inputs (the rounding of an input to float32 is not the kernel's error), on every ISA.

Error measure: |actual - exact| / |exact| where |exact| >= FLT_MIN; below (subnormal or 0 exact
results, where float32 itself has no relative precision left) |actual - exact| in subnormal ulps
(2^-149). Inputs: every STRIDE-th float32 bit pattern of each sign
(zeros, subnormals, tiny, huge), a dense grid over [-16, 16] and every float32 next to the roots
of the GELU derivatives; +-inf and NaN are checked against the reference separately.

Bounds asserted: BOUNDS below. The exp primitive is measured on its own through the
log-softmax backward of two-element rows (grad [0, 1]: exactly -exp(y[0])).
Softmax and log_softmax backward cancel by construction (grad_y - sum(grad_y y) is 0 for some
float32 inputs), so their error is measured against the condition scale
y (|grad_y| + sum |grad_y| y) (log-softmax: |grad_y| + exp(y) sum |grad_y|).

Every bound is within 2e-7 (1.7 ulp at worst; one 0.5 ulp rounding is up to 6e-8): GELU (both
forms, forward and backward) is evaluated in float64 and rounded once (~0.5 ulp); softmax is
exp (~0.7 ulp) times 1 / sum in float64, rounded once; the softmax backward takes sum(grad_y y)
in float64 and rounds three times in float32.

`python tests/kernels/test_activation_accuracy.py [stride]` prints the table for a denser sweep.
"""
import sys

import numpy as np
import pytest

from hpnn import kernels, reference

special = pytest.importorskip("scipy.special")

FLT_MIN = float(np.finfo(np.float32).tiny)
SUBNORMAL_ULP = 2.0 ** -149
STRIDE = 4099  # ~1M bit patterns per run
SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)
GELU_TANH_COEFF = 0.044715
GELU_ROOT, GELU_TANH_ROOT = -0.7517915246935645, -0.7524614220710163
# name: ((relative, subnormal ulps) forward, (relative, subnormal ulps) backward), measured on
# avx512, avx2 and generic over a stride-1031 sweep (6.2 M inputs), with ~10% margin (other
# gradients draw other worst cases).
BOUNDS = {
    "relu": ((0, 0), (0, 0)),
    "leaky_relu": ((6e-8, 0.5), (6e-8, 0.5)),
    "sigmoid": ((1.8e-7, 1), (1.6e-7, 0.5)),
    "tanh": ((1.4e-7, 0), (1.5e-7, 0)),
    "gelu": ((7e-8, 0.6), (8.5e-8, 0.6)),
    "gelu_tanh": ((6.6e-8, 0.6), (6.6e-8, 0.6)),
    "softmax": ((1.5e-7, 1), (1.5e-7, 0)),
    "log_softmax": ((1.3e-7, 0.5), (6.6e-8, 0)),
    "exp": (9e-8, 1),
}


def sweep_inputs(stride=STRIDE):
    """float32: every stride-th finite bit pattern of each sign, a dense grid, the GELU roots."""
    positive = np.arange(0, 0x7F800000, stride, dtype=np.uint32).view(np.float32)
    grid = np.linspace(-16, 16, 2_000_001, dtype=np.float32)
    near_roots = [(np.float32(r).view(np.int32) + np.arange(-20000, 20000, dtype=np.int32))
                  .view(np.float32) for r in (GELU_ROOT, GELU_TANH_ROOT)]
    return np.concatenate([positive, -positive, grid, *near_roots])


def max_error(actual, exact):
    """(largest relative error where |exact| >= FLT_MIN, largest absolute error in units of the
    smallest subnormal 2^-149 where |exact| < FLT_MIN), over finite exact values."""
    assert actual.dtype == np.float32
    finite = np.isfinite(exact)
    actual, exact = actual[finite].astype(np.float64), exact[finite]
    err = np.abs(actual - exact)
    normal = np.abs(exact) >= FLT_MIN
    relative = err[normal] / np.abs(exact[normal])
    subnormal = err[~normal] / SUBNORMAL_ULP
    return (float(relative.max(initial=0)), float(subnormal.max(initial=0)))


def _gelu_tanh_parts(x64):
    """(sigmoid(2u), du/dx) of u = sqrt(2/pi) (x + 0.044715 x^3), in float64."""
    x64 = np.clip(x64, -1e6, 1e6)  # beyond, sigmoid(2u) is exactly 0 or 1 and x^3 overflows
    u = SQRT_2_OVER_PI * (x64 + GELU_TANH_COEFF * x64 ** 3)
    return special.expit(2 * u), SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_COEFF * x64 ** 2)


def _exact_forward(name, x64):
    if name == "sigmoid":
        return special.expit(x64)
    if name == "tanh":
        return np.tanh(x64)
    if name == "gelu":
        return x64 * special.ndtr(x64)
    if name == "gelu_tanh":
        return x64 * _gelu_tanh_parts(x64)[0]
    if name == "relu":
        return np.maximum(x64, 0)
    return np.where(x64 > 0, x64, x64 * np.float64(np.float32(0.2)))


def _exact_derivative(name, s64):
    """d f / dx from the saved input x (GELU, ReLUs) or output y (sigmoid, tanh)."""
    if name == "sigmoid":
        return s64 * (1 - s64)
    if name == "tanh":
        return (1 - s64) * (1 + s64)
    if name == "gelu":
        return special.ndtr(s64) + s64 * np.exp(-0.5 * s64 * s64) / np.sqrt(2 * np.pi)
    if name == "gelu_tanh":
        sig, du = _gelu_tanh_parts(s64)
        return sig + 2 * s64 * sig * (1 - sig) * du
    if name == "relu":
        return (s64 > 0).astype(np.float64)
    return np.where(s64 > 0, 1.0, np.float64(np.float32(0.2)))


def _call(name, direction, *args):
    fn = getattr(kernels, f"{name.replace('gelu_tanh', 'gelu')}_{direction}")
    options = {"gelu_tanh": {"approximate": "tanh"}, "leaky_relu": {"negative_slope": 0.2}}
    return fn(*args, **options.get(name, {}))


def elementwise_errors(name, x):
    """(forward, backward) max error of one activation over the inputs x."""
    forward = max_error(_call(name, "forward", x), _exact_forward(name, x.astype(np.float64)))
    saved = x
    if name in ("sigmoid", "tanh"):  # the backward takes the output: sweep its whole range
        saved = x[np.abs(x) <= 1] if name == "tanh" else x[(x >= 0) & (x <= 1)]
    grad = np.random.default_rng(0).uniform(0.5, 2, saved.shape).astype(np.float32)
    exact = grad.astype(np.float64) * _exact_derivative(name, saved.astype(np.float64))
    return forward, max_error(_call(name, "backward", grad, saved), exact)


def softmax_rows(rng):
    """(rows, 1000) float32 logits: several scales, huge values, -inf entries, one-hot rows."""
    rows = [rng.standard_normal((64, 1000)) * scale for scale in (0.1, 1, 10, 100, 1e4)]
    special_rows = rng.standard_normal((4, 1000)) * 10
    special_rows[0, ::3] = -np.inf
    special_rows[1] += 3e38 - special_rows[1].max()
    special_rows[2, :] = -1e30
    special_rows[2, 7] = 50.0
    special_rows[3, 500:] = -np.inf
    return np.concatenate(rows + [special_rows]).astype(np.float32)


def _exact_softmax(x64, log):
    shifted = x64 - x64.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    first_max = np.argmax(shifted, axis=1)
    others = e.sum(axis=1) - 1.0  # in float64; exact enough: every term is <= 1
    others = np.where(others < 1e-6, e.sum(axis=1, where=np.arange(e.shape[1]) != first_max[:, None])
                      , others)
    if log:
        return shifted - np.log1p(others)[:, None]
    return e / (1.0 + others)[:, None]


def softmax_errors(name, rng):
    """(forward, backward) errors of (log-)softmax over softmax_rows."""
    log = name == "log_softmax"
    x = softmax_rows(rng)
    y = _call(name, "forward", x)
    forward = max_error(y, _exact_softmax(x.astype(np.float64), log))
    y = y[np.isfinite(y).all(axis=1)]
    g = rng.standard_normal(y.shape).astype(np.float32)
    g64, y64 = g.astype(np.float64), y.astype(np.float64)
    if log:
        p = np.exp(y64)
        exact = g64 - p * g64.sum(axis=1, keepdims=True)
        scale = np.abs(g64) + p * np.abs(g64).sum(axis=1, keepdims=True)
    else:
        exact = y64 * (g64 - (g64 * y64).sum(axis=1, keepdims=True))
        scale = y64 * (np.abs(g64) + (np.abs(g64) * y64).sum(axis=1, keepdims=True))
    err = np.abs(_call(name, "backward", g, y).astype(np.float64) - exact)
    return forward, (float(np.max(err / np.maximum(scale, FLT_MIN))), 0.0)


def exp_error(x):
    """(relative, subnormal ulps) error of the SIMD exp over x in [-104, 88.7]: log-softmax
    backward of rows y = [x, 0] with grad [0, 1] is exactly -exp(x) per row."""
    x = x[(x >= -104) & (x <= 88.7)]  # exp(88.73) overflows float32
    y = np.stack([x, np.zeros_like(x)], axis=1)
    grad = np.broadcast_to(np.float32([0, 1]), y.shape).copy()
    return max_error(-kernels.log_softmax_backward(grad, y)[:, 0], np.exp(x.astype(np.float64)))


ELEMENTWISE = ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"]


def _check(name, measured):
    """measured: ((relative, subnormal ulps) forward, (...) backward) within BOUNDS[name]."""
    for direction, errors, bounds in zip(("forward", "backward"), measured, BOUNDS[name]):
        assert errors[0] <= bounds[0] and errors[1] <= bounds[1], (direction, errors, bounds)


@pytest.fixture(scope="module")
def inputs():
    return sweep_inputs()


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_error_bound(isa, inputs, name):
    _check(name, elementwise_errors(name, inputs))


def test_exp_error_bound(isa, inputs):
    relative, subnormal = exp_error(inputs)
    assert relative <= BOUNDS["exp"][0] and subnormal <= BOUNDS["exp"][1], (relative, subnormal)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_error_bound(isa, name):
    _check(name, softmax_errors(name, np.random.default_rng(5)))


def _print(isa, name, measured):
    (f_rel, f_sub), (b_rel, b_sub) = measured
    print(f"{isa:8} {name:12} forward {f_rel:.3g} rel, {f_sub:.3g} subnormal ulps; "
          f"backward {b_rel:.3g} rel, {b_sub:.3g} subnormal ulps")


def main(stride):
    import hpnn
    x = sweep_inputs(stride)
    print(f"{x.size} inputs (stride {stride})")
    for isa in hpnn.available_isas():
        hpnn.set_isa(isa)
        for name in ELEMENTWISE:
            _print(isa, name, elementwise_errors(name, x))
        print(f"{isa:8} exp          {exp_error(x)} (relative, subnormal ulps)")
        for name in ("softmax", "log_softmax"):
            _print(isa, name, softmax_errors(name, np.random.default_rng(5)))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 257)

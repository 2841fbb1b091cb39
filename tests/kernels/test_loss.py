"""Native losses against hpnn.reference on every ISA and at 1 and 2 threads, forward and
backward, every reduction. Tolerances (float32): per-element terms and gradients 2e-6 relative
(1e-6 absolute where a term cancels: log1p/exp in BCE-with-logits, x - max - lse in cross
entropy); reduced losses 1e-5 relative (the kernels sum in double, the reference in float32)."""
import inspect

import numpy as np
import pytest

from hpnn import kernels, reference

REDUCTIONS = ["none", "mean", "sum"]
SHAPES = [(1,), (7,), (16,), (33, 5), (4, 3, 17), (1000, 3)]


def _check(actual, expected, rtol, atol):
    expected = np.asarray(expected)
    assert isinstance(actual, np.ndarray) and actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def _upstream(rng, reduction, shape):
    if reduction == "none":
        return rng.standard_normal(shape).astype(np.float32)
    return 0.7 if reduction == "sum" else np.float32(1.3).reshape(())


def _pair(rng, name, shape):
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    if name == "bce":
        x = rng.uniform(0, 1, shape).astype(np.float32)
        x.ravel()[:2] = [0.0, 1.0][: x.size]
    target = rng.uniform(0, 1, shape).astype(np.float32)
    if name != "mse_loss":
        target = np.round(target) if rng.random() < 0.5 else target
    return x, target


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "bce", "bce_with_logits"])
def test_pointwise_losses(isa, threads, rng, name, reduction, shape):
    x, target = _pair(rng, name, shape)
    forward, backward = (getattr(kernels, f"{name}_{d}") for d in ("forward", "backward"))
    ref_forward, ref_backward = (getattr(reference, f"{name}_{d}") for d in ("forward", "backward"))
    reduced_rtol = 1e-5 if reduction != "none" else 2e-6
    _check(forward(x, target, reduction), ref_forward(x, target, reduction), reduced_rtol, 1e-6)
    grad_loss = _upstream(rng, reduction, shape)
    _check(backward(grad_loss, x, target, reduction), ref_backward(grad_loss, x, target, reduction),
           2e-6, 1e-6)


@pytest.mark.parametrize("pos_shape", [(), (5,), (3, 5), (4, 3, 5)], ids=str)
def test_bce_with_logits_pos_weight(isa, rng, pos_shape):
    x, target = _pair(rng, "bce_with_logits", (4, 3, 5))
    pos_weight = rng.uniform(0.5, 3, pos_shape).astype(np.float32)
    for reduction in REDUCTIONS:
        _check(kernels.bce_with_logits_forward(x, target, reduction, pos_weight),
               reference.bce_with_logits_forward(x, target, reduction, pos_weight), 1e-5, 1e-6)
        grad_loss = _upstream(rng, reduction, x.shape)
        _check(kernels.bce_with_logits_backward(grad_loss, x, target, reduction, pos_weight),
               reference.bce_with_logits_backward(grad_loss, x, target, reduction, pos_weight),
               2e-6, 1e-6)


def test_extreme_values():
    logits = np.array([-200, -50, -1e-8, 0, 1e-8, 30, 200, np.inf], np.float32)
    target = np.array([0, 1, 0.5, 1, 0, 1, 0, 1], np.float32)
    for reduction in ("none", "sum"):
        _check(kernels.bce_with_logits_forward(logits, target, reduction),
               reference.bce_with_logits_forward(logits, target, reduction), 2e-6, 0)
    probs = np.array([0, 1e-45, 1e-40, 1e-30, 0.5, 1 - 6e-8, 1], np.float32)
    target = np.array([1, 1, 0, 1, 0.3, 0, 0], np.float32)
    with np.errstate(divide="ignore"):
        _check(kernels.bce_forward(probs, target, "none"),
               reference.bce_forward(probs, target, "none"), 2e-6, 0)


@pytest.mark.parametrize("rows,classes", [(1, 1), (1, 2), (5, 10), (17, 33), (64, 1000),
                                          (300, 7)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_and_nll(isa, threads, rng, rows, classes, reduction, smoothing):
    logits = (rng.standard_normal((rows, classes)) * 5).astype(np.float32)
    target = rng.integers(0, classes, rows)
    if rows > 3:
        target[1] = -100  # ignored
        logits[2] += 1000  # large shift
    grad_loss = _upstream(rng, reduction, (rows,))
    rtol = 1e-5 if reduction != "none" else 2e-6
    _check(kernels.cross_entropy_forward(logits, target, reduction, label_smoothing=smoothing),
           reference.cross_entropy_forward(logits, target, reduction, label_smoothing=smoothing),
           rtol, 1e-6)
    _check(kernels.cross_entropy_backward(grad_loss, logits, target, reduction,
                                          label_smoothing=smoothing),
           reference.cross_entropy_backward(grad_loss, logits, target, reduction,
                                            label_smoothing=smoothing), 2e-6, 1e-7)
    log_probs = reference.log_softmax_forward(logits, axis=1)
    _check(kernels.nll_loss_forward(log_probs, target, reduction),
           reference.nll_loss_forward(log_probs, target, reduction), rtol, 0)
    _check(kernels.nll_loss_backward(grad_loss, log_probs, target, reduction),
           reference.nll_loss_backward(grad_loss, log_probs, target, reduction), 0, 0)


def test_all_targets_ignored_gives_nan_mean_and_zero_grad():
    logits = np.ones((3, 4), np.float32)
    target = np.full(3, 7, np.int32)
    with np.errstate(invalid="ignore"):
        assert np.isnan(kernels.cross_entropy_forward(logits, target, ignore_index=7))
    assert not kernels.cross_entropy_backward(1.0, logits, target, ignore_index=7).any()


def test_bad_arguments_raise_the_reference_errors():
    logits = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="outside"):
        kernels.cross_entropy_forward(logits, np.array([0, 3]))
    with pytest.raises(TypeError, match="target must be an integer"):
        kernels.nll_loss_forward(logits, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        kernels.mse_loss_forward(logits, logits, reduction="avg")
    with pytest.raises(ValueError, match="empty batch"):
        kernels.mse_loss_forward(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32))
    with pytest.raises(ValueError, match="probs must lie"):
        kernels.bce_forward(np.float32([1.5]), np.float32([1.0]))
    with pytest.raises(ValueError, match="label_smoothing"):
        kernels.cross_entropy_forward(logits, np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="grad_loss must be a scalar"):
        kernels.mse_loss_backward(np.ones(2, np.float32), logits, logits)


NON_FLOAT32_CALLS = {  # (function, arguments, the argument that is not float32)
    "cross_entropy_forward": (lambda a, b: kernels.cross_entropy_forward(a, np.array([0, 1])),
                              "logits"),
    "nll_loss_backward": (lambda a, b: kernels.nll_loss_backward(1.0, a, np.array([0, 1])),
                          "log_probs"),
    "bce_forward": (lambda a, b: kernels.bce_forward(b, a), "target"),
    "bce_with_logits_backward": (lambda a, b: kernels.bce_with_logits_backward(1.0, a, b),
                                 "logits"),
    "mse_loss_forward": (lambda a, b: kernels.mse_loss_forward(a, b), "input"),
    "mse_loss_backward": (lambda a, b: kernels.mse_loss_backward(a[0, 0], b, b), "grad_loss"),
}


@pytest.mark.parametrize("name", NON_FLOAT32_CALLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int32])
def test_non_float32_arrays_raise_type_error_naming_the_argument(name, dtype):
    call, argument = NON_FLOAT32_CALLS[name]
    bad, good = np.zeros((2, 3), dtype), np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match=rf"{name}: argument '{argument}' must be float32, got "
                                        rf"{np.dtype(dtype)} \(convert with \.astype"):
        call(bad, good)


def test_optional_arrays_follow_the_dtype_rule():
    logits, target = np.zeros((2, 3), np.float32), np.array([0, 1])
    with pytest.raises(TypeError, match="cross_entropy_forward: argument 'weight' must be float32"):
        kernels.cross_entropy_forward(logits, target, weight=np.ones(3))
    with pytest.raises(TypeError, match="argument 'pos_weight' must be float32, got float64"):
        kernels.bce_with_logits_forward(logits, logits, pos_weight=np.ones(3))
    with pytest.raises(TypeError, match="argument 'logits' must be a float32 numpy.ndarray, got "
                                        "list"):
        kernels.cross_entropy_forward([[0.0, 1.0]], np.array([0]))
    # a real pos_weight is a 0-d float32 array; a python or float32 grad_loss is a scalar
    np.testing.assert_allclose(kernels.bce_with_logits_forward(logits, logits, pos_weight=2.0),
                               reference.bce_with_logits_forward(logits, logits, pos_weight=2.0))
    assert kernels.mse_loss_backward(np.float32(2.0), logits, logits).dtype == np.float32


def test_signatures_match_reference():
    for name in kernels.loss.__all__:
        assert inspect.signature(getattr(kernels, name)) == \
            inspect.signature(getattr(reference, name)), name


def test_weighted_losses_match_reference_exactly(rng):
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    target = rng.integers(0, 4, 6)
    class_weight = rng.uniform(0.5, 2, 4).astype(np.float32)
    probs = rng.uniform(0.1, 0.9, (6, 4)).astype(np.float32)
    binary = rng.uniform(0, 1, (6, 4)).astype(np.float32)
    cases = {
        "cross_entropy": (logits, target, dict(weight=class_weight, label_smoothing=0.1)),
        "nll_loss": (logits, target, dict(weight=class_weight)),
        "bce": (probs, binary, dict(weight=class_weight)),
        "bce_with_logits": (logits, binary, dict(weight=class_weight, pos_weight=class_weight)),
    }
    for name, (x, t, options) in cases.items():
        for reduction in REDUCTIONS:
            forward = getattr(kernels, f"{name}_forward")(x, t, reduction, **options)
            _check(forward, getattr(reference, f"{name}_forward")(x, t, reduction, **options), 0, 0)
            grad_loss = _upstream(rng, reduction, forward.shape)
            _check(getattr(kernels, f"{name}_backward")(grad_loss, x, t, reduction, **options),
                   getattr(reference, f"{name}_backward")(grad_loss, x, t, reduction, **options),
                   0, 0)

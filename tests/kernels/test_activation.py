"""Native activations and (log-)softmax against hpnn.reference, on every ISA and at 1 and 2
threads, plus the accuracy of the vectorised exp/tanh/Phi against float64.

Tolerances (float32): relu/leaky_relu exact; sigmoid, tanh and their backward 1e-6 relative,
tanh backward plus 1e-7 * |grad_y| (1 - y * y is one FMA here, the reference rounds y * y);
GELU 1e-6 relative (both forms) plus 1e-12 absolute (the float64 reference evaluates
1 + erf(x / sqrt 2), which cancels to 0 below x ~ -8, where the kernel still returns the true
tiny value); GELU backward plus 5e-7 * |grad_y| (the derivative is O(1) and cancels near its
root x ~ -0.75); softmax 2e-6 relative; log_softmax 1e-6 absolute (x - max - lse cancels).
"""
import math

import numpy as np
import pytest

from hpnn import kernels, reference
from support import streamed_outputs

SIZES = [1, 3, 15, 16, 17, 31, 64, 100, 1000, 70001]


def _inputs(rng, n, scale=3.0):
    x = (rng.standard_normal(n) * scale).astype(np.float32)
    if n > 8:
        x[:8] = [0.0, -0.0, 1e-30, -1e-30, 80.0, -80.0, 1e-4, -12.0]
    return x


ELEMENTWISE = [
    # name, options, forward rtol, forward atol, backward extra atol factor
    ("relu", {}, 0, 0, 0),
    ("leaky_relu", {"negative_slope": 0.2}, 0, 0, 0),
    ("sigmoid", {}, 1e-6, 0, 0),
    ("tanh", {}, 1e-6, 0, 1e-7),
    ("gelu", {"approximate": "none"}, 1e-6, 1e-12, 5e-7),
    ("gelu", {"approximate": "tanh"}, 1e-6, 1e-12, 5e-7),
]
SAVES_OUTPUT = {"sigmoid", "tanh"}


@pytest.fixture(params=[False, True], ids=["stored", "streamed"])
def streamed(request):
    """Both output paths: plain stores, and the streaming stores of outputs larger than the caches."""
    with streamed_outputs(request.param):
        yield request.param


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("case", ELEMENTWISE, ids=lambda c: f"{c[0]}-{c[1].get('approximate', '')}")
def test_elementwise_matches_reference(isa, threads, streamed, rng, case, n):
    name, options, rtol, atol, grad_atol = case
    x = _inputs(rng, n)
    forward = getattr(kernels, f"{name}_forward")
    backward = getattr(kernels, f"{name}_backward")
    y = forward(x, **options)
    y_ref = getattr(reference, f"{name}_forward")(x, **options)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, y_ref, rtol=rtol, atol=atol)
    grad_y = rng.standard_normal(n).astype(np.float32)
    saved = y_ref if name in SAVES_OUTPUT else x
    g = backward(grad_y, saved, **options)
    g_ref = getattr(reference, f"{name}_backward")(grad_y, saved, **options)
    assert g.dtype == np.float32
    bound = (max(rtol, 1e-6) if rtol else 0) * np.abs(g_ref) + grad_atol * np.abs(grad_y) + atol
    excess = np.abs(g.astype(np.float64) - g_ref) - bound
    assert np.all(excess <= 0), f"max excess {excess.max()} at x={saved[np.argmax(excess)]}"


def test_nan_and_inf_propagate(isa):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], np.float32)
    for name in ("relu", "sigmoid", "tanh", "gelu"):
        y = getattr(kernels, f"{name}_forward")(x)
        y_ref = getattr(reference, f"{name}_forward")(x)
        np.testing.assert_array_equal(y, y_ref, err_msg=name)


def test_multidimensional_and_strided_inputs(isa, rng):
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)[:, ::2, :].transpose(2, 0, 1)
    np.testing.assert_allclose(kernels.sigmoid_forward(x), reference.sigmoid_forward(x),
                               rtol=1e-6)
    np.testing.assert_array_equal(kernels.relu_forward(x), reference.relu_forward(x))


def test_accuracy_against_float64(isa):
    """Max relative error of the SIMD sigmoid/tanh (exp inside), GELU and softmax against float64
    (all within 2e-7; the bit-pattern sweep is in test_activation_accuracy.py)."""
    scipy_special = pytest.importorskip("scipy.special")
    x = np.concatenate([np.linspace(-20, 20, 400_001),
                        np.geomspace(1e-30, 90, 20_000), -np.geomspace(1e-30, 90, 20_000)])
    x = x.astype(np.float32)
    x64 = x.astype(np.float64)

    def max_rel(actual, exact):
        keep = np.abs(exact) > np.finfo(np.float32).tiny
        return np.max(np.abs(actual[keep] - exact[keep]) / np.abs(exact[keep]))

    assert max_rel(kernels.sigmoid_forward(x), scipy_special.expit(x64)) < 2e-7
    assert max_rel(kernels.tanh_forward(x), np.tanh(x64)) < 2e-7
    assert max_rel(kernels.gelu_forward(x), x64 * scipy_special.ndtr(x64)) < 2e-7
    e = np.linspace(-87, 88, 200_001).astype(np.float32)
    exp = kernels.softmax_forward(np.stack([e, np.zeros_like(e)], 1), axis=1)
    # softmax([e, 0])[0] = 1 / (1 + exp(-e)): exp's error at every argument
    assert max_rel(exp[:, 0], scipy_special.expit(e.astype(np.float64))) < 2e-7


@pytest.mark.parametrize("shape,axis", [((1,), 0), ((5, 1), -1), ((3, 17), 1), ((4, 100), -1),
                                        ((2, 3, 33), 1), ((6, 4, 5), 0), ((2, 1000), -1),
                                        ((0, 5), 1), ((300, 40), 1)])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_matches_reference(isa, threads, rng, shape, axis, log):
    name = "log_softmax" if log else "softmax"
    x = (rng.standard_normal(shape) * 5).astype(np.float32)
    y = getattr(kernels, f"{name}_forward")(x, axis=axis)
    y_ref = getattr(reference, f"{name}_forward")(x, axis=axis)
    assert y.dtype == np.float32 and y.shape == x.shape and y.flags.c_contiguous
    tol = dict(rtol=1e-6, atol=1e-6) if log else dict(rtol=2e-6, atol=1e-9)
    np.testing.assert_allclose(y, y_ref, **tol)
    grad_y = rng.standard_normal(shape).astype(np.float32)
    g = getattr(kernels, f"{name}_backward")(grad_y, y_ref, axis=axis)
    g_ref = getattr(reference, f"{name}_backward")(grad_y, y_ref, axis=axis)
    np.testing.assert_allclose(g, g_ref, rtol=2e-6, atol=2e-6)


def test_softmax_special_rows(isa):
    x = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [np.nan, 0.0], [1e30, -1e30]], np.float32)
    for name in ("softmax", "log_softmax"):
        with np.errstate(all="ignore"):
            y_ref = getattr(reference, f"{name}_forward")(x)
        np.testing.assert_array_equal(getattr(kernels, f"{name}_forward")(x), y_ref)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax"])
def test_non_float32_arrays_raise_type_error_naming_the_argument(name):
    good = np.ones((2, 3), np.float32)
    forward = getattr(kernels, f"{name}_forward")
    backward = getattr(kernels, f"{name}_backward")
    with pytest.raises(TypeError, match=rf"{name}_forward: argument 'x' must be float32, got "
                                        r"float64 \(convert with \.astype\(numpy\.float32\)\)"):
        forward(good.astype(np.float64))
    with pytest.raises(TypeError, match="argument 'x' must be a float32 numpy.ndarray, got list"):
        forward([1.0, -1.0])
    with pytest.raises(TypeError, match="argument 'x' must be float32, got int64"):
        forward(np.arange(3))
    saved = "y" if name in ("sigmoid", "tanh", "softmax", "log_softmax") else "x"
    with pytest.raises(TypeError, match=f"{name}_backward: argument 'grad_y' must be float32"):
        backward(good.astype(np.float16), good)
    with pytest.raises(TypeError, match=f"{name}_backward: argument '{saved}' must be float32"):
        backward(good, good.astype(np.float64))
    with pytest.raises(TypeError, match=f"argument '{saved}' must be float32, got >f4"):
        backward(good, good.astype(">f4"))


def test_zero_dim_arrays_run_natively(isa):
    for name in ("relu", "leaky_relu", "sigmoid", "tanh", "gelu"):
        x = np.array(-0.5, np.float32)
        y = getattr(kernels, f"{name}_forward")(x)
        assert y.shape == () and y.dtype == np.float32
        np.testing.assert_allclose(y, getattr(reference, f"{name}_forward")(x), rtol=1e-6)
        g = getattr(kernels, f"{name}_backward")(np.ones((), np.float32), x)
        assert g.shape == () and g.dtype == np.float32
    assert kernels.relu_forward(np.float32(2.0)).shape == ()  # a float32 scalar is 0-d


def test_bad_arguments_raise_clear_errors():
    x = np.ones(3, np.float32)
    with pytest.raises(ValueError, match="grad_y shape"):
        kernels.tanh_backward(x, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="approximate"):
        kernels.gelu_forward(x, approximate="erf")
    with pytest.raises(ValueError, match="approximate"):
        kernels.gelu_backward(x, x, approximate=None)
    with pytest.raises(TypeError, match="argument 'negative_slope' must be a real number"):
        kernels.leaky_relu_forward(x, negative_slope="0.1")
    with pytest.raises(ValueError, match="axis=2 is out of range"):
        kernels.softmax_forward(np.ones((2, 2), np.float32), axis=2)
    with pytest.raises(TypeError, match="axis must be an int"):
        kernels.log_softmax_forward(np.ones((2, 2), np.float32), axis=1.0)
    with pytest.raises(ValueError, match="at least one dimension"):
        kernels.softmax_forward(np.ones((), np.float32))


def test_signatures_match_reference():
    import inspect
    for name in kernels.activation.__all__:
        assert inspect.signature(getattr(kernels, name)) == \
            inspect.signature(getattr(reference, name)), name
    assert math.isclose(kernels.leaky_relu_forward(np.float32([-2.0]))[0], -0.02, rel_tol=1e-6)


@pytest.mark.parametrize("name,options", [("relu", {}), ("leaky_relu", {"negative_slope": 0.2})])
@pytest.mark.parametrize("n", [1, 17, 70001])
def test_out_argument_writes_in_place(isa, threads, streamed, rng, name, options, n):
    """out=x overwrites x with the result (the in-place ops); out= another array fills it; a
    strided out, or one overlapping x at an offset, still gets the right values."""
    x = _inputs(rng, n)
    expected = getattr(reference, f"{name}_forward")(x, **options)  # float32: exact for these
    forward = getattr(kernels, f"{name}_forward")
    in_place = x.copy()
    assert forward(in_place, out=in_place, **options) is in_place
    np.testing.assert_array_equal(in_place, expected)
    separate = np.empty_like(x)
    assert forward(x, out=separate, **options) is separate
    np.testing.assert_array_equal(separate, expected)
    strided = np.zeros(2 * n, np.float32)[::2]
    forward(x, out=strided, **options)
    np.testing.assert_array_equal(strided, expected)
    buffer = np.concatenate([x, [0.0]]).astype(np.float32)
    forward(buffer[:-1], out=buffer[1:], **options)  # out one element past x, same memory
    np.testing.assert_array_equal(buffer[1:], expected)


def test_out_argument_is_checked():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="'out'"):
        kernels.relu_forward(x, out=np.empty((3, 2), np.float32))
    with pytest.raises(TypeError, match="out"):
        kernels.leaky_relu_forward(x, out=np.empty((2, 3), np.float64))

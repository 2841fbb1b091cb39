"""hpnn.kernels layer norm against hpnn.reference on every ISA and at 1 and 2 threads.

The reference runs in float64 on the same float32 inputs (the exact answer); large-mean rows
check the kernels' numerical stability. Row sizes cover 1, odd sizes that are no multiple of any
vector width, and rows longer than the kernel's float blocks (1024).
"""
import numpy as np
import pytest

import hpnn
from hpnn import kernels, reference

CASES = [((1, 1), (1,)), ((1, 7), (7,)), ((5, 3), (3,)), ((700, 200), (200,)),
         ((32, 64, 128), (128,)), ((3, 4, 5), (4, 5)), ((2, 33), (33,)), ((9, 1), (1,)),
         ((3, 2500), (2500,)), ((2, 3, 17), (3, 17)), ((4, 65), (65,))]


def f64(*arrays):
    return [None if a is None else np.asarray(a, np.float64) for a in arrays]


def make(shape, normalized, affine, mean, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + mean).astype(np.float32)
    params = [rng.standard_normal(normalized).astype(np.float32) if on else None
              for on in affine]
    grad_y = rng.standard_normal(shape).astype(np.float32)
    return x, params[0], params[1], grad_y


@pytest.mark.parametrize("mean", [0.5, 1e4], ids=["mean0.5", "mean1e4"])
@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, False), (False, True)],
                         ids=["affine", "no-bias", "plain", "bias-only"])
@pytest.mark.parametrize("shape,normalized", CASES, ids=str)
def test_forward_and_backward_match_reference(isa, threads, shape, normalized, affine, mean):
    x, weight, bias, grad_y = make(shape, normalized, affine, mean)
    y, save_mean, rstd = kernels.layer_norm_forward(x, normalized, weight, bias, eps=1e-5)
    y_ref, mean_ref, rstd_ref = reference.layer_norm_forward(*f64(x), normalized,
                                                             *f64(weight, bias), eps=1e-5)
    assert y.dtype == save_mean.dtype == rstd.dtype == np.float32
    assert save_mean.shape == rstd.shape == shape[:len(shape) - len(normalized)]
    scale = max(1.0, float(np.abs(y_ref).max()))
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=2e-5 * scale)
    np.testing.assert_allclose(save_mean, mean_ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rstd, rstd_ref, rtol=1e-4)

    grad_x, grad_w, grad_b = kernels.layer_norm_backward(grad_y, x, normalized, weight,
                                                         save_mean, rstd)
    ref_x, ref_w, ref_b = reference.layer_norm_backward(*f64(grad_y, x), normalized,
                                                        *f64(weight, save_mean, rstd))
    g_scale = float(np.abs(grad_y).max() * rstd.max() * (1 if weight is None else
                                                           np.abs(weight).max()))
    np.testing.assert_allclose(grad_x, ref_x, rtol=1e-4, atol=1e-4 * g_scale)
    assert grad_w.shape == grad_b.shape == normalized
    np.testing.assert_allclose(grad_w, ref_w, rtol=1e-4, atol=1e-4 * max(1, np.abs(ref_w).max()))
    np.testing.assert_allclose(grad_b, ref_b, rtol=1e-4, atol=1e-4 * max(1, np.abs(ref_b).max()))


def test_without_parameter_gradients(isa):
    x, weight, bias, grad_y = make((6, 10), (10,), (True, True), 0.0)
    y, mean, rstd = kernels.layer_norm_forward(x, (10,), weight, bias)
    full = kernels.layer_norm_backward(grad_y, x, (10,), weight, mean, rstd)
    grad_x, grad_w, grad_b = kernels.layer_norm_backward(grad_y, x, 10, weight, mean, rstd,
                                                         param_grads=False)
    assert grad_w is None and grad_b is None
    np.testing.assert_array_equal(grad_x, full[0])


def test_strided_inputs_are_copied(isa):
    x, weight, bias, grad_y = make((8, 20), (10,), (True, True), 0.0)
    view = x[:, ::2]
    y, mean, rstd = kernels.layer_norm_forward(view, (10,), weight, bias)
    y_ref = reference.layer_norm_forward(np.ascontiguousarray(view), (10,), weight, bias)[0]
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(700, 200), (2048, 128), (3, 5000), (64, 7)], ids=str)
def test_results_do_not_depend_on_thread_count(isa, shape):
    x, weight, bias, grad_y = make(shape, shape[-1:], (True, True), 0.3)
    previous = hpnn.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 1, 2):
            hpnn.set_num_threads(threads)
            y, mean, rstd = kernels.layer_norm_forward(x, shape[-1:], weight, bias)
            results.append((y, mean, rstd) + kernels.layer_norm_backward(
                grad_y, x, shape[-1:], weight, mean, rstd))
    finally:
        hpnn.set_num_threads(previous)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)


def test_bad_arguments_raise_naming_function_and_argument():
    x = np.zeros((4, 6), np.float32)
    w = np.ones(6, np.float32)
    with pytest.raises(TypeError, match="layer_norm_forward: argument 'x'"):
        kernels.layer_norm_forward(x.astype(np.float64), (6,))
    with pytest.raises(TypeError, match="layer_norm_forward: argument 'weight'"):
        kernels.layer_norm_forward(x, (6,), w.astype(np.float64))
    with pytest.raises(ValueError, match="layer_norm_forward: argument 'weight'"):
        kernels.layer_norm_forward(x, (6,), np.ones(5, np.float32))
    with pytest.raises(ValueError, match="layer_norm_forward: normalized_shape"):
        kernels.layer_norm_forward(x, (5,))
    with pytest.raises(ValueError, match="layer_norm_forward: eps"):
        kernels.layer_norm_forward(x, (6,), eps=-1.0)
    y, mean, rstd = kernels.layer_norm_forward(x, (6,), w)
    with pytest.raises(ValueError, match="layer_norm_backward: argument 'grad_y'"):
        kernels.layer_norm_backward(np.zeros((4, 5), np.float32), x, (6,), w, mean, rstd)
    with pytest.raises(ValueError, match="layer_norm_backward: argument 'mean'"):
        kernels.layer_norm_backward(x, x, (6,), w, mean[:3], rstd)
    with pytest.raises(ValueError, match="layer_norm_backward: argument 'rstd'"):
        kernels.layer_norm_backward(x, x, (6,), w, mean, None)


def test_binding_checks_its_own_arguments():
    """The C++ entry point, called directly, refuses what the wrapper would have."""
    native = hpnn._C.kernels
    x = np.zeros((4, 6), np.float32)
    with pytest.raises(ValueError, match="layer_norm_forward: argument 'weight'"):
        native.layer_norm_forward(x, np.ones(5, np.float32), None, 1e-5)
    with pytest.raises(TypeError, match="layer_norm_forward: argument 'x'"):
        native.layer_norm_forward(x.astype(np.float64), None, None, 1e-5)
    with pytest.raises(ValueError, match="layer_norm_forward: argument 'eps'"):
        native.layer_norm_forward(x, None, None, 0.0)
    with pytest.raises(ValueError, match="layer_norm_backward: argument 'mean'"):
        native.layer_norm_backward(x, x, None, np.zeros(3, np.float32), np.zeros(4, np.float32),
                                   True)
    with pytest.raises(ValueError, match="layer_norm_backward: argument 'grad_y'"):
        native.layer_norm_backward(np.zeros((4, 5), np.float32), x, None,
                                   np.zeros(4, np.float32), np.zeros(4, np.float32), True)


@pytest.mark.parametrize("offset", [30.0, 1e4])
def test_rows_whose_first_values_lie_far_from_the_mean(isa, offset):
    """The kernel guesses a row's mean from its first values; a bad guess takes its second
    pass, which must leave the statistics as exact as a good one."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 300)).astype(np.float32) + 1e3
    x[:, :16] += offset
    y, mean, rstd = kernels.layer_norm_forward(x, (300,))
    y_ref, mean_ref, rstd_ref = reference.layer_norm_forward(x.astype(np.float64), (300,))
    np.testing.assert_allclose(mean, mean_ref, rtol=1e-6)
    np.testing.assert_allclose(rstd, rstd_ref, rtol=1e-4)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=2e-5 * np.abs(y_ref).max())

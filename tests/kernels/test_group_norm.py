"""hpnn.kernels group norm against hpnn.reference on every ISA and at 1 and 2 threads: (N, C)
and (N, C, *) inputs, 1 to C groups, spatial runs of 1, odd sizes and longer than the kernel's
float blocks (1024), large means, and thread-count independence of every output."""
import numpy as np
import pytest

import hpnn
from hpnn import kernels, reference

CASES = [((1, 1), 1), ((2, 6), 3), ((2, 6, 5), 2), ((3, 8, 7, 9), 4), ((2, 4, 33, 35), 1),
         ((2, 4, 3, 3), 4), ((1, 32, 1100), 8), ((5, 3, 1), 3), ((4, 64, 8, 8), 32)]


def f64(*arrays):
    return [None if a is None else np.asarray(a, np.float64) for a in arrays]


def make(shape, affine, mean, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + mean).astype(np.float32)
    weight = rng.standard_normal(shape[1]).astype(np.float32) if affine else None
    bias = rng.standard_normal(shape[1]).astype(np.float32) if affine else None
    return x, weight, bias, rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("mean", [0.5, 1e4], ids=["mean0.5", "mean1e4"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("shape,groups", CASES, ids=str)
def test_forward_and_backward_match_reference(isa, threads, shape, groups, affine, mean):
    x, weight, bias, grad_y = make(shape, affine, mean)
    y, save_mean, rstd = kernels.group_norm_forward(x, groups, weight, bias)
    y_ref, mean_ref, rstd_ref = reference.group_norm_forward(*f64(x), groups, *f64(weight, bias))
    assert save_mean.shape == rstd.shape == (shape[0], groups)
    scale = max(1.0, float(np.abs(y_ref).max()))
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=2e-5 * scale)
    np.testing.assert_allclose(save_mean, mean_ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rstd, rstd_ref, rtol=1e-4)

    grad_x, grad_w, grad_b = kernels.group_norm_backward(grad_y, x, groups, weight, save_mean,
                                                         rstd)
    ref_x, ref_w, ref_b = reference.group_norm_backward(*f64(grad_y, x), groups,
                                                        *f64(weight, save_mean, rstd))
    g_scale = float(np.abs(grad_y).max() * rstd.max() * (1 if weight is None else
                                                           np.abs(weight).max()))
    np.testing.assert_allclose(grad_x, ref_x, rtol=1e-4, atol=1e-4 * g_scale)
    np.testing.assert_allclose(grad_w, ref_w, rtol=1e-4, atol=1e-4 * max(1, np.abs(ref_w).max()))
    np.testing.assert_allclose(grad_b, ref_b, rtol=1e-4, atol=1e-4 * max(1, np.abs(ref_b).max()))


@pytest.mark.parametrize("shape,groups", [((8, 64, 16, 16), 8), ((64, 4, 9), 2)], ids=str)
def test_results_do_not_depend_on_thread_count(isa, shape, groups):
    x, weight, bias, grad_y = make(shape, True, 0.2)
    previous = hpnn.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 1, 2):
            hpnn.set_num_threads(threads)
            y, mean, rstd = kernels.group_norm_forward(x, groups, weight, bias)
            results.append((y, mean, rstd) + kernels.group_norm_backward(
                grad_y, x, groups, weight, mean, rstd))
    finally:
        hpnn.set_num_threads(previous)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)


def test_bad_arguments_raise_naming_function_and_argument():
    x = np.zeros((2, 6, 4), np.float32)
    with pytest.raises(ValueError, match="group_norm_forward: num_groups"):
        kernels.group_norm_forward(x, 4)
    with pytest.raises(TypeError, match="group_norm_forward: argument 'x'"):
        kernels.group_norm_forward(x.astype(np.float64), 3)
    with pytest.raises(ValueError, match="group_norm_forward: argument 'weight'"):
        kernels.group_norm_forward(x, 3, np.ones(4, np.float32))
    y, mean, rstd = kernels.group_norm_forward(x, 3)
    with pytest.raises(ValueError, match="group_norm_backward: argument 'rstd'"):
        kernels.group_norm_backward(x, x, 3, None, mean, rstd[:1])
    native = hpnn._C.kernels
    with pytest.raises(ValueError, match="group_norm_forward: argument 'num_groups'"):
        native.group_norm_forward(x, 4, None, None, 1e-5)
    with pytest.raises(ValueError, match="group_norm_forward: argument 'num_groups'"):
        native.group_norm_forward(x, 0, None, None, 1e-5)
    with pytest.raises(ValueError, match="group_norm_backward: argument 'mean'"):
        native.group_norm_backward(x, x, 3, None, np.zeros(5, np.float32),
                                   np.zeros(6, np.float32), True)

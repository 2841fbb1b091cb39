"""hpnn.kernels batch norm against hpnn.reference.norm on every ISA and at 1 and 2 threads.

The reference runs in float64 on the same float32 inputs (the exact answer), so large-mean
inputs check the kernels' numerical stability too. Every kernel runs with plain and with
streaming stores (the path of outputs larger than the caches). Tolerances: outputs 1e-5 relative; the
per-channel reductions (grad_weight, grad_bias, grad_x through them) 1e-4 relative, with an
absolute floor scaled to the size of the terms that cancel.
"""
import numpy as np
import pytest

from hpnn import kernels, reference
from support import streamed_outputs

# Runs of S values per image and channel: gathered below 64, cut into blocks above 2048.
SHAPES = [(2, 3), (64, 128), (5, 7, 3), (4, 17, 9, 11), (8, 16, 56, 56), (3, 5, 2, 3, 4),
          (2, 3, 100, 1), (700, 3, 1), (1, 3, 129), (3, 2, 4099), (2, 5, 63), (2, 5, 64),
          (5, 3, 33, 35)]


@pytest.fixture(params=[False, True], ids=["stored", "streamed"])
def streamed(request):
    with streamed_outputs(request.param):
        yield request.param


def f64(*arrays):
    return [None if a is None else np.asarray(a, np.float64) for a in arrays]


def per_channel(vector, ndim):
    return vector.reshape((1, -1) + (1,) * (ndim - 2))


def make(shape, affine, mean, seed=0):
    rng = np.random.default_rng(seed)
    channels = shape[1]
    x = (rng.standard_normal(shape) + mean).astype(np.float32)
    weight = rng.standard_normal(channels).astype(np.float32) if affine else None
    bias = rng.standard_normal(channels).astype(np.float32) if affine else None
    running_mean = rng.standard_normal(channels).astype(np.float32)
    running_var = (rng.random(channels) + 0.5).astype(np.float32)
    return x, weight, bias, running_mean, running_var


@pytest.mark.parametrize("mean", [0.5, 1e4], ids=["mean0.5", "mean1e4"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
@pytest.mark.parametrize("shape", SHAPES, ids=[str(s) for s in SHAPES])
def test_training_forward_and_backward(isa, threads, streamed, shape, affine, mean):
    x, weight, bias, running_mean, running_var = make(shape, affine, mean)
    rm64, rv64 = f64(running_mean, running_var)
    y, save_mean, save_invstd = kernels.batch_norm_forward_train(x, weight, bias, running_mean,
                                                                 running_var, momentum=0.2)
    y_ref, mean_ref, invstd_ref = reference.batch_norm_forward_train(
        *f64(x, weight, bias), rm64, rv64, momentum=0.2)
    assert y.dtype == save_mean.dtype == save_invstd.dtype == np.float32
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(save_mean, mean_ref, rtol=1e-6)
    np.testing.assert_allclose(save_invstd, invstd_ref, rtol=1e-5)
    np.testing.assert_allclose(running_mean, rm64, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(running_var, rv64, rtol=1e-5)

    grad_y = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    grad_x, grad_w, grad_b = kernels.batch_norm_backward(grad_y, x, weight, save_mean, save_invstd)
    ref_x, ref_w, ref_b = reference.batch_norm_backward(
        *f64(grad_y, x, weight, save_mean, save_invstd))
    scale = np.abs(grad_y * per_channel(save_invstd * (1 if weight is None else weight),
                                        x.ndim)).max()
    np.testing.assert_allclose(grad_x, ref_x, rtol=1e-4, atol=1e-5 * scale)
    if affine:
        np.testing.assert_allclose(grad_w, ref_w, rtol=1e-4, atol=1e-4 * np.abs(ref_w).max())
        np.testing.assert_allclose(grad_b, ref_b, rtol=1e-4, atol=1e-4 * np.abs(ref_b).max())
    else:
        assert grad_w is None and grad_b is None


@pytest.mark.parametrize("shape", [(64, 128), (4, 17, 9, 11), (8, 16, 56, 56), (3, 5, 33, 35)],
                         ids=str)
def test_eval_forward(isa, threads, streamed, shape):
    x, weight, bias, running_mean, running_var = make(shape, True, 0.5)
    y = kernels.batch_norm_forward_eval(x, weight, bias, running_mean, running_var, eps=1e-3)
    ref = reference.batch_norm_forward_eval(*f64(x, weight, bias, running_mean, running_var),
                                            eps=1e-3)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    y = kernels.batch_norm_forward_eval(x, None, None, running_mean, running_var)
    np.testing.assert_allclose(y, reference.batch_norm_forward_eval(
        *f64(x), None, None, *f64(running_mean, running_var)), rtol=1e-5, atol=1e-5)


def test_optional_and_strided_running_stats():
    """(Non-float32 buffers raise TypeError: tests/kernels/test_hardening_bindings.py.)"""
    x, weight, bias, running_mean, running_var = make((6, 4, 5, 5), True, 2.0)
    y, _, _ = kernels.batch_norm_forward_train(x, weight, bias, None, None)
    y_ref, _, _ = reference.batch_norm_forward_train(*f64(x, weight, bias), None, None)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=2e-5)
    rm, rv = running_mean, running_var[::-1].copy()[::-1]  # contiguous, strided
    kernels.batch_norm_forward_train(x, weight, bias, rm, rv, momentum=1.0)
    mean = x.astype(np.float64).mean(axis=(0, 2, 3))
    np.testing.assert_allclose(rm, mean, rtol=1e-6)
    np.testing.assert_allclose(rv, x.astype(np.float64).var(axis=(0, 2, 3), ddof=1), rtol=1e-5)


def test_non_contiguous_input():
    x, weight, bias, running_mean, running_var = make((5, 6, 7, 3), True, 0.0)
    x = x.transpose(0, 1, 3, 2)
    y, mean, invstd = kernels.batch_norm_forward_train(x, weight, bias, None, None)
    y_ref, _, _ = reference.batch_norm_forward_train(*f64(x, weight, bias), None, None)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=2e-5)
    grad = kernels.batch_norm_backward(y[:, :, ::-1], x, weight, mean, invstd)[0]
    ref = reference.batch_norm_backward(*f64(y[:, :, ::-1], x, weight, mean, invstd))[0]
    np.testing.assert_allclose(grad, ref, rtol=1e-4, atol=1e-5)


def test_rejects_bad_arguments():
    x, weight, bias, running_mean, running_var = make((4, 3, 2, 2), True, 0.0)
    with pytest.raises(TypeError, match="'x'.*float32"):
        kernels.batch_norm_forward_train(x.astype(np.float64), weight, bias, None, None)
    with pytest.raises(TypeError, match="x"):
        kernels.batch_norm_forward_eval(x.astype(np.int32), weight, bias, running_mean, running_var)
    with pytest.raises(ValueError, match="x must have shape"):
        kernels.batch_norm_forward_train(x[0, 0, 0], weight, bias, None, None)
    with pytest.raises(ValueError, match="empty batch"):
        kernels.batch_norm_forward_train(x[:0], weight, bias, None, None)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        kernels.batch_norm_forward_train(x[:1, :, :1, :1], weight, bias, None, None)
    with pytest.raises(ValueError, match="weight"):
        kernels.batch_norm_forward_train(x, weight[:2], bias, None, None)
    with pytest.raises(ValueError, match="eps"):
        kernels.batch_norm_forward_eval(x, weight, bias, running_mean, running_var, eps=0.0)
    with pytest.raises(ValueError, match="momentum"):
        kernels.batch_norm_forward_train(x, weight, bias, None, None, momentum=2.0)
    with pytest.raises(TypeError, match="running_mean"):
        kernels.batch_norm_forward_train(x, weight, bias, [0.0] * 3, running_var)
    with pytest.raises(ValueError, match="running_var"):
        kernels.batch_norm_forward_train(x, weight, bias, running_mean, running_var[:1])
    with pytest.raises(ValueError, match="required"):
        kernels.batch_norm_forward_eval(x, weight, bias, None, running_var)
    _, mean, invstd = kernels.batch_norm_forward_train(x, weight, bias, None, None)
    with pytest.raises(ValueError, match="grad_y"):
        kernels.batch_norm_backward(x[:2], x, weight, mean, invstd)
    with pytest.raises(TypeError, match="'grad_y'"):
        kernels.batch_norm_backward(x.astype(np.float64), x, weight, mean, invstd)
    with pytest.raises(ValueError, match="save_invstd"):
        kernels.batch_norm_backward(x, x, weight, mean, invstd[:1])

import numpy as np
import pytest

from hpnn import reference as ref

from .gradcheck import check_vjp

SHAPES = [(5, 3), (2, 3, 4, 3), (1, 2, 3, 5), (3, 2, 7)]


def _params(rng, channels, dtype=np.float64):
    return (rng.standard_normal(channels).astype(dtype),
            rng.standard_normal(channels).astype(dtype))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_backward_matches_finite_differences(shape, affine):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 2 + 1
    weight, bias = _params(rng, shape[1]) if affine else (None, None)

    def forward():
        return ref.batch_norm_forward_train(x, weight, bias, None, None)[0]

    def gradients(grad_y):
        _, mean, invstd = ref.batch_norm_forward_train(x, weight, bias, None, None)
        return ref.batch_norm_backward(grad_y, x, weight, mean, invstd)

    check_vjp(forward, lambda g: gradients(g)[0], x, rng)
    if affine:
        check_vjp(forward, lambda g: gradients(g)[1], weight, rng)
        check_vjp(forward, lambda g: gradients(g)[2], bias, rng)
    else:
        assert gradients(np.ones(shape))[1:] == (None, None)


def test_large_mean_stays_accurate_in_float32():
    rng = np.random.default_rng(1)
    x64 = 1e4 + rng.standard_normal((64, 4, 5, 5))
    y, mean, invstd = ref.batch_norm_forward_train(x64.astype(np.float32), None, None, None,
                                                   None)
    x_rounded = x64.astype(np.float32).astype(np.float64)
    centered = x_rounded - x_rounded.mean(axis=(0, 2, 3), keepdims=True)
    expected = centered / np.sqrt((centered**2).mean(axis=(0, 2, 3), keepdims=True) + 1e-5)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected, atol=2e-3)
    np.testing.assert_allclose(invstd, 1 / np.sqrt(centered.var(axis=(0, 2, 3)) + 1e-5),
                               rtol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    x = np.random.default_rng(4).standard_normal((3, 2, 4)).astype(dtype)
    weight, bias = _params(np.random.default_rng(5), 2, dtype)
    outputs = ref.batch_norm_forward_train(x, weight, bias, None, None)
    assert all(a.dtype == dtype for a in outputs)
    assert all(g.dtype == dtype for g in ref.batch_norm_backward(x, x, weight, *outputs[1:]))
    assert ref.batch_norm_forward_eval(x, weight, bias, *outputs[1:]).dtype == dtype


def test_running_stats_updated_in_place_with_unbiased_variance():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 2, 3)) + 5
    running_mean, running_var = np.full(2, 1.0), np.full(2, 2.0)
    ref.batch_norm_forward_train(x, None, None, running_mean, running_var, momentum=0.25)
    np.testing.assert_allclose(running_mean, 0.75 + 0.25 * x.mean(axis=(0, 2)))
    np.testing.assert_allclose(running_var, 1.5 + 0.25 * x.var(axis=(0, 2), ddof=1))


def test_bad_arguments_raise():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="weight"):
        ref.batch_norm_forward_train(x, np.ones(2), None, None, None)
    with pytest.raises(ValueError, match="eps"):
        ref.batch_norm_forward_train(x, None, None, None, None, eps=0.0)
    with pytest.raises(ValueError, match="momentum"):
        ref.batch_norm_forward_train(x, None, None, None, None, momentum=1.5)
    with pytest.raises(ValueError, match="more than 1 value"):
        ref.batch_norm_forward_train(x[:1], None, None, None, None)
    with pytest.raises(ValueError, match="x must have shape"):
        ref.batch_norm_forward_train(np.zeros(3), None, None, None, None)
    with pytest.raises(TypeError, match="running_mean"):
        ref.batch_norm_forward_train(x, None, None, [0.0] * 3, None)
    with pytest.raises(ValueError, match="running_mean"):
        ref.batch_norm_forward_eval(x, None, None, None, np.ones(3))
    with pytest.raises(ValueError, match="grad_y"):
        ref.batch_norm_backward(np.zeros((4, 2)), x, None, np.zeros(3), np.ones(3))


class TestAgainstTorch:
    torch = pytest.importorskip("torch")

    @pytest.mark.parametrize("shape", SHAPES)
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_train_and_eval(self, shape, dtype):
        torch = self.torch
        rng = np.random.default_rng(3)
        x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
        weight, bias = _params(rng, shape[1], dtype)
        running_mean = rng.standard_normal(shape[1]).astype(dtype)
        running_var = rng.uniform(0.5, 2, shape[1]).astype(dtype)
        running_t = [torch.tensor(running_mean), torch.tensor(running_var)]
        tensors = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
        y_t = torch.nn.functional.batch_norm(tensors[0], *running_t, tensors[1], tensors[2],
                                             training=True, momentum=0.2, eps=1e-3)
        grad_y = rng.standard_normal(shape).astype(dtype)
        y_t.backward(torch.tensor(grad_y))
        rtol = 1e-4 if dtype == np.float32 else 1e-10
        check = lambda a, t: np.testing.assert_allclose(a, t.detach().numpy(), rtol=rtol,
                                                        atol=rtol)
        y, mean, invstd = ref.batch_norm_forward_train(x, weight, bias, running_mean,
                                                       running_var, momentum=0.2, eps=1e-3)
        check(y, y_t)
        check(running_mean, running_t[0])
        check(running_var, running_t[1])
        for grad, tensor in zip(ref.batch_norm_backward(grad_y, x, weight, mean, invstd),
                                tensors):
            check(grad, tensor.grad)
        y_eval_t = torch.nn.functional.batch_norm(tensors[0], *running_t, tensors[1],
                                                  tensors[2], training=False, eps=1e-3)
        check(ref.batch_norm_forward_eval(x, weight, bias, running_mean, running_var, eps=1e-3),
              y_eval_t)

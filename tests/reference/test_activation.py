import numpy as np
import pytest

from hpnn import reference as ref

from .gradcheck import check_vjp

# name -> (forward(x), backward(grad_y, x, y)); kwargs bound in the lambdas
ELEMENTWISE = {
    "relu": (ref.relu_forward, lambda g, x, y: ref.relu_backward(g, x)),
    "leaky_relu": (lambda x: ref.leaky_relu_forward(x, 0.2),
                   lambda g, x, y: ref.leaky_relu_backward(g, x, 0.2)),
    "sigmoid": (ref.sigmoid_forward, lambda g, x, y: ref.sigmoid_backward(g, y)),
    "tanh": (ref.tanh_forward, lambda g, x, y: ref.tanh_backward(g, y)),
    "gelu": (ref.gelu_forward, lambda g, x, y: ref.gelu_backward(g, x)),
    "gelu_tanh": (lambda x: ref.gelu_forward(x, "tanh"),
                  lambda g, x, y: ref.gelu_backward(g, x, "tanh")),
}
AXIS_OPS = {
    "softmax": (ref.softmax_forward, ref.softmax_backward),
    "log_softmax": (ref.log_softmax_forward, ref.log_softmax_backward),
}


def _away_from_kinks(rng, shape):
    x = rng.standard_normal(shape) * 2
    return np.where(np.abs(x) < 1e-3, 0.5, x)


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("shape", [(7,), (2, 3, 5), ()])
def test_elementwise_backward_matches_finite_differences(name, shape):
    rng = np.random.default_rng(0)
    forward, backward = ELEMENTWISE[name]
    x = _away_from_kinks(rng, shape)
    check_vjp(lambda: forward(x), lambda g: backward(g, x, forward(x)), x, rng)


@pytest.mark.parametrize("name", AXIS_OPS)
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_backward_matches_finite_differences(name, axis):
    rng = np.random.default_rng(1)
    forward, backward = AXIS_OPS[name]
    x = rng.standard_normal((3, 4, 5))
    check_vjp(lambda: forward(x, axis), lambda g: backward(g, forward(x, axis), axis), x, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    x = np.linspace(-3, 3, 11, dtype=dtype)
    for forward, _ in ELEMENTWISE.values():
        assert forward(x).dtype == dtype
    for forward, backward in AXIS_OPS.values():
        y = forward(x)
        assert y.dtype == dtype and backward(x, y).dtype == dtype


def test_softmax_is_stable_for_huge_logits():
    x = np.array([[1000.0, 999.0, -1000.0]], dtype=np.float32)
    np.testing.assert_allclose(ref.softmax_forward(x).sum(), 1.0, rtol=1e-6)
    assert np.all(np.isfinite(ref.log_softmax_forward(x)))
    np.testing.assert_allclose(ref.log_softmax_forward(x)[0, 1], -1.3132616875, rtol=1e-6)


def test_sigmoid_saturates_without_overflow():
    with np.errstate(over="raise"):
        y = ref.sigmoid_forward(np.array([-1000.0, 1000.0], dtype=np.float32))
    np.testing.assert_array_equal(y, [0.0, 1.0])


def test_bad_arguments_raise():
    with pytest.raises(TypeError, match="x"):
        ref.relu_forward(np.arange(3))
    with pytest.raises(ValueError, match="grad_y"):
        ref.relu_backward(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="approximate"):
        ref.gelu_forward(np.zeros(3), approximate="fast")
    with pytest.raises(ValueError, match="axis"):
        ref.softmax_forward(np.zeros((2, 3)), axis=2)


class TestAgainstTorch:
    torch = pytest.importorskip("torch")

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_elementwise(self, dtype):
        torch, F = self.torch, self.torch.nn.functional
        torch_ops = {
            "relu": F.relu, "leaky_relu": lambda t: F.leaky_relu(t, 0.2),
            "sigmoid": torch.sigmoid, "tanh": torch.tanh, "gelu": F.gelu,
            "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        }
        rng = np.random.default_rng(2)
        x = (rng.standard_normal((4, 9)) * 3).astype(dtype)
        x[0, :3] = [0.0, -0.0, 40.0]
        grad_y = rng.standard_normal(x.shape).astype(dtype)
        rtol = 1e-5 if dtype == np.float32 else 1e-10
        for name, (forward, backward) in ELEMENTWISE.items():
            xt = torch.tensor(x, requires_grad=True)
            yt = torch_ops[name](xt)
            yt.backward(torch.tensor(grad_y))
            y = forward(x)
            np.testing.assert_allclose(y, yt.detach().numpy(), rtol=rtol, atol=rtol, err_msg=name)
            np.testing.assert_allclose(backward(grad_y, x, y), xt.grad.numpy(), rtol=rtol,
                                       atol=rtol, err_msg=name)

    @pytest.mark.parametrize("axis", [0, -1])
    def test_softmax(self, axis):
        torch = self.torch
        rng = np.random.default_rng(3)
        x = rng.standard_normal((5, 6)).astype(np.float32) * 4
        grad_y = rng.standard_normal(x.shape).astype(np.float32)
        for name, (forward, backward) in AXIS_OPS.items():
            xt = torch.tensor(x, requires_grad=True)
            yt = getattr(torch, name)(xt, dim=axis)
            yt.backward(torch.tensor(grad_y))
            y = forward(x, axis)
            np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(backward(grad_y, y, axis), xt.grad.numpy(), rtol=1e-5,
                                       atol=1e-6)

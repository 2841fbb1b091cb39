"""Tensor methods and hpnn.* functions against PyTorch (issue 14): values and every gradient,
through the shared ``vs_torch`` helper (tests/autograd/conftest.py), on 0-d and empty tensors
where the op allows them; bad arguments raise clear errors."""
import numpy as np
import pytest

import hpnn

torch = pytest.importorskip("torch", reason="the PyTorch parity tests need torch")
RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# ---- the reported bugs ---------------------------------------------------------------------
@pytest.mark.parametrize("fn", [lambda t: t ** 2, lambda t: t.pow(3), lambda t: 2 ** t,
                                lambda t: t * 2, lambda t: 3 / t, lambda t: 1 - t],
                         ids=["pow2", "pow3", "rpow", "mul", "rdiv", "rsub"])
def test_python_int_operands_keep_float32_gradients(fn):
    """An int operand used to make float64 gradients mid-graph; the Linear before it then
    failed in backward ("gemm: argument 'a' must be float32")."""
    layer = hpnn.nn.Linear(4, 3)
    x = hpnn.tensor(randn(2, 4), requires_grad=True)
    hidden = layer(x)
    out = fn(hidden)
    assert out.dtype == np.float32
    seen = []
    out._ctx.backward = _spy(out._ctx.backward, seen)
    out.sum().backward()
    assert all(g.dtype == np.float32 for g in seen if g is not None)
    assert x.grad.dtype == np.float32 and layer.weight.grad.dtype == np.float32


def _spy(backward, seen):
    def wrapper(grad):
        grads = backward(grad)
        seen.extend(grads if isinstance(grads, tuple) else (grads,))
        return grads
    return wrapper


def test_int_exponent_matches_torch(vs_torch):
    vs_torch(lambda t: t ** 2 + t.pow(3) + 2 ** t, lambda t: t ** 2 + t.pow(3) + 2 ** t,
             randn(3, 4))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "sum", "exp", "abs"])
def test_zero_dim_tensors_backward(vs_torch, name):
    vs_torch(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(),
             np.array(0.5, np.float32))

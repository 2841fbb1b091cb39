"""The extra activations (modules and F.*) against PyTorch: outputs and input gradients
(PReLU's weight gradient too), kinks included, in-place forms, reprs; and finite-difference
gradients in float64 of the hand-written derivatives."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
import hpnn.nn.functional as F
from hpnn.functional import activation_extra as A
from reference.gradcheck import check_vjp

torch = pytest.importorskip("torch", reason="the parity tests need torch")

# the kinks and branch points of the activations below, beside random values
KINKS = [0.0, -3.0, 3.0, 1.0, -1.0, 6.0, 0.5, -0.5, 0.1, 25.0, -25.0]

MODULES = [
    ("ELU", (), {}), ("ELU", (0.5,), {}), ("SELU", (), {}), ("CELU", (1.5,), {}),
    ("SiLU", (), {}), ("Mish", (), {}), ("Softplus", (), {}), ("Softplus", (2.0, 5.0), {}),
    ("Hardtanh", (), {}), ("Hardtanh", (-0.5, 2.0), {}), ("ReLU6", (), {}),
    ("Hardswish", (), {}), ("Hardsigmoid", (), {}), ("LogSigmoid", (), {}),
    ("Softsign", (), {}), ("Tanhshrink", (), {}), ("Softmin", (1,), {}),
    ("Threshold", (0.1, 20.0), {}), ("GLU", (), {}), ("GLU", (0,), {}),
    ("Hardshrink", (), {}), ("Softshrink", (0.3,), {}), ("PReLU", (), {}),
    ("PReLU", (4, 0.1), {}),
]


def _input():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 4, 6)).astype(np.float32) * 4
    x.reshape(-1)[:len(KINKS)] = KINKS
    return x


def _run_torch(module, x):
    xt = torch.tensor(x, requires_grad=True)
    y = module(xt)
    g = torch.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)), dtype=torch.float32)
    y.backward(g)
    return y.detach().numpy(), xt.grad.numpy(), g.numpy()


@pytest.mark.parametrize("name,args,kwargs", MODULES)
def test_module_forward_and_gradients_match_torch(name, args, kwargs):
    theirs, ours = getattr(torch.nn, name)(*args, **kwargs), getattr(nn, name)(*args, **kwargs)
    assert repr(ours).split("  # ")[0] == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = _input()
    expected, expected_grad, g = _run_torch(theirs, x)
    xh = hpnn.tensor(x, requires_grad=True)
    y = ours(xh)
    y.backward(hpnn.tensor(g))
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xh.grad.numpy(), expected_grad, rtol=1e-5, atol=1e-6)
    for (key, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-5,
                                   err_msg=key)


INPLACE = ["elu", "selu", "celu", "silu", "mish", "hardtanh", "relu6", "hardswish",
           "hardsigmoid"]


@pytest.mark.parametrize("name", INPLACE + ["threshold"])
def test_inplace_function_writes_input_and_keeps_gradient(name):
    extra = (0.2, -1.0) if name == "threshold" else ()
    x = _input()
    xt = torch.tensor(x, requires_grad=True)
    xh = hpnn.tensor(x, requires_grad=True)
    at, ah = xt * 1.5, xh * 1.5  # non-leaves, as in-place ops need
    yt = getattr(torch.nn.functional, name)(at, *extra, inplace=True)
    yh = getattr(F, name)(ah, *extra, inplace=True)
    assert yh is ah
    yt.sum().backward()
    yh.sum().backward()
    np.testing.assert_allclose(ah.numpy(), at.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_inplace_on_a_leaf_that_requires_grad_raises():
    with pytest.raises(RuntimeError, match="leaf"):
        F.elu(hpnn.tensor([1.0, -1.0], requires_grad=True), inplace=True)


def test_functional_underscore_forms():
    x = _input()
    for name, extra in (("elu_", ()), ("selu_", ()), ("celu_", ()), ("hardtanh_", ()),
                        ("threshold_", (0.0, 1.0))):
        xh, xt = hpnn.tensor(x.copy()), torch.tensor(x.copy())
        getattr(F, name)(xh, *extra)
        getattr(torch.nn.functional, name)(xt, *extra)
        np.testing.assert_allclose(xh.numpy(), xt.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("shape,w", [((5, 3), [0.1, -0.2, 0.3]), ((3,), [0.2]), ((), [0.2])])
def test_prelu_channels_of_2d_and_1d_input(shape, w):
    x = np.asarray(np.random.default_rng(2).standard_normal(shape) - 0.5, np.float32)
    w = np.array(w, np.float32)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    xh, wh = hpnn.tensor(x, requires_grad=True), hpnn.tensor(w, requires_grad=True)
    torch.nn.functional.prelu(xt, wt).sum().backward()
    F.prelu(xh, wh).sum().backward()
    np.testing.assert_allclose(wh.grad.numpy(), wt.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call,exc,argument", [
    (lambda: nn.PReLU(0), ValueError, "num_parameters"),
    (lambda: nn.PReLU(2.5), TypeError, "num_parameters"),
    (lambda: nn.ELU("a"), TypeError, "alpha"),
    (lambda: nn.Hardtanh(2.0, 1.0), ValueError, "min_val"),
    (lambda: nn.Softplus(beta=0), ValueError, "beta"),
    (lambda: F.prelu(hpnn.zeros(2, 3), hpnn.zeros(2)), ValueError, "weight"),
    (lambda: F.prelu(hpnn.zeros(3), hpnn.zeros(3)), ValueError, "weight"),
    (lambda: F.glu(hpnn.zeros(2, 3)), ValueError, "even"),
])
def test_bad_arguments_name_the_argument(call, exc, argument):
    with pytest.raises(exc, match=argument):
        call()


ELEMENTWISE = [
    (A._elu, dict(alpha=0.7)), (A._elu, dict(alpha=A.SELU_ALPHA, scale=A.SELU_SCALE)),
    (A._celu, dict(alpha=1.5)), (A._silu, {}), (A._mish, {}),
    (A._softplus_pair, dict(beta=2.0, threshold=5.0)), (A._hardswish, {}),
    (A._hardsigmoid, {}), (A._logsigmoid, {}), (A._softsign, {}), (A._tanhshrink, {}),
    (A._softshrink, dict(lambd=0.3)),
]


@pytest.mark.parametrize("f,options", ELEMENTWISE, ids=lambda v: getattr(v, "__name__", ""))
def test_derivatives_match_finite_differences_in_float64(f, options):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(40) * 3
    x = x[np.min(np.abs(x[:, None] - np.array([0.0, 3, -3, 0.3, -0.3, 2.5])), axis=1) > 1e-3]
    check_vjp(lambda: f(x, **options)[0], lambda g: g * f(x, **options)[1], x, rng,
              rtol=1e-6, atol=1e-8)


def test_prelu_weight_gradient_matches_finite_differences_in_float64():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((3, 4, 2)), rng.standard_normal(4)

    def backward(g):
        fn = A.PReLU()
        fn.needs_input_grad = (True, True)
        fn.forward(x, w)
        return fn.backward(g)[1]

    check_vjp(lambda: A.PReLU().forward(x, w), backward, w, rng)

"""Every differentiable tensor op against central finite differences."""
import numpy as np
import pytest

import hpnn

rng = np.random.default_rng(42)


def randn(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    """Values with |x| >= 0.2 so kinks (abs, relu, clamp) are not within eps."""
    return rng.choice([-1, 1], shape) * rng.uniform(0.2, 2.0, shape)


BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
]


@pytest.mark.parametrize("name,op", BINARY)
@pytest.mark.parametrize("shape_a,shape_b", [((3, 4), (3, 4)), ((2, 3, 4), (4,)),
                                             ((3, 1), (1, 4)), ((2, 1, 4), (3, 1))])
def test_binary_broadcasting(gradcheck, name, op, shape_a, shape_b):
    out = gradcheck(op, randn(*shape_a), positive(*shape_b))
    assert out.shape == np.broadcast_shapes(shape_a, shape_b)


def test_scalar_operands(gradcheck):
    gradcheck(lambda a: (2.0 - a) * 3.0 / 4.0 + 1.0 - 5.0 / (a + 3.0), positive(3, 2))


def test_numpy_operand_on_the_left(gradcheck):
    other = randn(3)
    out = gradcheck(lambda a: other * a + other, randn(2, 3))
    assert isinstance(out, hpnn.Tensor)


def test_pow(gradcheck):
    gradcheck(lambda a: a ** 3, randn(4, 3))
    gradcheck(lambda a, b: a ** b, positive(3, 4), randn(4))
    gradcheck(lambda a: 2.0 ** a, randn(5))


@pytest.mark.parametrize("name,op,make", [
    ("neg", lambda a: -a, randn),
    ("exp", lambda a: a.exp(), randn),
    ("log", lambda a: a.log(), positive),
    ("sqrt", lambda a: a.sqrt(), positive),
    ("abs", lambda a: a.abs(), away_from_zero),
    ("clamp", lambda a: a.clamp(-0.5, 0.7), away_from_zero),
    ("clamp_min", lambda a: a.clamp(min=0.1), away_from_zero),
])
def test_unary(gradcheck, name, op, make):
    gradcheck(op, make(3, 5))


@pytest.mark.parametrize("reduce", ["sum", "mean", "amax"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 2), False),
                                         (-1, False)])
def test_reductions(gradcheck, reduce, dim, keepdim):
    expected = getattr(np, reduce)(np.zeros((2, 3, 4)), axis=dim, keepdims=keepdim).shape
    dim = () if dim is None and reduce == "amax" else dim
    out = gradcheck(lambda a: getattr(a, reduce)(dim, keepdim), randn(2, 3, 4))
    assert out.shape == expected


def test_max_splits_gradient_between_ties():
    x = hpnn.tensor([[1.0, 3.0, 3.0], [0.0, -1.0, 2.0]], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [0, 0, 0]])


def test_min(gradcheck):
    gradcheck(lambda a: a.min(1).values, randn(3, 4))
    gradcheck(lambda a: a.amin(1), randn(3, 4))


@pytest.mark.parametrize("op", [
    lambda a: a.reshape(4, 6),
    lambda a: a.view(-1, 3),
    lambda a: a.transpose(0, 2),
    lambda a: a.permute(1, 2, 0),
    lambda a: a.flatten(),
    lambda a: a.flatten(1),
    lambda a: a.unsqueeze(1).squeeze(1),
    lambda a: a.T,
])
def test_shape_ops(gradcheck, op):
    gradcheck(op, randn(2, 3, 4))


@pytest.mark.parametrize("index", [
    1, (slice(None), 2), (Ellipsis, slice(1, 3)), (slice(None, None, -1), 0),
    np.array([0, 1, 1]), (np.array([1, 0, 1]), np.array([2, 2, 0])), np.array([True, False]),
])
def test_getitem(gradcheck, index):
    gradcheck(lambda a: a[index], randn(2, 3, 4))


def test_cat_and_stack(gradcheck):
    gradcheck(lambda a, b: hpnn.cat([a, b], dim=1), randn(2, 3), randn(2, 5))
    gradcheck(lambda a, b: hpnn.stack([a, b], dim=0), randn(2, 3), randn(2, 3))
    gradcheck(lambda a, b: hpnn.stack([a, b], dim=-1), randn(2, 3), randn(2, 3))


def test_where(gradcheck):
    condition = rng.random((3, 4)) > 0.5
    gradcheck(lambda a, b: hpnn.where(condition, a, b), randn(3, 4), randn(4))


@pytest.mark.parametrize("shape_a,shape_b", [
    ((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5)),
    ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 1, 3, 4), (5, 4, 2)),
])
def test_matmul(gradcheck, shape_a, shape_b):
    out = gradcheck(lambda a, b: a @ b, randn(*shape_a), randn(*shape_b))
    assert out.shape == np.matmul(np.zeros(shape_a), np.zeros(shape_b)).shape


def test_matmul_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="do not align"):
        hpnn.randn(3, 4) @ hpnn.randn(5, 2)


def test_matmul_native_matches_numpy_backend():
    a, b = randn(7, 9).astype(np.float32), randn(9, 3).astype(np.float32)
    native = (hpnn.tensor(a) @ hpnn.tensor(b)).numpy()
    with hpnn.use_backend("numpy"):
        reference = (hpnn.tensor(a) @ hpnn.tensor(b)).numpy()
    np.testing.assert_allclose(native, reference, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(native, a @ b, rtol=1e-4, atol=1e-4)

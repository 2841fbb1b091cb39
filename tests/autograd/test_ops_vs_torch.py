"""Tensor ops against PyTorch: values and gradients, broadcasting, reductions, indexing."""
import numpy as np
import pytest

import hpnn

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow"])
@pytest.mark.parametrize("shapes", [((2, 1, 4), (3, 4)), ((4,), (2, 3, 4)), ((3, 1), (1, 5)),
                                    ((), (2, 3))])
def test_binary_broadcasting(vs_torch, op, shapes):
    a, b = randn(*shapes[0]), randn(*shapes[1])
    if op == "pow":
        a = np.abs(a) + 0.5
    fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
          "div": lambda x, y: x / y, "pow": lambda x, y: x ** y}[op]
    vs_torch(fn, fn, a, b)


def test_reflected_scalar_operands(vs_torch):
    fn = lambda x: (2.0 - x) * 3.0 / (1.5 + x * x) + 2.0 ** x - 1.0 / (x.abs() + 1)  # noqa: E731
    vs_torch(fn, fn, randn(3, 4))


@pytest.mark.parametrize("exponent", [0.0, 2.0, 0.5, 3.0])
def test_pow_at_zero_base_like_torch(vs_torch, exponent):
    base = np.array([0.0, 1.0, 2.0, 0.0], np.float32)
    vs_torch(lambda x: x ** exponent, lambda x: x ** exponent, base)


def test_pow_exponent_gradient_at_zero_and_negative_base():
    ours = hpnn.tensor([1.0, 0.0, 2.0], requires_grad=True)
    theirs = torch.tensor([1.0, 0.0, 2.0], requires_grad=True)
    base = np.array([0.0, 0.0, -2.0], np.float32)
    (hpnn.tensor(base) ** ours).sum().backward()
    (torch.tensor(base) ** theirs).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())  # 0, 0, nan


@pytest.mark.parametrize("shapes", [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)),
                                    ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
                                    ((4,), (2, 4, 3)), ((2, 3, 4), (4,))])
def test_matmul_shapes(vs_torch, shapes):
    vs_torch(lambda a, b: a @ b, lambda a, b: a @ b, randn(*shapes[0]), randn(*shapes[1]))


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "abs", "neg"])
def test_unary(vs_torch, name):
    vs_torch(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(),
             np.abs(randn(3, 4)) + 0.1)


def test_abs_and_clamp_at_the_kinks(vs_torch):
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0], np.float32)
    vs_torch(lambda t: t.abs(), lambda t: t.abs(), x)
    vs_torch(lambda t: t.clamp(-0.5, 0.5), lambda t: t.clamp(-0.5, 0.5), x)
    vs_torch(lambda t: t.clamp(min=0.0), lambda t: t.clamp(min=0.0), x)
    vs_torch(lambda t: t.clamp(max=0.0), lambda t: t.clamp(max=0.0), x)


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), (-1, False),
                                         ((0, 2), True), ([0, -1], False)])
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_sum_mean(vs_torch, name, dim, keepdim):
    args = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    vs_torch(lambda x: getattr(x, name)(**args), lambda x: getattr(x, name)(**args),
             randn(2, 3, 4))


TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [5.0, 5.0, 5.0]], np.float32)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, True), (-1, False)])
def test_max_min_over_a_dim_with_ties(vs_torch, name, dim, keepdim):
    """(values, indices); the gradient goes to the first extreme only, as in torch."""
    vs_torch(lambda x: tuple(getattr(x, name)(dim, keepdim)),
             lambda x: tuple(getattr(x, name)(dim, keepdim)), TIES)
    result = getattr(hpnn.tensor(TIES), name)(dim=dim, keepdim=keepdim)
    assert result.values is result[0] and result.indices.dtype == np.int64


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
def test_full_and_amax_reductions_share_ties(vs_torch, name):
    vs_torch(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), TIES)
    if name.startswith("a"):
        vs_torch(lambda x: getattr(x, name)(1, True), lambda x: getattr(x, name)(1, True), TIES)
        vs_torch(lambda x: getattr(x, name)((0, 1)), lambda x: getattr(x, name)((0, 1)), TIES)


def test_argmax_argmin(vs_torch):
    for name in ("argmax", "argmin"):
        vs_torch(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), TIES)
        vs_torch(lambda x: getattr(x, name)(1, True), lambda x: getattr(x, name)(1, True), TIES)


@pytest.mark.parametrize("op", [
    lambda x: x.reshape(4, -1), lambda x: x.view((6, 4)), lambda x: x.permute(2, 0, 1),
    lambda x: x.permute(-1, 0, 1), lambda x: x.transpose(0, -1), lambda x: x.flatten(),
    lambda x: x.flatten(1), lambda x: x.flatten(0, 1), lambda x: x.unsqueeze(-1),
    lambda x: x.unsqueeze(1).squeeze(), lambda x: x.unsqueeze(1).squeeze((1,)),
    lambda x: x.squeeze(0), lambda x: x.mT, lambda x: x[0].T, lambda x: x[0].t(),
])
def test_shape_ops(vs_torch, op):
    vs_torch(op, op, randn(2, 3, 4))


@pytest.mark.parametrize("index", [
    1, -1, (slice(None), slice(None, None, 2), slice(1, None)), (-1, slice(None), -2),
    [0, 0, 1], ([0, 1, 1], [2, 0, 2]), (None, Ellipsis, 1), (Ellipsis, slice(1, 3)),
    (slice(None), [2, 0, 2]),
])
def test_indexing_gradients(vs_torch, index):
    vs_torch(lambda x: x[index], lambda x: x[index], randn(2, 3, 4))


def test_mask_and_tensor_indexing(vs_torch):
    x = randn(3, 4)
    vs_torch(lambda t: t[t > 0], lambda t: t[t > 0], x)
    vs_torch(lambda t: t[hpnn.tensor([2, 2, 0])], lambda t: t[torch.tensor([2, 2, 0])], x)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack(vs_torch, dim):
    a, b = randn(2, 3), randn(2, 3)
    vs_torch(lambda x, y: hpnn.cat([x, y], dim), lambda x, y: torch.cat([x, y], dim), a, b)
    vs_torch(lambda x, y: hpnn.stack([x, y], dim), lambda x, y: torch.stack([x, y], dim), a, b)


def test_where(vs_torch):
    vs_torch(lambda x, y: hpnn.where(x > 0, x, y), lambda x, y: torch.where(x > 0, x, y),
             randn(3, 4), randn(4))


def test_setitem_records_the_graph_like_torch():
    def run(lib, x_data, w_data):
        x = lib.tensor(x_data, requires_grad=True)
        w = lib.tensor(w_data, requires_grad=True)
        y = x * 2
        y[0] = w[1] * 3       # a non-leaf, overwritten by a value that requires grad
        buffer = lib.zeros(4)
        buffer[1:3] = w[:2]   # a plain buffer that becomes part of the graph
        ((y.sum(0) * buffer).sum() + y.exp().sum()).backward()
        return y.detach().numpy(), x.grad.numpy(), w.grad.numpy()

    x, w = randn(3, 4), randn(4)
    for ours, theirs in zip(run(hpnn, x, w), run(torch, x, w)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_setitem_after_use_and_inplace_on_graph_tensors_raise():
    x = hpnn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum()
    with pytest.raises(RuntimeError, match="clone"):
        y[0] = 0.0
    with pytest.raises(RuntimeError, match="in place"):
        (x * 3).add_(1.0)
    with pytest.raises(RuntimeError, match="leaf"):
        x[0] = 5.0
    with hpnn.no_grad():
        x[0] = 5.0
    assert x.numpy()[0] == 5.0


def test_elementwise_comparisons_and_backward_keyword():
    a = hpnn.tensor([1, 2, 3])
    assert (a == hpnn.tensor([1, 0, 3])).tolist() == [True, False, True]
    assert (a != 2).tolist() == [True, False, True]
    assert ((a == 2).float().mean()).item() == pytest.approx(1 / 3)
    x = hpnn.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(gradient=hpnn.tensor([1.0, 0.5]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])

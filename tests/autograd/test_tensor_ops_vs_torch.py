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


# ---- every op, as a method and as a function, against torch ---------------------------------
def ints(values):
    return np.array(values, np.int64)


POS = np.abs(randn(3, 4)) + 0.5  # for rsqrt and friends
WITH_ZERO = np.array([[1.5, 0.0, -2.0], [0.5, 3.0, 0.0], [2.0, -1.0, 0.25]], np.float32)
# (id, fn(lib, *tensors) with lib = hpnn or torch, input arrays)
CASES = [
    ("split", lambda L, x: x.split(2, 1), [randn(3, 5)]),
    ("split_sections", lambda L, x: L.split(x, [1, 3], dim=0), [randn(4, 2)]),
    ("chunk", lambda L, x: x.chunk(3, dim=-1), [randn(2, 7)]),
    ("chunk_fn", lambda L, x: L.chunk(x, 2), [randn(5)]),
    ("narrow", lambda L, x: x.narrow(1, 1, 2), [randn(3, 4)]),
    ("narrow_fn", lambda L, x: L.narrow(x, -1, 0, 1), [randn(2, 3)]),
    ("unbind", lambda L, x: x.unbind(1), [randn(2, 3)]),
    ("expand", lambda L, x: x.expand(2, 3, -1), [randn(3, 1)]),
    ("expand_0d", lambda L, x: x.expand(4), [randn()]),
    ("expand_as", lambda L, x, y: x.expand_as(y) * y, [randn(1, 4), randn(3, 4)]),
    ("repeat", lambda L, x: x.repeat(2, 1, 3), [randn(3, 2)]),
    ("repeat_0d", lambda L, x: x.repeat(3), [randn()]),
    ("gather", lambda L, x, i: x.gather(1, i), [randn(3, 4), ints([[0, 0], [3, 1], [2, 2]])]),
    ("gather_fn", lambda L, x, i: L.gather(x, 0, i), [randn(3, 2), ints([[2, 0], [2, 2]])]),
    ("scatter", lambda L, x, s, i: x.scatter(1, i, s),
     [randn(3, 4), randn(3, 2), ints([[0, 1], [3, 2], [2, 0]])]),
    ("scatter_value", lambda L, x, i: L.scatter(x, 0, i, value=2.5), [randn(3, 2), ints([[2, 0]])]),
    ("scatter_add", lambda L, x, s, i: x.scatter_add(0, i, s),
     [randn(3, 2), randn(4, 2), ints([[0, 1], [0, 1], [2, 2], [0, 0]])]),
    ("index_select", lambda L, x, i: x.index_select(1, i), [randn(2, 4), ints([3, 0, 3])]),
    ("index_select_fn", lambda L, x, i: L.index_select(x, 0, i), [randn(3), ints([2, 2])]),
    ("masked_fill", lambda L, x: x.masked_fill(x > 0, -1.0), [randn(3, 4)]),
    ("masked_fill_bcast", lambda L, x, m: L.masked_fill(x, m > 0, 0.5), [randn(3, 4), randn(4)]),
    ("view_as", lambda L, x, y: x.view_as(y) + y, [randn(2, 6), randn(3, 4)]),
    ("reshape_as", lambda L, x, y: x.reshape_as(y), [randn(12), randn(3, 4)]),
    ("contiguous", lambda L, x: x.t().contiguous(), [randn(3, 4)]),
    ("flip", lambda L, x: x.flip(0, 2), [randn(2, 3, 4)]),
    ("flip_fn", lambda L, x: L.flip(x, [-1]), [randn(2, 3)]),
    ("roll", lambda L, x: x.roll(1, 1), [randn(3, 4)]),
    ("roll_flat", lambda L, x: L.roll(x, -2), [randn(3, 4)]),
    ("roll_dims", lambda L, x: x.roll((1, -1), (0, 1)), [randn(3, 4)]),
    ("tril", lambda L, x: x.tril(), [randn(4, 4)]),
    ("triu_batched", lambda L, x: L.triu(x, 1), [randn(2, 3, 4)]),
    ("tril_neg", lambda L, x: L.tril(x, diagonal=-1), [randn(3, 5)]),
    ("var", lambda L, x: x.var(), [randn(3, 4)]),
    ("var_dim", lambda L, x: x.var(1, keepdim=True), [randn(3, 4)]),
    ("var_biased", lambda L, x: L.var(x, 0, unbiased=False), [randn(3, 4)]),
    ("var_correction", lambda L, x: x.var(dim=(0, 1), correction=0), [randn(2, 3, 2)]),
    ("std", lambda L, x: x.std(dim=-1), [randn(3, 4)]),
    ("std_fn", lambda L, x: L.std(x), [randn(5)]),
    ("prod", lambda L, x: x.prod(), [randn(2, 3)]),
    ("prod_dim_zeros", lambda L, x: x.prod(1), [WITH_ZERO]),
    ("prod_0d", lambda L, x: L.prod(x), [randn()]),
    ("prod_two_zeros", lambda L, x: L.prod(x, 0, keepdim=True), [WITH_ZERO.T.copy()]),
    ("cumsum", lambda L, x: x.cumsum(1), [randn(3, 4)]),
    ("cumsum_fn", lambda L, x: L.cumsum(x, dim=0), [randn(4)]),
    ("cumprod", lambda L, x: x.cumprod(-1), [randn(3, 4)]),
    ("cumprod_zeros", lambda L, x: L.cumprod(x, 1), [WITH_ZERO]),
    ("logsumexp", lambda L, x: x.logsumexp(1), [randn(3, 4) * 10]),
    ("logsumexp_keep", lambda L, x: L.logsumexp(x, (0, 1), keepdim=True), [randn(2, 3)]),
    ("norm", lambda L, x: x.norm(), [randn(3, 4)]),
    ("norm_fro", lambda L, x: L.norm(x, "fro"), [randn(3, 4)]),
    ("norm_dim", lambda L, x: x.norm(dim=1, keepdim=True), [randn(3, 4)]),
    ("norm_p1", lambda L, x: x.norm(p=1, dim=0), [randn(3, 4)]),
    ("norm_inf", lambda L, x: x.norm(float("inf")), [randn(3, 4)]),
    ("norm_p3", lambda L, x: x.norm(3, -1), [randn(3, 4)]),
    ("norm_zero_row", lambda L, x: x.norm(dim=1), [np.array([[0, 0], [3, 4]], np.float32)]),
    ("sin", lambda L, x: x.sin() + L.sin(x), [randn(3, 4)]),
    ("cos", lambda L, x: x.cos() + L.cos(x), [randn(3, 4)]),
    ("rsqrt", lambda L, x: x.rsqrt() + L.rsqrt(x), [POS]),
    ("erf", lambda L, x: x.erf() + L.erf(x), [randn(3, 4) * 2]),
    ("sign", lambda L, x: x.sign() * x + L.sign(x), [WITH_ZERO]),
    ("floor", lambda L, x: x.floor() + L.floor(x) * x, [randn(3, 4) * 3]),
    ("ceil", lambda L, x: x.ceil() + L.ceil(x) * x, [randn(3, 4) * 3]),
    ("round", lambda L, x: x.round() + L.round(x) * x,
     [np.array([0.5, 1.5, -2.5, 2.4], np.float32)]),
    ("round_decimals", lambda L, x: x.round(decimals=1), [np.array([0.25, 1.27], np.float32)]),
    ("maximum", lambda L, x, y: x.maximum(y), [randn(3, 4), randn(4)]),
    ("maximum_ties", lambda L, x, y: L.maximum(x, y), [WITH_ZERO, WITH_ZERO.T.copy()]),
    ("minimum", lambda L, x, y: L.minimum(x, y), [randn(3, 1), randn(4)]),
    ("max_pair", lambda L, x, y: L.max(x, y), [randn(3, 4), randn(3, 4)]),
    ("min_pair", lambda L, x, y: x.min(y), [randn(3, 4), randn(3, 4)]),
    ("max_dim", lambda L, x: L.max(x, 1), [randn(3, 4)]),
    ("min_dim_keep", lambda L, x: L.min(x, dim=0, keepdim=True), [randn(3, 4)]),
    ("max_all", lambda L, x: L.max(x), [randn(3, 4)]),
    ("min_all", lambda L, x: L.min(x), [randn(3, 4)]),
    ("topk", lambda L, x: x.topk(2), [randn(3, 5)]),
    ("topk_smallest", lambda L, x: L.topk(x, 3, dim=0, largest=False), [randn(4, 2)]),
    ("sort", lambda L, x: x.sort(), [randn(3, 5)]),
    ("sort_desc", lambda L, x: L.sort(x, dim=0, descending=True), [randn(4, 3)]),
    ("argsort", lambda L, x: x.argsort(dim=1), [randn(3, 5)]),
    ("argsort_desc", lambda L, x: L.argsort(x, descending=True), [randn(6)]),
    ("nan_to_num", lambda L, x: L.nan_to_num(x * 1, nan=0.5, posinf=9.0),
     [np.array([1.0, np.nan, np.inf, -np.inf], np.float32)]),
    ("mm", lambda L, x, y: L.mm(x, y) + x.mm(y), [randn(3, 4), randn(4, 2)]),
    ("bmm", lambda L, x, y: L.bmm(x, y), [randn(2, 3, 4), randn(2, 4, 5)]),
    ("matmul", lambda L, x, y: L.matmul(x, y), [randn(2, 3, 4), randn(4)]),
    ("t", lambda L, x: x.t() + L.t(x).t().t(), [randn(3, 3)]),
    ("t_1d", lambda L, x: x.t(), [randn(3)]),
]
FUNCTION_FORMS = [
    (name, (lambda n: lambda L, x: getattr(L, n)(x))(name), [POS])
    for name in ("exp", "log", "sqrt", "abs", "sigmoid", "tanh", "flatten")] + [
    ("sum_fn", lambda L, x: L.sum(x, 1) + L.sum(x, dim=1, keepdim=False), [randn(3, 4)]),
    ("mean_fn", lambda L, x: L.mean(x, dim=0, keepdim=True), [randn(3, 4)]),
    ("clamp_fn", lambda L, x: L.clamp(x, -0.5, 0.5) + L.clip(x, min=0.1), [randn(3, 4)]),
    ("unsqueeze_fn", lambda L, x: L.unsqueeze(x, 1), [randn(3, 4)]),
    ("squeeze_fn", lambda L, x: L.squeeze(x, 1), [randn(3, 1, 4)]),
    ("transpose_fn", lambda L, x: L.transpose(x, 0, 2), [randn(2, 3, 4)]),
    ("permute_fn", lambda L, x: L.permute(x, (2, 0, 1)), [randn(2, 3, 4)]),
    ("reshape_fn", lambda L, x: L.reshape(x, (4, 3)), [randn(3, 4)]),
    ("argmax_fn", lambda L, x: L.argmax(x, dim=1), [randn(3, 4)]),
    ("argmin_fn", lambda L, x: L.argmin(x), [randn(3, 4)]),
    ("softmax_fn", lambda L, x: L.softmax(x, dim=1), [randn(3, 4)]),
    ("log_softmax_fn", lambda L, x: L.log_softmax(x, 0), [randn(3, 4)]),
]
ZERO_DIM = [(f"{name}_0d", fn, [randn()]) for name, fn in [
    ("var", lambda L, x: x.var(correction=0)), ("cumsum", lambda L, x: x.cumsum(0)),
    ("cumprod", lambda L, x: x.cumprod(-1)), ("logsumexp", lambda L, x: x.logsumexp(0)),
    ("norm", lambda L, x: x.norm()), ("sin", lambda L, x: x.sin()),
    ("erf", lambda L, x: L.erf(x)), ("max_dim", lambda L, x: L.max(x, 0)),
    ("sort", lambda L, x: x.sort()), ("topk", lambda L, x: x.topk(1)),
    ("flip", lambda L, x: x.flip(0)), ("gather", lambda L, x: x.gather(0, L.tensor(0))),
    ("maximum", lambda L, x: L.maximum(x, x * 2)), ("relu", lambda L, x: x.relu()),
    ("pow", lambda L, x: (x ** 2).sigmoid()), ("view_as", lambda L, x: x.view_as(x)),
    ("softmax", lambda L, x: x.softmax(0) + x.log_softmax(-1)), ("sum_dim", lambda L, x: x.sum(0)),
    ("mean_dim", lambda L, x: L.mean(x, -1, keepdim=True)), ("amax", lambda L, x: x.amax(0)),
    ("transpose", lambda L, x: x.transpose(0, -1)), ("squeeze", lambda L, x: x.squeeze(0)),
    ("unsqueeze", lambda L, x: x.unsqueeze(0)), ("expand", lambda L, x: x.expand(2, 2))]]
EMPTY = [(f"{name}_empty", fn, [randn(0, 3)]) for name, fn in [
    ("sum", lambda L, x: x.sum(0)), ("cumsum", lambda L, x: x.cumsum(0)),
    ("flip", lambda L, x: x.flip(0)), ("split", lambda L, x: x.split(2, 1)),
    ("sin", lambda L, x: x.sin()), ("norm", lambda L, x: x.norm(dim=0)),
    ("prod", lambda L, x: x.prod(0)), ("repeat", lambda L, x: x.repeat(2, 1)),
    ("tril", lambda L, x: x.tril()), ("sort", lambda L, x: x.sort(0)),
    ("index_select", lambda L, x: x.index_select(1, L.tensor([0, 2])))]]


@pytest.mark.parametrize("name,fn,arrays", CASES + FUNCTION_FORMS + ZERO_DIM + EMPTY,
                         ids=[c[0] for c in CASES + FUNCTION_FORMS + ZERO_DIM + EMPTY])
def test_op_matches_torch(vs_torch, name, fn, arrays):
    vs_torch(lambda *t: fn(hpnn, *t), lambda *t: fn(torch, *t), *arrays)


def test_leaf_gradient_keeps_the_leaf_dtype():
    x = hpnn.tensor(np.ones(3), dtype=np.float64, requires_grad=True)
    (x * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])

"""Issue 14's Tensor ops beyond test_tensor_ops_vs_torch.py: einsum, ops returning several
tensors, no-grad ops (comparisons, any/all, predicates), creation, the axis= alias,
__format__, bad arguments, and finite-difference checks in float64 on the numpy backend."""
import numpy as np
import pytest

import hpnn
from hpnn import index_ops as I, linalg_ops as L, pointwise_ops as P, reduce_ops as R  # noqa: E741

torch = pytest.importorskip("torch", reason="the PyTorch parity tests need torch")
RNG = np.random.default_rng(1)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


EINSUM = [("ij,jk->ik", [(3, 4), (4, 2)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
          ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]), ("i,i->", [(5,), (5,)]),
          ("ij->ji", [(3, 4)]), ("ij->i", [(3, 4)]), ("ij,j->i", [(3, 4), (4,)]),
          ("i,j->ij", [(3,), (4,)]), ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 2)]),
          ("ij,ij->ij", [(3, 4), (3, 4)]), ("bi,bi->b", [(3, 4), (3, 4)]), ("ij", [(2, 3)]),
          ("ij,jk", [(2, 3), (3, 4)]), ("ijk->", [(2, 3, 4)]), ("ij,kj->ik", [(2, 3), (4, 3)])]


@pytest.mark.parametrize("equation,shapes", EINSUM, ids=[e[0] for e in EINSUM])
def test_einsum_matches_torch(vs_torch, equation, shapes):
    arrays = [randn(*s) for s in shapes]
    vs_torch(lambda *t: hpnn.einsum(equation, *t), lambda *t: torch.einsum(equation, *t),
             *arrays)


def _weighted_cat(lib, parts, dim):
    """All parts in one output (each scaled differently), so every part's gradient counts."""
    return lib.cat([p * (i + 1) for i, p in enumerate(parts)], dim)


@pytest.mark.parametrize("fn", [
    lambda L, x: _weighted_cat(L, x.split(2, 1), 1),
    lambda L, x: _weighted_cat(L, L.chunk(x, 2, 0), 0),
    lambda L, x: L.stack([p * (i + 1) for i, p in enumerate(x.unbind(1))]),
    lambda L, x: x.topk(2, 1).values * 3 + x.topk(2, 1).indices,
    lambda L, x: x.sort(0, descending=True).values * L.arange(5).reshape(5, 1),
    lambda L, x: L.max(x, 1).values + L.min(x, 1).values * 2,
], ids=["split", "chunk", "unbind", "topk", "sort", "max_min"])
def test_multi_output_ops_every_gradient(vs_torch, fn):
    vs_torch(lambda t: fn(hpnn, t), lambda t: fn(torch, t), randn(5, 4))


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparisons_are_bool_as_methods_and_functions(name):
    a, b = np.array([1.0, 2.0, 3.0], np.float32), np.array([2.0, 2.0, 2.0], np.float32)
    expected = getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy()
    for result in (getattr(hpnn, name)(hpnn.tensor(a), hpnn.tensor(b)),
                   getattr(hpnn.tensor(a), name)(hpnn.tensor(b)),
                   getattr(hpnn.tensor(a), name)(2.0)):
        assert result.dtype == np.bool_
        np.testing.assert_array_equal(result.numpy(), expected)


@pytest.mark.parametrize("name,args", [("any", ()), ("all", ()), ("any", (1,)),
                                       ("all", (0, True))])
def test_any_all(name, args):
    data = np.array([[True, False], [True, True]])
    ours = getattr(hpnn.tensor(data), name)(*args)
    theirs = getattr(torch.tensor(data), name)(*args)
    assert ours.dtype == np.bool_ and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(getattr(hpnn, name)(hpnn.tensor(data), *args).numpy(),
                                  theirs.numpy())


def test_predicates():
    data = np.array([1.0, np.nan, np.inf, -np.inf], np.float32)
    for name in ("isnan", "isfinite", "isinf"):
        np.testing.assert_array_equal(getattr(hpnn, name)(hpnn.tensor(data)).numpy(),
                                      getattr(torch, name)(torch.tensor(data)).numpy())
        assert getattr(hpnn.tensor(data), name)().dtype == np.bool_


def test_bool_and_int_min_max():
    """min() of a bool tensor raised TypeError."""
    flags = hpnn.tensor([True, False, True])
    assert flags.min().item() is False and flags.max().item() is True
    values, indices = hpnn.tensor([[3, 1], [0, 5]]).max(1)
    np.testing.assert_array_equal(values.numpy(), [3, 5])
    assert indices.dtype == np.int64 and values.dtype == np.int64


def test_axis_alias_and_keepdim():
    x = hpnn.tensor(randn(3, 4))
    np.testing.assert_allclose(x.sum(axis=1).numpy(), x.sum(dim=1).numpy())
    np.testing.assert_allclose(hpnn.mean(x, axis=0, keepdim=True).numpy(),
                               x.numpy().mean(0, keepdims=True), rtol=1e-6)
    assert hpnn.max(x, axis=1).indices.shape == (3,)
    assert x.var(axis=1, keepdim=True).shape == (3, 1)
    assert x.cumsum(axis=0).shape == (3, 4)
    assert x.argmax(axis=1).shape == (3,)
    with pytest.raises(TypeError):
        x.sum(dim=0, axis=1)


def test_format_tolist_numel_size():
    loss = hpnn.tensor(0.123456)
    assert f"{loss:.4f}" == "0.1235" and f"{loss}" == f"{loss.item()}"
    with pytest.raises(TypeError):
        f"{hpnn.zeros(2):.4f}"
    x = hpnn.zeros(2, 3)
    assert x.tolist() == [[0.0] * 3] * 2 and hpnn.numel(x) == 6 == x.numel()
    assert x.size() == (2, 3) and x.size(1) == 3 and x.dim() == 2


def test_detach_and_requires_grad_in_place():
    x = hpnn.tensor(randn(3), requires_grad=True)
    y = x * 2
    assert y.detach_() is y and not y.requires_grad and y.grad_fn is None
    z = hpnn.zeros(2).requires_grad_()
    assert z.requires_grad


def test_creation_functions():
    hpnn.manual_seed(0)
    np.testing.assert_array_equal(hpnn.eye(3).numpy(), np.eye(3))
    assert hpnn.eye(2, 3).shape == (2, 3) and hpnn.eye(2).dtype == np.float32
    np.testing.assert_allclose(hpnn.linspace(0, 1, 5).numpy(), torch.linspace(0, 1, 5).numpy())
    x = hpnn.zeros(2, 3)
    assert hpnn.full_like(x, 7).numpy().tolist() == [[7.0] * 3] * 2
    for fn in (hpnn.randn_like, hpnn.rand_like, hpnn.empty_like):
        assert fn(x).shape == (2, 3) and fn(x).dtype == np.float32
    assert hpnn.empty(4, 2).shape == (4, 2) and hpnn.empty((3,)).shape == (3,)
    perm = hpnn.randperm(10)
    assert perm.dtype == np.int64 and sorted(perm.tolist()) == list(range(10))
    assert hpnn.eye(2, dtype="float64").dtype == np.float64


def test_new_methods_keep_dtype():
    x = hpnn.tensor([1, 2])  # int64
    assert x.new_zeros(2, 3).dtype == np.int64 and x.new_zeros((2, 3)).shape == (2, 3)
    f = hpnn.zeros(1)
    assert f.new_ones(2).numpy().tolist() == [1.0, 1.0] and f.new_ones(2).dtype == np.float32
    assert f.new_full((2,), 3.5).numpy().tolist() == [3.5, 3.5]
    assert f.new_empty(3).shape == (3,)
    made = f.new_tensor([1, 2])
    assert made.dtype == np.float32 and made.numpy().tolist() == [1.0, 2.0]
    assert not f.new_zeros(2).requires_grad and f.new_zeros(2, requires_grad=True).requires_grad


BAD = [
    ("squeeze_dim", lambda: hpnn.zeros(1, 2, 1, 3).squeeze(50), IndexError),
    ("squeeze_neg", lambda: hpnn.zeros(2, 3).squeeze(-3), IndexError),
    ("var_dim", lambda: hpnn.zeros(2, 3).var(2), IndexError),
    ("cumsum_dim", lambda: hpnn.zeros(2).cumsum(1), IndexError),
    ("gather_dim", lambda: hpnn.zeros(2, 3).gather(2, hpnn.tensor([[0]])), IndexError),
    ("gather_range", lambda: hpnn.zeros(2, 3).gather(1, hpnn.tensor([[3]])), IndexError),
    ("gather_float_index", lambda: hpnn.zeros(2, 3).gather(1, hpnn.tensor([[0.0]])), TypeError),
    ("gather_ndim", lambda: hpnn.zeros(2, 3).gather(1, hpnn.tensor([0])), hpnn.ShapeError),
    ("index_select_2d", lambda: hpnn.zeros(3).index_select(0, hpnn.tensor([[0]])), IndexError),
    ("index_select_range", lambda: hpnn.zeros(3).index_select(0, hpnn.tensor([3])), IndexError),
    ("split_sections", lambda: hpnn.zeros(4).split([1, 2]), hpnn.ShapeError),
    ("chunk_zero", lambda: hpnn.zeros(4).chunk(0), ValueError),
    ("narrow_range", lambda: hpnn.zeros(4).narrow(0, 3, 2), IndexError),
    ("expand_bad", lambda: hpnn.zeros(2, 3).expand(4, 3), hpnn.ShapeError),
    ("expand_fewer", lambda: hpnn.zeros(2, 3).expand(3), hpnn.ShapeError),
    ("repeat_fewer", lambda: hpnn.zeros(2, 3).repeat(2), hpnn.ShapeError),
    ("masked_fill_shape", lambda: hpnn.zeros(2, 3).masked_fill(hpnn.zeros(4) > 0, 1.0),
     hpnn.ShapeError),
    ("masked_fill_float_mask", lambda: hpnn.zeros(2).masked_fill(hpnn.zeros(2), 1.0),
     TypeError),
    ("tril_1d", lambda: hpnn.zeros(3).tril(), ValueError),
    ("topk_k", lambda: hpnn.zeros(3).topk(4), IndexError),
    ("mm_rank", lambda: hpnn.mm(hpnn.zeros(2, 3, 4), hpnn.zeros(4, 2)), hpnn.ShapeError),
    ("mm_shapes", lambda: hpnn.mm(hpnn.zeros(2, 3), hpnn.zeros(4, 2)), hpnn.ShapeError),
    ("bmm_batch", lambda: hpnn.bmm(hpnn.zeros(2, 3, 4), hpnn.zeros(3, 4, 2)), hpnn.ShapeError),
    ("einsum_operands", lambda: hpnn.einsum("ij,jk->ik", hpnn.zeros(2, 3)), ValueError),
    ("einsum_rank", lambda: hpnn.einsum("ij->i", hpnn.zeros(3)), hpnn.ShapeError),
    ("einsum_sizes", lambda: hpnn.einsum("ij,jk->ik", hpnn.zeros(2, 3), hpnn.zeros(4, 2)),
     hpnn.ShapeError),
    ("roll_lengths", lambda: hpnn.zeros(2, 3).roll((1, 2), 0), ValueError),
    ("norm_nuc", lambda: hpnn.zeros(2, 3).norm("nuc"), NotImplementedError),
    ("flip_dim", lambda: hpnn.zeros(2).flip(1), IndexError),
]


@pytest.mark.parametrize("name,call,error", BAD, ids=[b[0] for b in BAD])
def test_bad_arguments_raise(name, call, error):
    with pytest.raises(error):
        call()


# ---- finite differences in float64, on each Function's own forward/backward ------------------
def _check_vjp():
    """tests/reference/gradcheck.py's check_vjp (loaded by path: tests/ is not a package)."""
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).parents[1] / "reference" / "gradcheck.py"
    spec = importlib.util.spec_from_file_location("_gradcheck", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.check_vjp


def _run(cls, arrays, options, wanted):
    fn = cls()
    fn.needs_input_grad = tuple(i == wanted for i in range(len(arrays)))
    return fn, fn.forward(*arrays, **options)


def check_function_float64(cls, arrays, options):
    """Each input's gradient from cls.backward against central differences, all in float64."""
    check_vjp, rng = _check_vjp(), np.random.default_rng(0)
    arrays = [np.array(a, np.float64) for a in arrays]
    for i in range(len(arrays)):
        def backward(grad_y, i=i):
            fn, _ = _run(cls, arrays, options, i)
            grads = fn.backward(grad_y)
            return np.asarray((grads if isinstance(grads, tuple) else (grads,))[i])
        check_vjp(lambda i=i: _run(cls, arrays, options, i)[1], backward, arrays[i], rng)


def _grid(index, axis):
    grid = list(np.indices(np.shape(index), sparse=True))
    grid[axis] = np.asarray(index)
    return tuple(grid)


MIXED = np.array([[1.5, 0.0, -2.0], [0.5, 3.0, 2.0]])
FD64 = [
    ("var", R.Var, dict(axis=1, correction=1, keepdims=False), [randn(3, 4)]),
    ("var_all", R.Var, dict(axis=None, correction=0, keepdims=False), [randn(3, 4)]),
    ("prod_zero", R.Prod, dict(axis=1, keepdims=False), [MIXED]),
    ("prod_all", R.Prod, dict(axis=None, keepdims=True), [randn(2, 3)]),
    ("cumprod_zero", R.Cumprod, dict(axis=1), [MIXED]),
    ("cumprod", R.Cumprod, dict(axis=0), [randn(3, 2)]),
    ("cumsum", R.Cumsum, dict(axis=0), [randn(3, 4)]),
    ("logsumexp", R.LogSumExp, dict(axis=1, keepdims=False), [randn(3, 4)]),
    ("norm2", R.Norm2, dict(axis=(0, 1), keepdims=True), [randn(3, 4)]),
    ("erf", P.Erf, {}, [randn(3, 4)]),
    ("rsqrt", P.Rsqrt, {}, [np.abs(randn(3, 4)) + 0.5]),
    ("sin", P.Sin, {}, [randn(3)]), ("cos", P.Cos, {}, [randn(3)]),
    ("maximum", P.Extremum, dict(pick=np.maximum), [randn(3, 4), randn(4)]),
    ("einsum", L.Einsum, dict(terms=["bij", "bkj"], output="bik"),
     [randn(2, 3, 4), randn(2, 2, 4)]),
    ("einsum_sum_one", L.Einsum, dict(terms=["ij", "k"], output="k"), [randn(2, 3), randn(4)]),
    ("gather", I.Gather, dict(grid=_grid([[0, 0], [2, 1]], 1)), [randn(2, 3)]),
    ("scatter_add", I.Scatter, dict(grid=_grid([[1, 0], [1, 1]], 0), add=True),
     [randn(2, 2), randn(2, 2)]),
    ("scatter", I.Scatter, dict(grid=_grid([[1, 0]], 0), add=False), [randn(2, 2), randn(2, 2)]),
    ("repeat", I.Repeat, dict(repeats=(2, 1, 3)), [randn(2, 2)]),
    ("roll", I.Roll, dict(shifts=(1,), axes=(0,)), [randn(3, 2)]),
    ("expand", I.Expand, dict(shape=(2, 3, 4)), [randn(3, 1)]),
    ("index_select", I.IndexSelect, dict(index=np.array([2, 0, 2]), axis=1), [randn(2, 3)]),
]


@pytest.mark.parametrize("name,cls,options,arrays", FD64, ids=[g[0] for g in FD64])
def test_finite_differences_float64(name, cls, options, arrays):
    check_function_float64(cls, arrays, options)

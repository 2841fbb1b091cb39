"""dtypes as PyTorch's: the dtype objects, creation, promotion, casts, and float64 training
(module.double(), LBFGS on an LSTMCell) against torch in float64."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn

torch = pytest.importorskip("torch", reason="torch is the oracle for dtype semantics")

NAMES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _torch_name(t):
    return str(t.dtype).replace("torch.", "")


def _ours_name(t):
    return str(t.dtype).replace("hpnn.", "")


@pytest.mark.parametrize("name", NAMES)
def test_dtype_objects(name):
    ours, theirs = getattr(hpnn, name), getattr(torch, name)
    assert repr(ours) == f"hpnn.{name}"
    assert ours.is_floating_point == theirs.is_floating_point
    assert ours.itemsize == theirs.itemsize
    assert ours == np.dtype(name if name != "bool" else np.bool_) and ours == ours
    assert np.dtype(ours) == np.dtype(ours.dtype)


def test_aliases_and_default_dtype():
    assert hpnn.float is hpnn.float32 and hpnn.double is hpnn.float64
    assert hpnn.half is hpnn.float16 and hpnn.long is hpnn.int64
    assert hpnn.int is hpnn.int32 and hpnn.short is hpnn.int16
    assert hpnn.float32 != hpnn.float64
    assert hpnn.get_default_dtype() is hpnn.float32
    hpnn.set_default_dtype(hpnn.float64)
    try:
        assert hpnn.tensor([1.5]).dtype is hpnn.float64
        assert hpnn.zeros(2).dtype is hpnn.float64
    finally:
        hpnn.set_default_dtype(hpnn.float32)
    assert hpnn.tensor([1.5]).dtype is hpnn.float32
    with pytest.raises(NotImplementedError):
        hpnn.zeros(2, dtype=hpnn.bfloat16)


CREATIONS = [
    ("tensor", lambda lib: lib.tensor([1.5, 2.0])),
    ("tensor ints", lambda lib: lib.tensor([1, 2])),
    ("tensor bools", lambda lib: lib.tensor([True])),
    ("tensor float64 array", lambda lib: lib.tensor(np.ones(2))),
    ("from_numpy float64", lambda lib: lib.from_numpy(np.ones(2))),
    ("from_numpy float32", lambda lib: lib.from_numpy(np.ones(2, np.float32))),
    ("zeros", lambda lib: lib.zeros(2)),
    ("zeros double", lambda lib: lib.zeros(2, dtype=lib.float64)),
    ("ones long", lambda lib: lib.ones(2, dtype=lib.long)),
    ("full int", lambda lib: lib.full((2,), 3)),
    ("full float", lambda lib: lib.full((2,), 3.0)),
    ("full dtype", lambda lib: lib.full((2,), 3, dtype=lib.float64)),
    ("empty int32", lambda lib: lib.empty(2, dtype=lib.int32)),
    ("arange int", lambda lib: lib.arange(5)),
    ("arange float", lambda lib: lib.arange(0.0, 1.0, 0.25)),
    ("arange dtype", lambda lib: lib.arange(5, dtype=lib.float64)),
    ("rand double", lambda lib: lib.rand(2, dtype=lib.double)),
    ("randn double", lambda lib: lib.randn(2, dtype=lib.double)),
    ("randint", lambda lib: lib.randint(0, 5, (3,))),
    ("eye double", lambda lib: lib.eye(2, dtype=lib.float64)),
    ("linspace double", lambda lib: lib.linspace(0, 1, 3, dtype=lib.float64)),
    ("zeros_like keeps", lambda lib: lib.zeros_like(lib.ones(2, dtype=lib.float64))),
    ("ones_like dtype", lambda lib: lib.ones_like(lib.ones(2), dtype=lib.int64)),
    ("new_zeros", lambda lib: lib.ones(2, dtype=lib.float64).new_zeros(3)),
    ("comparison", lambda lib: lib.ones(2) > 0),
    ("argmax", lambda lib: lib.ones(2).argmax()),
    ("max indices", lambda lib: lib.ones(2, 2).max(1)[1]),
]


@pytest.mark.parametrize("name, make", CREATIONS, ids=[c[0] for c in CREATIONS])
def test_creation_dtypes_match_torch(name, make):
    assert _ours_name(make(hpnn)) == _torch_name(make(torch))


PAIRS = [("float32", "float64"), ("float32", "int64"), ("int64", "float64"), ("int64", "int64"),
         ("float32", "bool"), ("int32", "int64"), ("float64", "float64"), ("uint8", "int64")]


@pytest.mark.parametrize("a, b", PAIRS)
@pytest.mark.parametrize("op", ["add", "mul", "sub"])
def test_promotion_matches_torch(a, b, op):
    def run(lib):
        x = lib.ones(3, dtype=getattr(lib, a))
        y = lib.ones(3, dtype=getattr(lib, b))
        return getattr(x, op)(y) if (a, b) != ("float32", "bool") or op != "sub" else x + y
    assert _ours_name(run(hpnn)) == _torch_name(run(torch))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_python_scalars_do_not_promote(dtype):
    for scalar in (2, 2.5):
        ours = hpnn.ones(2, dtype=getattr(hpnn, dtype)) * scalar
        theirs = torch.ones(2, dtype=getattr(torch, dtype)) * scalar
        assert _ours_name(ours) == _torch_name(theirs)


CASTS = ["double", "float", "half", "long", "int", "short", "bool", "byte"]


@pytest.mark.parametrize("cast", CASTS)
def test_casts_match_torch(cast):
    data = np.array([-1.5, 0.0, 2.75], np.float32)
    ours = getattr(hpnn.tensor(data), cast)()
    theirs = getattr(torch.tensor(data), cast)()
    assert _ours_name(ours) == _torch_name(theirs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_to_and_type():
    x = hpnn.tensor([1.0, 2.0])
    assert x.to(hpnn.float64).dtype is hpnn.float64
    assert x.to("cpu", hpnn.int64).dtype is hpnn.int64
    assert x.to(dtype=hpnn.float64).dtype is hpnn.float64
    assert x.type() == "hpnn.FloatTensor" and x.double().type() == "hpnn.DoubleTensor"
    assert x.type(hpnn.float64).dtype is hpnn.float64
    assert x.to(x) is x and hpnn.is_floating_point(x) and not hpnn.is_floating_point(x.long())
    assert hpnn.LongTensor([1, 2]).dtype is hpnn.int64
    assert hpnn.FloatTensor(2, 3).shape == (2, 3)
    assert isinstance(x, hpnn.FloatTensor) and not isinstance(x, hpnn.DoubleTensor)


def test_cast_is_differentiable_between_float_dtypes():
    x = hpnn.tensor([1.0, 2.0], requires_grad=True)
    y = (x.double() * 3).sum()
    assert y.dtype is hpnn.float64
    y.backward()
    assert x.grad.dtype is hpnn.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3, 3])


def test_mixed_dtype_kernel_op_raises_like_torch():
    layer = nn.Linear(3, 2)
    x = hpnn.tensor(np.ones((1, 3)))  # float64, as numpy made it
    with pytest.raises(RuntimeError, match="float32 and float64") as info:
        layer(x)
    assert isinstance(info.value, TypeError)
    with pytest.raises(RuntimeError):
        torch.nn.Linear(3, 2)(torch.tensor(np.ones((1, 3))))


def _twin_models(seed=0):
    torch.manual_seed(seed)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    ours = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours.double(), theirs.double()


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_double_module_training_step_matches_torch(optimizer):
    ours, theirs = _twin_models()
    assert all(p.dtype is hpnn.float64 for p in ours.parameters())
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 1))
    opt_o = getattr(hpnn.optim, optimizer)(ours.parameters(), lr=0.1)
    opt_t = getattr(torch.optim, optimizer)(theirs.parameters(), lr=0.1)
    for _ in range(3):
        opt_o.zero_grad()
        opt_t.zero_grad()
        loss_o = hpnn.nn.functional.mse_loss(ours(hpnn.tensor(x)), hpnn.tensor(y))
        loss_t = torch.nn.functional.mse_loss(theirs(torch.tensor(x)), torch.tensor(y))
        assert loss_o.dtype is hpnn.float64
        loss_o.backward()
        loss_t.backward()
        opt_o.step()
        opt_t.step()
        np.testing.assert_allclose(loss_o.item(), loss_t.item(), rtol=1e-10)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert p.grad.dtype is hpnn.float64, name
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-10, atol=1e-12)


class _Sequence:
    """time_sequence_prediction's model: two LSTMCells and a Linear, in double."""

    def __init__(self, lib):
        self.lib = lib
        self.lstm1, self.lstm2 = lib.nn.LSTMCell(1, 8), lib.nn.LSTMCell(8, 8)
        self.linear = lib.nn.Linear(8, 1)

    def modules(self):
        return [self.lstm1, self.lstm2, self.linear]

    def __call__(self, x):
        lib, n = self.lib, x.size(0)
        h, c = lib.zeros(n, 8, dtype=lib.double), lib.zeros(n, 8, dtype=lib.double)
        h2, c2 = lib.zeros(n, 8, dtype=lib.double), lib.zeros(n, 8, dtype=lib.double)
        outputs = []
        for step in x.split(1, dim=1):
            h, c = self.lstm1(step, (h, c))
            h2, c2 = self.lstm2(h, (h2, c2))
            outputs.append(self.linear(h2))
        return lib.cat(outputs, dim=1)


def test_lstm_cell_in_double_with_lbfgs_matches_torch():
    torch.manual_seed(0)
    theirs, ours = _Sequence(torch), _Sequence(hpnn)
    for mine, other in zip(ours.modules(), theirs.modules()):
        other.double()
        mine.load_state_dict({k: v.numpy() for k, v in other.state_dict().items()})
        mine.double()
    t = np.arange(12, dtype=np.float64)
    data = np.sin(np.stack([t + k for k in range(3)]) / 4)
    x, y = data[:, :-1], data[:, 1:]

    def train(model, lib):
        params = [p for m in model.modules() for p in m.parameters()]
        opt = lib.optim.LBFGS(params, lr=0.8)
        losses = []
        for _ in range(2):
            def closure():
                opt.zero_grad()
                loss = lib.nn.functional.mse_loss(model(lib.tensor(x)), lib.tensor(y))
                loss.backward()
                return loss
            losses.append(opt.step(closure).item())
        return losses, params

    losses_o, params_o = train(ours, hpnn)
    losses_t, params_t = train(theirs, torch)
    np.testing.assert_allclose(losses_o, losses_t, rtol=1e-8)
    for p, q in zip(params_o, params_t):
        assert p.dtype is hpnn.float64
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-7, atol=1e-9)


def test_keras_style_fit_casts_float64_inputs_to_float32():
    from hpnn.training import _keras_array
    assert _keras_array(np.ones(3)).dtype == np.float32
    assert _keras_array(np.ones(3, np.int32)).dtype == np.int64

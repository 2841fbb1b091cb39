"""``p.data`` as PyTorch's (a tensor sharing storage, without grad), the in-place methods
against torch, the saved-tensor version check, and seeded random fills."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn

torch = pytest.importorskip("torch", reason="torch is the oracle for in-place semantics")

RNG = np.random.default_rng(0)
A = RNG.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
B = RNG.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
C = RNG.uniform(0.5, 2.0, (4,)).astype(np.float32)
MASK = RNG.random((3, 4)) > 0.5

CALLS = [
    ("add_", lambda lib, x: x.add_(lib.tensor(B))),
    ("add_ alpha", lambda lib, x: x.add_(lib.tensor(B), alpha=-0.5)),
    ("add_ broadcast", lambda lib, x: x.add_(lib.tensor(C))),
    ("add_ scalar", lambda lib, x: x.add_(2)),
    ("sub_ alpha", lambda lib, x: x.sub_(lib.tensor(B), alpha=2)),
    ("mul_", lambda lib, x: x.mul_(lib.tensor(B))),
    ("mul_ scalar", lambda lib, x: x.mul_(0.5)),
    ("div_", lambda lib, x: x.div_(lib.tensor(B))),
    ("div_ floor", lambda lib, x: x.div_(lib.tensor(B), rounding_mode="floor")),
    ("addcmul_", lambda lib, x: x.addcmul_(lib.tensor(B), lib.tensor(C), value=0.3)),
    ("addcdiv_", lambda lib, x: x.addcdiv_(lib.tensor(B), lib.tensor(C), value=-0.3)),
    ("lerp_", lambda lib, x: x.lerp_(lib.tensor(B), 0.25)),
    ("clamp_", lambda lib, x: x.clamp_(0.8, 1.5)),
    ("clamp_ min", lambda lib, x: x.clamp_(min=1.0)),
    ("clamp_min_", lambda lib, x: x.clamp_min_(1.0)),
    ("clamp_max_", lambda lib, x: x.clamp_max_(1.0)),
    ("copy_", lambda lib, x: x.copy_(lib.tensor(B))),
    ("copy_ broadcast", lambda lib, x: x.copy_(lib.tensor(C))),
    ("zero_", lambda lib, x: x.zero_()),
    ("fill_", lambda lib, x: x.fill_(1.25)),
    ("sqrt_", lambda lib, x: x.sqrt_()),
    ("exp_", lambda lib, x: x.exp_()),
    ("log_", lambda lib, x: x.log_()),
    ("abs_", lambda lib, x: x.neg_().abs_()),
    ("neg_", lambda lib, x: x.neg_()),
    ("pow_", lambda lib, x: x.pow_(3)),
    ("pow_ tensor", lambda lib, x: x.pow_(lib.tensor(B))),
    ("reciprocal_", lambda lib, x: x.reciprocal_()),
    ("floor_", lambda lib, x: x.floor_()),
    ("sigmoid_", lambda lib, x: x.sigmoid_()),
    ("tanh_", lambda lib, x: x.tanh_()),
    ("masked_fill_", lambda lib, x: x.masked_fill_(lib.tensor(MASK), -1.0)),
    ("masked_fill", lambda lib, x: x.masked_fill(lib.tensor(MASK), 0.0)),
]


@pytest.mark.parametrize("name, call", CALLS, ids=[c[0] for c in CALLS])
def test_inplace_method_matches_torch(name, call):
    ours, theirs = hpnn.tensor(A.copy()), torch.tensor(A.copy())
    out_o, out_t = call(hpnn, ours), call(torch, theirs)
    if name.endswith("_"):
        assert out_o is ours
    np.testing.assert_allclose(out_o.numpy(), out_t.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_data_is_a_detached_tensor_sharing_storage():
    p = nn.Parameter(np.ones(3, np.float32))
    p.grad = hpnn.tensor([1.0, 2.0, 3.0])
    data = p.data
    assert isinstance(data, hpnn.Tensor) and not data.requires_grad and data.grad_fn is None
    assert np.shares_memory(data.numpy(), p.numpy())
    p.data.add_(p.grad, alpha=-0.1)  # the SGD step of pytorch/examples
    np.testing.assert_allclose(p.numpy(), [0.9, 0.8, 0.7])
    p.data.copy_(hpnn.zeros(3))
    p.data.normal_(0, 0.02)
    assert p.requires_grad and p.is_leaf and float(p.numpy().std()) > 0
    with pytest.raises(RuntimeError, match="leaf"):
        p.add_(1.0)  # on the parameter itself, outside no_grad, as PyTorch
    with hpnn.no_grad():
        p.add_(1.0)


def test_data_assignment_replaces_storage():
    p = nn.Parameter(np.zeros(2, np.float32))
    other = hpnn.tensor([5.0, 6.0, 7.0], dtype=hpnn.float64)
    p.data = other
    assert p.shape == (3,) and p.dtype is hpnn.float64 and p.requires_grad
    assert np.shares_memory(p.numpy(), other.numpy())
    theirs = torch.nn.Parameter(torch.zeros(2))
    theirs.data = torch.tensor([5.0, 6.0, 7.0], dtype=torch.float64)
    assert tuple(theirs.shape) == p.shape


def test_sgd_written_with_p_data_matches_torch():
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    for model, lib in ((ours, hpnn), (theirs, torch)):
        for _ in range(3):
            model.zero_grad()
            model(lib.tensor(x)).pow(2).sum().backward()
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-0.01)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-5)


def _modify_saved_input(lib):
    x = lib.ones(3, requires_grad=True)
    y = x * 2
    z = y * y  # saves y for its backward
    with lib.no_grad():
        y.add_(1)
    z.sum().backward()


def test_version_check_raises_as_torch():
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        _modify_saved_input(torch)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        _modify_saved_input(hpnn)


def test_version_counter_counts_writes():
    x = hpnn.zeros(3)
    x.add_(1)
    x.mul_(2)
    x[0] = 5
    assert x._version == 3
    y = hpnn.ones(3, requires_grad=True)
    z = (y * 2).exp()  # exp saves its output, not the modified input: no error, as torch
    with hpnn.no_grad():
        (y * 2).add_(1)
    z.sum().backward()


def test_random_fills_follow_manual_seed():
    def draw():
        hpnn.manual_seed(7)
        return (hpnn.empty(4).normal_(1.0, 0.5).numpy(), hpnn.empty(4).uniform_(-2, 2).numpy(),
                hpnn.empty(4, dtype=hpnn.float64).normal_().numpy())
    first, second = draw(), draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert first[2].dtype == np.float64
    assert ((first[1] >= -2) & (first[1] < 2)).all()
    bits = hpnn.empty(1000).bernoulli_(0.25).numpy()
    assert set(np.unique(bits)) <= {0.0, 1.0}

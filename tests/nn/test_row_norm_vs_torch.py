"""nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm and their functional forms against PyTorch: the
same weights in, outputs and gradients (input and parameters) equal to float32 tolerance, and
state dicts that load both ways."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
import hpnn.nn.functional as F

torch = pytest.importorskip("torch", reason="PyTorch is the oracle of these parity tests")


def run_both(ours, theirs, x, seed=0):
    """Forward and backward of both modules on x with the same upstream gradient; copies our
    parameters into theirs first. -> ((y, grad_x, param grads), same for torch)."""
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.numpy()))
                            for k, v in ours.state_dict().items()})
    grad_y = np.random.default_rng(seed).standard_normal(x.shape).astype(np.float32)
    xh = hpnn.tensor(x, requires_grad=True)
    y = ours(xh)
    (y * hpnn.tensor(grad_y)).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    yt.backward(torch.from_numpy(grad_y))
    mine = [y.numpy(), xh.grad.numpy()] + [p.grad.numpy() for p in ours.parameters()]
    torch_side = [yt.detach().numpy(), xt.grad.numpy()] + [p.grad.numpy()
                                                           for p in theirs.parameters()]
    return mine, torch_side


def assert_all_close(mine, theirs):
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs):
        scale = max(1.0, float(np.abs(b).max()))
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-5 * scale)


@pytest.mark.parametrize("shape,normalized,kwargs", [
    ((4, 10), 10, {}), ((2, 3, 8), (8,), {}), ((2, 3, 4, 5), (4, 5), {}),
    ((5, 7), (7,), dict(elementwise_affine=False)), ((5, 7), (7,), dict(bias=False)),
    ((6, 129), (129,), dict(eps=1e-3)), ((3, 1), (1,), {})], ids=str)
def test_layer_norm_matches_torch(shape, normalized, kwargs):
    rng = np.random.default_rng(1)
    ours = nn.LayerNorm(normalized, **kwargs)
    for p in ours.parameters():
        p.numpy()[...] = rng.standard_normal(p.shape)
    theirs = torch.nn.LayerNorm(normalized, **kwargs)
    x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
    assert_all_close(*run_both(ours, theirs, x))
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_layer_norm_attributes_and_state_dict_match_torch():
    ours, theirs = nn.LayerNorm((3, 4), eps=1e-6), torch.nn.LayerNorm((3, 4), eps=1e-6)
    assert ours.normalized_shape == theirs.normalized_shape
    assert ours.eps == theirs.eps and ours.elementwise_affine == theirs.elementwise_affine
    for name, value in theirs.state_dict().items():
        assert ours.state_dict()[name].shape == tuple(value.shape)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})


def test_functional_layer_norm_with_bias_only_matches_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    xh, bh = hpnn.tensor(x, requires_grad=True), hpnn.tensor(b, requires_grad=True)
    xt, bt = torch.tensor(x, requires_grad=True), torch.tensor(b, requires_grad=True)
    (F.layer_norm(xh, (6,), None, bh) ** 2).sum().backward()
    (torch.nn.functional.layer_norm(xt, (6,), None, bt) ** 2).sum().backward()
    assert_all_close([xh.grad.numpy(), bh.grad.numpy()], [xt.grad.numpy(), bt.grad.numpy()])


def test_layer_norm_rejects_wrong_trailing_shape():
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(5)(hpnn.tensor(np.zeros((2, 4), np.float32)))


@pytest.mark.parametrize("groups,channels,shape,kwargs", [
    (2, 4, (3, 4, 5, 6), {}), (1, 6, (2, 6, 7), {}), (6, 6, (2, 6, 3, 3), {}),
    (3, 6, (4, 6), {}), (2, 4, (2, 4, 9), dict(affine=False)), (4, 8, (2, 8, 5), dict(eps=1e-3)),
    (2, 4, (2, 4, 3), dict(bias=False))],
    ids=str)
def test_group_norm_matches_torch(groups, channels, shape, kwargs):
    rng = np.random.default_rng(3)
    ours = nn.GroupNorm(groups, channels, **kwargs)
    for p in ours.parameters():
        p.numpy()[...] = rng.standard_normal(p.shape)
    theirs = torch.nn.GroupNorm(groups, channels, **kwargs)
    x = (rng.standard_normal(shape) * 2 - 1).astype(np.float32)
    assert_all_close(*run_both(ours, theirs, x))
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("cls,channels,shape,kwargs", [
    ("InstanceNorm2d", 4, (3, 4, 5, 6), {}), ("InstanceNorm2d", 3, (2, 3, 4, 4), dict(affine=True)),
    ("InstanceNorm2d", 3, (3, 5, 6), {}), ("InstanceNorm1d", 3, (2, 3, 9), dict(affine=True))],
    ids=str)
def test_instance_norm_matches_torch(cls, channels, shape, kwargs):
    rng = np.random.default_rng(4)
    ours = getattr(nn, cls)(channels, **kwargs)
    for p in ours.parameters():
        p.numpy()[...] = rng.standard_normal(p.shape)
    theirs = getattr(torch.nn, cls)(channels, **kwargs)
    x = (rng.standard_normal(shape) + 3).astype(np.float32)
    assert_all_close(*run_both(ours, theirs, x))
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("momentum", [0.1, None])
def test_instance_norm_with_running_stats_matches_torch(momentum):
    """Training updates the running statistics as PyTorch does; eval then normalises with
    them (outputs and input gradients compared)."""
    rng = np.random.default_rng(5)
    ours = nn.InstanceNorm2d(3, momentum=momentum, affine=True, track_running_stats=True)
    theirs = torch.nn.InstanceNorm2d(3, momentum=momentum, affine=True,
                                     track_running_stats=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for _ in range(2):
        x = (rng.standard_normal((4, 3, 5, 5)) * 2 + 1).astype(np.float32)
        assert_all_close(*run_both(ours, theirs, x))
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(getattr(ours, name).numpy(),
                                       getattr(theirs, name).numpy(), rtol=1e-5, atol=1e-6)
    ours.eval(), theirs.eval()
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    assert_all_close(*run_both(ours, theirs, x))


def test_group_norm_rejects_bad_groups():
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="num_groups"):
        F.group_norm(hpnn.tensor(np.zeros((2, 6, 3), np.float32)), 4)

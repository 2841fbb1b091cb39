"""nn.LayerNorm and F.layer_norm against PyTorch: the
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
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.data))
                            for k, v in ours.state_dict().items()})
    grad_y = np.random.default_rng(seed).standard_normal(x.shape).astype(np.float32)
    xh = hpnn.tensor(x, requires_grad=True)
    y = ours(xh)
    (y * hpnn.tensor(grad_y)).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    yt.backward(torch.from_numpy(grad_y))
    mine = [y.data, xh.grad.data] + [p.grad.data for p in ours.parameters()]
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
        p.data[...] = rng.standard_normal(p.shape)
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
    assert_all_close([xh.grad.data, bh.grad.data], [xt.grad.numpy(), bt.grad.numpy()])


def test_layer_norm_rejects_wrong_trailing_shape():
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(5)(hpnn.tensor(np.zeros((2, 4), np.float32)))

"""nn.Embedding and F.embedding against PyTorch: the same table in, outputs and gradients equal,
padding_idx, max_norm (rows renormalised in place), scale_grad_by_freq, from_pretrained, and
state dicts that load both ways."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
import hpnn.nn.functional as F

torch = pytest.importorskip("torch", reason="PyTorch is the oracle of these parity tests")


def pair(num, dim, **kwargs):
    ours = nn.Embedding(num, dim, **kwargs)
    theirs = torch.nn.Embedding(num, dim, **kwargs)
    theirs.load_state_dict({"weight": torch.from_numpy(ours.weight.numpy().copy())})
    return ours, theirs


def step(ours, theirs, indices, seed=0):
    grad_y = np.random.default_rng(seed).standard_normal(indices.shape + (ours.embedding_dim,))
    grad_y = grad_y.astype(np.float32)
    y = ours(hpnn.tensor(indices))
    (y * hpnn.tensor(grad_y)).sum().backward()
    yt = theirs(torch.from_numpy(indices))
    yt.backward(torch.from_numpy(grad_y))
    grad_t = theirs.weight.grad
    grad_t = grad_t.to_dense() if grad_t.is_sparse else grad_t
    return y.numpy(), ours.weight.grad.numpy(), yt.detach().numpy(), grad_t.numpy()


@pytest.mark.parametrize("kwargs", [{}, dict(padding_idx=2), dict(padding_idx=-1),
                                    dict(scale_grad_by_freq=True),
                                    dict(max_norm=1.5), dict(max_norm=0.5, norm_type=1.0),
                                    dict(sparse=True)], ids=str)
@pytest.mark.parametrize("dtype", [np.int64, np.int32], ids=["int64", "int32"])
def test_embedding_matches_torch(kwargs, dtype):
    ours, theirs = pair(12, 5, **kwargs)
    indices = np.random.default_rng(1).integers(0, 12, size=(4, 6)).astype(dtype)
    indices[0, :3] = 11  # repeats, and the padding row for padding_idx=-1
    indices[1, 0] = 2
    y, grad, yt, grad_t = step(ours, theirs, indices)
    np.testing.assert_allclose(y, yt, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad, grad_t, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-6,
                               atol=1e-7)  # max_norm rescaled the same rows in place


def test_init_zeroes_the_padding_row_and_is_standard_normal():
    layer = nn.Embedding(2000, 50, padding_idx=3)
    assert not layer.weight.numpy()[3].any()
    rest = np.delete(layer.weight.numpy(), 3, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01
    assert list(layer.state_dict()) == ["weight"]


def test_from_pretrained_freezes_by_default():
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    frozen = nn.Embedding.from_pretrained(hpnn.tensor(table))
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(hpnn.tensor(np.array([2, 0]))).numpy(), table[[2, 0]])
    trainable = nn.Embedding.from_pretrained(hpnn.tensor(table), freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and trainable.padding_idx == 1
    theirs = torch.nn.Embedding.from_pretrained(torch.from_numpy(table), freeze=False,
                                                padding_idx=1)
    assert theirs.padding_idx == trainable.padding_idx


def test_functional_embedding_matches_torch():
    rng = np.random.default_rng(2)
    table = rng.standard_normal((7, 4)).astype(np.float32)
    indices = np.array([[1, 6], [6, 0]])
    w = hpnn.tensor(table, requires_grad=True)
    wt = torch.tensor(table, requires_grad=True)
    (F.embedding(hpnn.tensor(indices), w, padding_idx=6) ** 2).sum().backward()
    (torch.nn.functional.embedding(torch.from_numpy(indices), wt, padding_idx=6) ** 2).sum() \
        .backward()
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-6)


def test_out_of_range_index_raises_index_error():
    layer = nn.Embedding(5, 2)
    with pytest.raises(IndexError, match="indices"):
        layer(hpnn.tensor(np.array([0, 5])))
    with pytest.raises(IndexError, match="indices"):
        layer(hpnn.tensor(np.array([-1])))
    with pytest.raises(TypeError, match="input"):
        layer(hpnn.tensor(np.array([0.0, 1.0], np.float32)))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 2, padding_idx=5)

"""RNN/LSTM/GRU and cells against PyTorch (weights loaded from torch's state dict)."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn

torch = pytest.importorskip("torch")


def _as_list(out):
    if isinstance(out, tuple):
        return [t for item in out for t in _as_list(item)]
    return [out]


def _check(torch_module, module, x, hx=None):
    module.load_state_dict({k: v.numpy() for k, v in torch_module.state_dict().items()})
    xt, xh = torch.tensor(x, requires_grad=True), hpnn.tensor(x, requires_grad=True)
    to_torch = (lambda h: tuple(torch.tensor(a) for a in h)) if isinstance(hx, tuple) else torch.tensor
    to_hpnn = (lambda h: tuple(hpnn.tensor(a) for a in h)) if isinstance(hx, tuple) else hpnn.tensor
    args_t = (xt,) if hx is None else (xt, to_torch(hx))
    args_h = (xh,) if hx is None else (xh, to_hpnn(hx))
    outs_t, outs_h = _as_list(torch_module(*args_t)), _as_list(module(*args_h))
    assert len(outs_t) == len(outs_h)
    total_t = total_h = 0
    for i, (a, b) in enumerate(zip(outs_t, outs_h)):
        np.testing.assert_allclose(b.numpy(), a.detach().numpy(), rtol=1e-4, atol=1e-5)
        weights = np.random.default_rng(i).standard_normal(tuple(a.shape)).astype(np.float32)
        total_t = total_t + (a * torch.tensor(weights)).sum()
        total_h = total_h + (b * hpnn.tensor(weights)).sum()
    total_t.backward()
    total_h.backward()
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-5)
    torch_params = dict(torch_module.named_parameters())
    for name, param in module.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), torch_params[name].grad.numpy(),
                                   rtol=1e-3, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("options", [
    {}, {"num_layers": 2, "bidirectional": True}, {"batch_first": True, "bias": False},
])
def test_sequence_layers(kind, options):
    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((5, 3, 4)).astype(np.float32)
    _check(getattr(torch.nn, kind)(4, 6, **options), getattr(nn, kind)(4, 6, **options), x)


def test_relu_rnn_with_initial_state_and_unbatched_input():
    torch.manual_seed(1)
    h0 = np.random.default_rng(1).standard_normal((2, 3, 5)).astype(np.float32)
    x = np.random.default_rng(2).standard_normal((4, 3, 2)).astype(np.float32)
    _check(torch.nn.RNN(2, 5, num_layers=2, nonlinearity="relu"),
           nn.RNN(2, 5, num_layers=2, nonlinearity="relu"), x, h0)
    _check(torch.nn.GRU(2, 5), nn.GRU(2, 5), x[:, 0])


def test_lstm_with_initial_states():
    torch.manual_seed(2)
    rng = np.random.default_rng(3)
    hx = tuple(rng.standard_normal((2, 3, 4)).astype(np.float32) for _ in range(2))
    x = rng.standard_normal((6, 3, 5)).astype(np.float32)
    _check(torch.nn.LSTM(5, 4, bidirectional=True), nn.LSTM(5, 4, bidirectional=True), x, hx)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells(kind):
    torch.manual_seed(3)
    x = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)
    _check(getattr(torch.nn, kind)(4, 5), getattr(nn, kind)(4, 5), x)


def test_parameter_names_and_errors():
    names = [n for n, _ in nn.LSTM(3, 4, num_layers=2, bidirectional=True).named_parameters()]
    assert names[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert "weight_ih_l1_reverse" in names and len(names) == 16
    with pytest.raises(ValueError, match="input"):
        nn.GRU(3, 4)(hpnn.randn(5, 2, 7))
    with pytest.raises(ValueError, match="hidden_size"):
        nn.RNN(3, 0)

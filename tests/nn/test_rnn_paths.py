"""Recurrent layers against PyTorch on the paths the layers take without copies: gradients
through only some of (output, h_n, c_n), states given or not (zeros without a node),
batch_first folded into the first / last layer's node, and the numpy backend."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn

torch = pytest.importorskip("torch")


def _pair(kind, options, seed=0):
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, kind)(4, 5, **options)
    ours = getattr(nn, kind)(4, 5, **options)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def _outputs(out):
    """[output, h_n] or [output, h_n, c_n]; a cell's [h'] or [h', c']."""
    if not isinstance(out, tuple):
        return [out]
    first, rest = out
    return [first, *rest] if isinstance(rest, tuple) else [first, rest]


def _compare(theirs, ours, x, hx, picks, weights_seed=0):
    """Forward values of every output, then the gradients of sum(w * picked outputs) w.r.t. x,
    the initial states and every parameter."""
    xt, xh = torch.tensor(x, requires_grad=True), hpnn.tensor(x, requires_grad=True)
    hx_t = hx_h = None
    if hx is not None:
        hx_t = tuple(torch.tensor(a, requires_grad=True) for a in hx)
        hx_h = tuple(hpnn.tensor(a, requires_grad=True) for a in hx)
    single_state = hx is not None and len(hx) == 1
    outs_t = _outputs(theirs(xt, *(() if hx is None else (hx_t[0] if single_state else hx_t,))))
    outs_h = _outputs(ours(xh, *(() if hx is None else (hx_h[0] if single_state else hx_h,))))
    assert [tuple(a.shape) for a in outs_t] == [tuple(b.shape) for b in outs_h]
    for a, b in zip(outs_t, outs_h):
        np.testing.assert_allclose(b.numpy(), a.detach().numpy(), rtol=1e-4, atol=1e-5)
    rng = np.random.default_rng(weights_seed)
    total_t = total_h = 0
    for i in picks:
        w = rng.standard_normal(tuple(outs_t[i].shape)).astype(np.float32)
        total_t = total_t + (outs_t[i] * torch.tensor(w)).sum()
        total_h = total_h + (outs_h[i] * hpnn.tensor(w)).sum()
    total_t.backward()
    total_h.backward()
    pairs = [(xh, xt)] + (list(zip(hx_h, hx_t)) if hx is not None else [])
    for i, (ours_grad, their_grad) in enumerate(pairs):
        np.testing.assert_allclose(ours_grad.grad.numpy(), their_grad.grad.numpy(), rtol=1e-3,
                                   atol=1e-5, err_msg=f"input {i}")
    their_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), their_params[name].grad.numpy(),
                                   rtol=1e-3, atol=1e-5, err_msg=name)


def _states(kind, options, batch, seed=1):
    layers = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    rng = np.random.default_rng(seed)
    count = 2 if kind == "LSTM" else 1
    return tuple(rng.standard_normal((layers, batch, 5)).astype(np.float32)
                 for _ in range(count))


OPTIONS = [{}, {"batch_first": True}, {"num_layers": 2, "bidirectional": True},
           {"batch_first": True, "num_layers": 2, "bidirectional": True},
           {"batch_first": True, "num_layers": 3, "bias": False}]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("given", [False, True], ids=["no_hx", "hx"])
def test_each_output_alone(kind, options, given):
    x = np.random.default_rng(2).standard_normal((3, 6, 4)).astype(np.float32)
    batch = 3 if options.get("batch_first") else 6
    hx = _states(kind, options, batch) if given else None
    for picks in ([0], [1], [2], [1, 2]) if kind == "LSTM" else ([0], [1]):
        theirs, ours = _pair(kind, options)
        _compare(theirs, ours, x, hx, picks)


def test_last_step_of_batch_first_output_only():
    """The E3 benchmark's use: output[:, -1], h_n and c_n unused."""
    theirs, ours = _pair("LSTM", {"batch_first": True})
    x = np.random.default_rng(3).standard_normal((7, 8, 4)).astype(np.float32)
    xt, xh = torch.tensor(x, requires_grad=True), hpnn.tensor(x, requires_grad=True)
    theirs(xt)[0][:, -1].pow(2).sum().backward()
    ours(xh)[0][:, -1].pow(2).sum().backward()
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-5)
    their_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), their_params[name].grad.numpy(),
                                   rtol=1e-3, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_unbatched_input_with_states(kind):
    theirs, ours = _pair(kind, {"num_layers": 2})
    x = np.random.default_rng(4).standard_normal((5, 4)).astype(np.float32)
    hx = tuple(s[:, 0] for s in _states(kind, {"num_layers": 2}, 1))
    for picks in ([0], [1], [len(hx)]):
        theirs, ours = _pair(kind, {"num_layers": 2})
        _compare(theirs, ours, x, hx, picks)


@pytest.mark.parametrize("given", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("picks", [[0], [1], [0, 1]])
def test_lstm_cell_each_output(given, picks):
    theirs, ours = _pair("LSTMCell", {})
    x = np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32)
    rng = np.random.default_rng(6)
    hx = tuple(rng.standard_normal((3, 5)).astype(np.float32) for _ in range(2)) if given \
        else None
    _compare(theirs, ours, x, hx, picks)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_numpy_backend_matches(kind):
    options = {"batch_first": True, "num_layers": 2, "bidirectional": True}
    x = np.random.default_rng(7).standard_normal((2, 4, 4)).astype(np.float32)
    with hpnn.use_backend("numpy"):
        for picks in ([0], [1], [2]) if kind == "LSTM" else ([0], [1]):
            theirs, ours = _pair(kind, options)
            _compare(theirs, ours, x, _states(kind, options, 2), picks)


def test_cell_state_gradient_is_not_reused_by_a_later_backward():
    """c_n's gradient reaches the recurrence once: a second backward (retain_graph) through the
    output alone must not see it again."""
    _, ours = _pair("LSTM", {})
    x = hpnn.tensor(np.random.default_rng(8).standard_normal((4, 2, 4)).astype(np.float32),
                    requires_grad=True)
    output, (_, c_n) = ours(x)
    (output.sum() + c_n.sum()).backward(retain_graph=True)
    both = x.grad.numpy().copy()
    x.grad = None
    output.sum().backward(retain_graph=True)
    alone = x.grad.numpy().copy()
    x.grad = None
    c_n.sum().backward()
    np.testing.assert_allclose(alone + x.grad.numpy(), both, rtol=1e-5, atol=1e-6)
    assert not np.allclose(alone, both, atol=1e-4)


def test_empty_batch_falls_back_to_the_reference():
    output, (h_n, c_n) = nn.LSTM(3, 4, num_layers=2)(hpnn.randn(5, 0, 3))
    assert output.shape == (5, 0, 4) and h_n.shape == (2, 0, 4) and c_n.shape == (2, 0, 4)

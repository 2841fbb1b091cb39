"""Optimizers: hand-computed steps, PyTorch trajectories, groups, flat buffers, state dicts."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
from hpnn import optim


def quadratic_step(optimizer_cls, start, steps=1, **kwargs):
    """Minimise sum(w**2 / 2) (grad = w) from ``start``; returns the trajectory."""
    w = nn.Parameter(np.array(start))
    opt = optimizer_cls([w], **kwargs)
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        (w * w / 2).sum().backward()
        opt.step()
        trajectory.append(w.numpy().copy())
    return trajectory


def test_sgd_by_hand():
    (w1, w2) = quadratic_step(optim.SGD, [1.0, -2.0], steps=2, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(w1, [0.9, -1.8], rtol=1e-6)  # buf = g = w0
    # buf = 0.9 * w0 + w1 = [1.8, -3.6]; w2 = w1 - 0.1 * buf
    np.testing.assert_allclose(w2, [0.72, -1.44], rtol=1e-6)


def test_sgd_weight_decay_by_hand():
    (w1,) = quadratic_step(optim.SGD, [2.0], lr=0.5, weight_decay=0.5)
    np.testing.assert_allclose(w1, [2.0 - 0.5 * (2.0 + 1.0)])


def test_adam_first_step_is_lr_times_sign():
    (w1,) = quadratic_step(optim.Adam, [3.0, -0.5], lr=0.01)
    np.testing.assert_allclose(w1, [2.99, -0.49], rtol=1e-5)


def test_adagrad_and_rmsprop_by_hand():
    (w1,) = quadratic_step(optim.Adagrad, [2.0], lr=0.1)
    np.testing.assert_allclose(w1, [2.0 - 0.1 * 2.0 / 2.0], rtol=1e-6)
    (w1,) = quadratic_step(optim.RMSprop, [2.0], lr=0.01, alpha=0.9)
    np.testing.assert_allclose(w1, [2.0 - 0.01 * 2.0 / np.sqrt(0.1 * 4.0)], rtol=1e-5)


def test_invalid_hyper_parameters_are_rejected():
    w = nn.Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="'lr'"):
        optim.SGD([w], lr=-0.1)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([])
    # extra group entries are kept as they are, as in PyTorch (e.g. a group's name)
    assert optim.SGD([{"params": [w], "lr": 0.1, "name": "head"}]).param_groups[0]["name"] == \
        "head"
    with pytest.raises(TypeError, match="float32"):
        optim.SGD([hpnn.tensor([1, 2])], lr=0.1)


def test_parameter_groups_have_their_own_lr():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a.sum() + b.sum()).backward()
    opt.step()
    np.testing.assert_allclose(a.numpy(), 0.9)
    np.testing.assert_allclose(b.numpy(), 0.5)


def test_group_parameters_live_in_one_flat_buffer():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    before = [p.numpy().copy() for p in model.parameters()]
    opt = optim.Adam(model.parameters())
    buffers = {p.numpy().base.ctypes.data if p.numpy().base is not None else None
               for p in model.parameters()}
    assert len(buffers) == 1 and None not in buffers
    for p, old in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), old)
    assert opt._flat[0].param_buffer.size == 3 * 4 + 4 + 4 * 2 + 2


def test_parameters_without_grad_are_skipped_like_torch():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9, weight_decay=0.1)
    a.sum().backward()
    opt.step()
    np.testing.assert_allclose(b.numpy(), 1.0)  # no grad: untouched, even with weight decay
    np.testing.assert_allclose(a.numpy(), 1 - 0.1 * 1.1)
    opt.zero_grad()
    (a.sum() + b.sum()).backward()
    opt.step()  # a at step 2, b at step 1: per-parameter path
    np.testing.assert_allclose(b.numpy(), 1 - 0.1 * 1.1)


def test_replaced_param_data_is_picked_up():
    w = nn.Parameter(np.ones(2))
    opt = optim.SGD([w], lr=0.1)
    w.data = hpnn.tensor(np.full(2, 5.0, np.float32))
    w.sum().backward()
    opt.step()
    np.testing.assert_allclose(w.numpy(), 4.9)


def test_backward_writes_gradients_into_the_flat_buffer():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones((2, 2)))
    opt = optim.SGD([a, b], lr=0.1)
    flat = opt._flat[0]
    for _ in range(2):
        opt.zero_grad()
        (a * 3.0).sum().backward()
        (a.sum() + (b * 2.0).sum()).backward()  # accumulates into the same buffer
        assert np.shares_memory(a.grad.numpy(), flat.grad_buffer)
        assert np.shares_memory(b.grad.numpy(), flat.grad_buffer)
        np.testing.assert_allclose(flat.grad_buffer, [4, 4, 2, 2, 2, 2])
        opt.step()
    np.testing.assert_allclose(a.numpy(), 1 - 2 * 0.1 * 4)
    b.grad = hpnn.ones(2, 2)  # a gradient set by hand is gathered at step()
    opt.step()
    np.testing.assert_allclose(b.numpy(), 1 - 2 * 0.1 * 2 - 0.1)


def _train(opt_factory, steps=5):
    hpnn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
    opt = opt_factory(model.parameters())
    x, y = hpnn.randn(8, 4), hpnn.randn(8, 2)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return model, opt


def test_state_dict_round_trip_continues_identically():
    model, opt = _train(lambda p: optim.Adam(p, lr=0.01, amsgrad=True), steps=3)
    clone, clone_opt = _train(lambda p: optim.Adam(p, lr=0.5), steps=0)
    clone.load_state_dict(model.state_dict())
    clone_opt.load_state_dict(opt.state_dict())
    assert clone_opt.param_groups[0]["lr"] == 0.01
    x, y = hpnn.randn(8, 4), hpnn.randn(8, 2)
    for m, o in ((model, opt), (clone, clone_opt)):
        o.zero_grad()
        nn.functional.mse_loss(m(x), y).backward()
        o.step()
    for a, b in zip(model.parameters(), clone.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    state = opt.state_dict()
    assert state["state"][0]["step"] == 4 and "max_exp_avg_sq" in state["state"][0]
    state["state"][0]["exp_avg"] = np.zeros(3)
    with pytest.raises(ValueError, match="exp_avg"):
        clone_opt.load_state_dict(state)


def test_optimizer_by_name():
    w = nn.Parameter(np.ones(1))
    assert isinstance(optim.optimizers.get("AdamW", [w]), optim.AdamW)
    with pytest.raises(ValueError, match="unknown optimizer"):
        optim.optimizers.get("lbfgs", [w])


def test_clip_grad_norm_and_value():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(1))
    a.grad, b.grad = hpnn.tensor([3.0, 0.0]), hpnn.tensor([4.0])
    norm = nn.utils.clip_grad_norm_([a, b], 1.0)
    assert norm.item() == pytest.approx(5.0)
    np.testing.assert_allclose(np.r_[a.grad.numpy(), b.grad.numpy()], [0.6, 0, 0.8], rtol=1e-5)
    nn.utils.clip_grad_value_([a, b], 0.7)
    np.testing.assert_allclose(b.grad.numpy(), [0.7])
    with pytest.raises(ValueError, match="max_norm"):
        nn.utils.clip_grad_norm_([a], -1)

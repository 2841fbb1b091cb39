"""hpnn.optim against torch.optim beyond test_optim_vs_torch.py: 0-d to 4-d parameters, groups
with their own options, skipped and frozen parameters, the state itself and the state_dict's
layout, state_dict round trips mid-run, add_param_group, zero_grad, errors."""
import copy

import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
from hpnn import optim

torch = pytest.importorskip("torch")

SHAPES = [(), (5,), (3, 4), (2, 3, 2, 2)]


class Pair:
    """The same parameters in hpnn and torch (the first two and a frozen one in group 0, the
    others in group 1 with ``group_kwargs``), the same gradients fed to both."""

    def __init__(self, name, kwargs, group_kwargs, seed=0):
        rng = np.random.default_rng(seed)
        start = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
        self.ours = [nn.Parameter(a.copy()) for a in start]
        self.theirs = [torch.tensor(a, requires_grad=True) for a in start]
        self.frozen_ours = nn.Parameter(np.ones(3, np.float32))
        self.frozen_ours.requires_grad = False
        self.frozen_theirs = torch.ones(3)
        self.name, self.kwargs, self.group_kwargs = name, kwargs, group_kwargs
        self.opt = self.make_ours()
        self.topt = getattr(torch.optim, name)(
            [{"params": self.theirs[:2] + [self.frozen_theirs]},
             {"params": self.theirs[2:], **group_kwargs}], **kwargs)
        self.rng = rng

    def make_ours(self):
        return getattr(optim, self.name)(
            [{"params": self.ours[:2] + [self.frozen_ours]},
             {"params": self.ours[2:], **self.group_kwargs}], **self.kwargs)

    def feed(self, step, skip=True):
        for i, (p, t) in enumerate(zip(self.ours, self.theirs)):
            g = self.rng.standard_normal(p.shape).astype(np.float32)
            if skip and (step + i) % 5 == 2:
                p.grad = t.grad = None
            else:
                p.grad, t.grad = hpnn.tensor(g.copy()), torch.tensor(g)

    def step(self, step, skip=True):
        self.feed(step, skip)
        self.opt.step()
        self.topt.step()

    def check(self, rtol=1e-5, atol=1e-6):
        for p, t in zip(self.ours, self.theirs):
            np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
        np.testing.assert_array_equal(self.frozen_ours.numpy(), 1.0)
        check_state_dicts(self.opt.state_dict(), self.topt.state_dict(), rtol, atol)
        for p, t in zip(self.ours, self.theirs):
            ours, theirs = self.opt.state[p], self.topt.state.get(t, {})
            assert set(ours) == set(theirs)
            for key in theirs:
                np.testing.assert_allclose(np.asarray(ours[key]), theirs[key].numpy(),
                                           rtol=rtol, atol=atol)


def check_state_dicts(ours, theirs, rtol=1e-5, atol=1e-6):
    assert set(ours) == {"state", "param_groups"}
    assert sorted(ours["state"]) == sorted(theirs["state"])
    for index, entry in theirs["state"].items():
        assert set(ours["state"][index]) == set(entry), index
        for key, value in entry.items():
            np.testing.assert_allclose(np.asarray(ours["state"][index][key]), value.numpy(),
                                       rtol=rtol, atol=atol, err_msg=f"{index} {key}")
    assert len(ours["param_groups"]) == len(theirs["param_groups"])
    for mine, other in zip(ours["param_groups"], theirs["param_groups"]):
        assert set(mine) == set(other)
        assert mine["params"] == other["params"]
        assert mine["lr"] == other["lr"]


CONFIGS = [
    ("SGD", dict(lr=0.05), dict(lr=0.01, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01),
     dict(dampening=0.0, momentum=0.5, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), dict(weight_decay=0.1, lr=0.2)),
    ("Adam", dict(lr=0.01), dict(lr=0.003, betas=(0.5, 0.9), amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True, eps=0.0), dict(eps=1e-3)),
    ("AdamW", dict(lr=0.01, amsgrad=True), dict(weight_decay=0.3, maximize=True)),
    ("AdamW", dict(lr=0.02, betas=(0.8, 0.99)), dict(amsgrad=True, weight_decay=0.0)),
    ("RMSprop", dict(lr=0.01), dict(centered=True, momentum=0.9, alpha=0.5)),
    ("RMSprop", dict(lr=0.01, weight_decay=0.1, maximize=True, momentum=0.3), dict(eps=1e-2)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
     dict(weight_decay=0.1, eps=1e-3)),
    # torch starts every accumulator at the constructor's initial_accumulator_value
    ("Adagrad", dict(lr=0.1), dict(maximize=True, initial_accumulator_value=0.5, lr_decay=0.1)),
]


@pytest.mark.parametrize("name,kwargs,group_kwargs", CONFIGS)
def test_trajectory_state_and_state_dict_match_torch(name, kwargs, group_kwargs):
    pair = Pair(name, kwargs, group_kwargs)
    check_state_dicts(pair.opt.state_dict(), pair.topt.state_dict())  # before any step
    for step in range(25):
        pair.step(step)
    pair.check()
    # continue from a fresh optimizer loaded with the state dict: the same trajectory
    saved = pair.opt.state_dict()
    pair.opt = pair.make_ours()
    pair.opt.load_state_dict(saved)
    for step in range(25, 50):
        pair.step(step)
    pair.check(rtol=2e-5)


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(amsgrad=True, lr=0.01)),
    ("RMSprop", dict(momentum=0.5, centered=True)), ("Adagrad", dict(lr_decay=0.1)),
])
def test_loading_replaces_all_state_as_torch(name, kwargs):
    """A parameter without saved state starts afresh, whatever it had before the load."""
    pair = Pair(name, kwargs, {})
    pair.step(0)  # parameter 2 skips step 0: no state saved for it (but step 0 for Adagrad)
    # torch's state_dict holds its live state tensors: copy them; hpnn's holds copies
    early, torch_early = pair.opt.state_dict(), copy.deepcopy(pair.topt.state_dict())
    for step in range(3, 10):
        pair.step(step, skip=False)
    pair.opt.load_state_dict(early)
    pair.topt.load_state_dict(torch_early)
    for step in range(10, 15):
        pair.step(step, skip=False)
    pair.check()


def test_sgd_momentum_buffer_starts_when_momentum_is_switched_on():
    pair = Pair("SGD", dict(lr=0.1), dict(dampening=0.5))
    for step in range(6):
        if step == 3:
            for group in pair.opt.param_groups + pair.topt.param_groups:
                group["momentum"] = 0.9
        pair.step(step, skip=False)
    pair.check()


def test_zero_grad_and_zero_gradients_as_torch():
    pair = Pair("Adam", dict(lr=0.01, weight_decay=0.1), {})
    pair.step(0, skip=False)
    pair.opt.zero_grad()
    pair.topt.zero_grad()
    assert all(p.grad is None for p in pair.ours)  # set_to_none=True by default, as torch 2
    pair.opt.step()
    pair.topt.step()  # no gradients: nothing moves
    pair.feed(1, skip=False)
    pair.opt.zero_grad(set_to_none=False)
    pair.topt.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in pair.ours)
    pair.opt.step()
    pair.topt.step()  # zero gradients: weight decay and the moments still move
    pair.check()


def test_add_param_group_mid_run_matches_torch():
    pair = Pair("Adagrad", dict(lr=0.1, initial_accumulator_value=0.2), {})
    start = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    extra, textra = nn.Parameter(start.copy()), torch.tensor(start, requires_grad=True)
    for step in range(8):
        if step == 3:
            pair.opt.add_param_group({"params": [extra], "lr": 0.05,
                                      "initial_accumulator_value": 3.0})
            pair.topt.add_param_group({"params": [textra], "lr": 0.05,
                                       "initial_accumulator_value": 3.0})
        if step >= 3:
            g = np.full((2, 3), 0.5 * step, np.float32)
            extra.grad, textra.grad = hpnn.tensor(g), torch.tensor(g)
        pair.step(step)
    np.testing.assert_allclose(extra.numpy(), textra.detach().numpy(), rtol=1e-5)
    pair.check()


def test_named_parameters_and_group_entries_as_torch():
    a, b = nn.Parameter(np.ones(2, np.float32)), nn.Parameter(np.ones(3, np.float32))
    ta, tb = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    ours = optim.SGD([("a", a), ("b", b)], lr=0.1)
    theirs = torch.optim.SGD([("a", ta), ("b", tb)], lr=0.1)
    assert ours.state_dict()["param_groups"] == theirs.state_dict()["param_groups"]
    group = {"params": [nn.Parameter(np.ones(1, np.float32))], "lr": 0.5, "tag": "head"}
    opt = optim.Adam([{"params": []}, {"params": [a]}])  # an empty group, as torch allows
    a.grad = hpnn.ones(2)
    opt.step()
    opt.add_param_group(group)
    assert opt.param_groups[2] is group and group["tag"] == "head"
    assert group["betas"] == (0.9, 0.999) and opt.state_dict()["param_groups"][2]["params"] == [1]


def _torch_and_hpnn_raise(name, kwargs, error, message):
    """Both libraries reject the hyper-parameters with the same error and wording."""
    with pytest.raises(error, match=message):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(error, match=message):
        getattr(optim, name)([nn.Parameter(np.zeros(2, np.float32))], **kwargs)


@pytest.mark.parametrize("name,kwargs,message,argument", [
    ("SGD", dict(lr=-0.1), "Invalid learning rate: -0.1", "lr"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5", "momentum"),
    ("SGD", dict(weight_decay=-1e-3), "Invalid weight_decay value", "weight_decay"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening",
     "nesterov"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum", "nesterov"),
    ("Adam", dict(betas=(1.0, 0.9)), r"Invalid beta parameter at index 0: 1.0", "betas"),
    ("AdamW", dict(betas=(0.9, -0.1)), r"Invalid beta parameter at index 1: -0.1", "betas"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value", "eps"),
    ("AdamW", dict(lr=-1.0), "Invalid learning rate", "lr"),
    ("RMSprop", dict(alpha=-0.1), "Invalid alpha value", "alpha"),
    ("RMSprop", dict(momentum=-0.1), "Invalid momentum value", "momentum"),
    ("RMSprop", dict(eps=-1.0), "Invalid epsilon value", "eps"),
    ("Adagrad", dict(lr_decay=-0.1), "Invalid lr_decay value", "lr_decay"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value",
     "initial_accumulator_value"),
    ("Adagrad", dict(eps=-1.0), "Invalid epsilon value", "eps"),
])
def test_bad_hyper_parameters_raise_as_torch(name, kwargs, message, argument):
    _torch_and_hpnn_raise(name, kwargs, ValueError, message)
    with pytest.raises(ValueError, match=argument):
        getattr(optim, name)([nn.Parameter(np.zeros(2, np.float32))], **kwargs)


def test_bad_parameter_lists_raise_as_torch():
    w = nn.Parameter(np.zeros(2, np.float32))
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {w}}], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    for kwargs in (dict(eps=0.0), dict(alpha=1.5), dict(foreach=False, capturable=False)):
        optim.RMSprop([w], **kwargs)  # accepted, as by torch
        torch.optim.RMSprop([torch.zeros(1, requires_grad=True)], **kwargs)


def test_state_dict_errors():
    w = nn.Parameter(np.zeros(2, np.float32))
    opt = optim.Adam([w])
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]})
    saved = opt.state_dict()
    saved["state"][0] = {"step": 1, "exp_avg": np.zeros(3), "exp_avg_sq": np.zeros(2)}
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(saved)

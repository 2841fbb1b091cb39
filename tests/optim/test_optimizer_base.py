"""The Optimizer base class as PyTorch's: a persistent ``state``, a user's own subclass written
for torch.optim, param_groups, closure, zero_grad, state_dict; and Keras-style optimizers
built without parameters."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
from hpnn import optim

try:
    import torch
except ImportError:  # the parity halves of the tests below skip
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is the oracle of this test")


def momentum_sgd_class(lib):
    """A user's optimizer exactly as written for PyTorch, with ``lib`` in place of torch."""
    class MomentumSGD(lib.optim.Optimizer):
        def __init__(self, params, lr=0.1, momentum=0.9):
            super().__init__(params, dict(lr=lr, momentum=momentum))

        @lib.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with lib.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = 0
                        state["momentum_buffer"] = lib.zeros_like(p)
                    state["step"] += 1
                    buf = state["momentum_buffer"]
                    buf.mul_(group["momentum"]).add_(p.grad)
                    p.add_(buf, alpha=-group["lr"])
            return loss
    return MomentumSGD


def _quadratic_closure(lib, params, target, optimizer):
    def closure():
        optimizer.zero_grad()
        loss = sum(((p - t) ** 2).sum() * (i + 1) for i, (p, t) in
                   enumerate(zip(params, target)))
        loss.backward()
        return loss
    return closure


def _start():
    rng = np.random.default_rng(3)
    return [rng.standard_normal(s).astype(np.float32) for s in [(3, 2), (4,)]], \
        [rng.standard_normal(s).astype(np.float32) for s in [(3, 2), (4,)]]


def test_user_subclass_keeps_its_state_between_steps():
    start, target = _start()
    params = [nn.Parameter(a) for a in start]
    opt = momentum_sgd_class(hpnn)(params, lr=0.05)
    closure = _quadratic_closure(hpnn, params, [hpnn.tensor(t) for t in target], opt)
    for _ in range(5):
        opt.step(closure)
    assert opt.state is opt.state
    assert [opt.state[p]["step"] for p in params] == [5, 5]
    buffer = opt.state[params[0]]["momentum_buffer"]
    opt.step(closure)
    assert opt.state[params[0]]["momentum_buffer"] is buffer  # the same object, updated


@needs_torch
def test_user_subclass_matches_the_same_class_on_torch():
    start, target = _start()
    ours = [nn.Parameter(a.copy()) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]
    opt = momentum_sgd_class(hpnn)([{"params": ours[:1]}, {"params": ours[1:], "lr": 0.01}],
                                   lr=0.05)
    topt = momentum_sgd_class(torch)([{"params": theirs[:1]},
                                      {"params": theirs[1:], "lr": 0.01}], lr=0.05)
    closure = _quadratic_closure(hpnn, ours, [hpnn.tensor(t) for t in target], opt)
    tclosure = _quadratic_closure(torch, theirs, [torch.tensor(t) for t in target], topt)
    for _ in range(8):
        loss, tloss = opt.step(closure), topt.step(tclosure)
        np.testing.assert_allclose(float(loss), tloss.item(), rtol=1e-5)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)
    # PyTorch's state_dict layout: state by index, groups listing indices
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"]) == [0, 1]
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in
                                                          tsd["param_groups"]]
    assert sd["param_groups"][1]["lr"] == 0.01 and sd["state"][1]["step"] == 8


def test_user_subclass_state_dict_round_trip():
    start, target = _start()
    runs = []
    for interrupted in (False, True):
        params = [nn.Parameter(a.copy()) for a in start]
        cls = momentum_sgd_class(hpnn)
        opt = cls(params, lr=0.05)
        closure = _quadratic_closure(hpnn, params, [hpnn.tensor(t) for t in target], opt)
        for step in range(8):
            if interrupted and step == 4:
                saved = opt.state_dict()
                opt = cls(params, lr=0.5)  # options come back from the state dict
                opt.load_state_dict(saved)
                closure = _quadratic_closure(hpnn, params, [hpnn.tensor(t) for t in target],
                                             opt)
            opt.step(closure)
        runs.append([p.numpy().copy() for p in params])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_builtin_state_is_persistent_and_user_changes_take_effect():
    start, _ = _start()
    p = nn.Parameter(start[0].copy())
    opt = optim.Adam([p], lr=0.1)
    p.grad = hpnn.tensor(np.ones_like(start[0]))
    opt.step()
    state = opt.state
    assert state is opt.state and float(state[p]["step"]) == 1
    state[p]["note"] = "kept"  # a user's own entry survives steps
    opt.step()
    assert opt.state[p]["note"] == "kept" and float(opt.state[p]["step"]) == 2
    # a buffer replaced by the user (as a script moving state does) is used by the next step
    opt.state[p]["exp_avg"] = hpnn.tensor(np.zeros_like(start[0]))
    opt.state[p]["exp_avg_sq"] = hpnn.tensor(np.zeros_like(start[0]))
    before = p.numpy().copy()
    p.grad = hpnn.tensor(np.zeros_like(start[0]))
    opt.step()
    np.testing.assert_array_equal(p.numpy(), before)  # zero moments and grad: no move


def test_step_returns_closure_loss_and_zero_grad_modes():
    p = nn.Parameter(np.ones(3, np.float32))
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    assert float(opt.step(closure)) == pytest.approx(3.0)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), np.zeros(3))
    opt.zero_grad()
    assert p.grad is None


def test_add_param_group_takes_defaults_and_own_options():
    a, b = nn.Parameter(np.ones(2, np.float32)), nn.Parameter(np.ones(2, np.float32))
    opt = optim.Adadelta([a], lr=0.5)
    opt.add_param_group({"params": [b], "rho": 0.5})
    assert isinstance(opt.param_groups, list) and len(opt.param_groups) == 2
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["rho"] == 0.5
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta",
                                  "Adamax", "NAdam", "RAdam", "LBFGS"])
def test_unbound_optimizer_explains_itself(name):
    opt = getattr(optim, name)()
    assert opt.param_groups == []
    with pytest.raises(RuntimeError, match="created without parameters"):
        opt.step(lambda: 0.0)
    with pytest.raises(RuntimeError, match="compile"):
        opt.zero_grad()


def test_bad_option_is_caught_without_parameters():
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam(lr=-1)


@pytest.mark.parametrize("optimizer", ["Adam(lr=0.01)", "adadelta", "nadam", "RMSprop"])
def test_compile_binds_an_unbound_optimizer(optimizer):
    if optimizer == "Adam(lr=0.01)":
        optimizer = optim.Adam(lr=0.01)  # Keras style: no parameters
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = nn.Sequential(nn.Linear(3, 1))
    model.compile(optimizer=optimizer, loss="mse")
    assert model.optimizer.param_groups[0]["params"] == list(model.parameters())
    first = model.evaluate(x, y)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert model.evaluate(x, y) < first

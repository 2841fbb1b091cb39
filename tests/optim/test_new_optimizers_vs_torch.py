"""Adadelta, Adamax, NAdam, RAdam and LBFGS against torch.optim: same start, same gradients
(or the same closure), parameters equal to float32 rounding."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
from hpnn import optim

torch = pytest.importorskip("torch", reason="torch is the oracle of these parity tests")

CONFIGS = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.01, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]
SHAPES = [(3, 4), (4,), (2,)]


def _start():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in SHAPES]


def _grads(step):
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal(s).astype(np.float32) for s in SHAPES]


def _pair(name, kwargs):
    start = _start()
    ours = [nn.Parameter(a.copy()) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]
    opt = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.003}],
                               **kwargs)
    topt = getattr(torch.optim, name)([{"params": theirs[:2]},
                                       {"params": theirs[2:], "lr": 0.003}], **kwargs)
    return ours, theirs, opt, topt


def _run(ours, theirs, opt, topt, steps, skip=None):
    for step in steps:
        for k, (p, t, g) in enumerate(zip(ours, theirs, _grads(step))):
            if skip is not None and k == skip and step % 3 == 0:
                p.grad, t.grad = None, None  # a parameter without a gradient this step
            else:
                p.grad, t.grad = hpnn.tensor(g.copy()), torch.tensor(g)
        opt.step()
        topt.step()


def _assert_close(ours, theirs):
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_trajectory_matches_torch(name, kwargs):
    ours, theirs, opt, topt = _pair(name, kwargs)
    _run(ours, theirs, opt, topt, range(25), skip=1)
    _assert_close(ours, theirs)
    state, tstate = opt.state_dict()["state"], topt.state_dict()["state"]
    assert sorted(state) == sorted(tstate)
    for index, entry in tstate.items():
        assert sorted(state[index]) == sorted(entry)
        for key, value in entry.items():
            np.testing.assert_allclose(np.asarray(state[index][key].numpy()),
                                       value.numpy(), rtol=2e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("name,kwargs", CONFIGS[::2])
def test_state_dict_round_trip_continues_as_uninterrupted(name, kwargs):
    ours, theirs, opt, topt = _pair(name, kwargs)
    _run(ours, theirs, opt, topt, range(10))
    saved = opt.state_dict()
    params2 = [nn.Parameter(p.numpy().copy()) for p in ours]
    opt2 = getattr(optim, name)([{"params": params2[:2]}, {"params": params2[2:]}], **kwargs)
    opt2.load_state_dict(saved)
    _run(ours, theirs, opt, topt, range(10, 20))
    spare = [torch.zeros(s, requires_grad=True) for s in SHAPES]
    _run(params2, spare, opt2, torch.optim.SGD(spare, lr=0.0), range(10, 20))
    for p, q in zip(ours, params2):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    _assert_close(ours, theirs)


def test_loads_torch_state_dict():
    ours, theirs, opt, topt = _pair("NAdam", dict(lr=0.01))
    _run(ours, theirs, opt, topt, range(5))
    fresh = [nn.Parameter(t.detach().numpy().copy()) for t in theirs]
    opt2 = optim.NAdam([{"params": fresh[:2]}, {"params": fresh[2:]}], lr=0.01)
    opt2.load_state_dict({"state": {i: {k: hpnn.tensor(v.numpy()) for k, v in e.items()}
                                    for i, e in topt.state_dict()["state"].items()},
                          "param_groups": topt.state_dict()["param_groups"]})
    _run(fresh, theirs, opt2, topt, range(5, 10))
    _assert_close(fresh, theirs)


def _rosenbrock(lib, xy):
    x, y = xy[0::2], xy[1::2]
    return ((1 - x) ** 2 + 100 * (y - x * x) ** 2).sum()


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_iterates_match_torch(line_search_fn):
    start = np.array([-1.2, 1.0, -0.5, 0.8, 0.3, -0.2], np.float32)
    lr = 1.0 if line_search_fn else 0.05
    ours, theirs = nn.Parameter(start.copy()), torch.tensor(start, requires_grad=True)
    opt = optim.LBFGS([ours], lr=lr, max_iter=5, history_size=4,
                      line_search_fn=line_search_fn)
    topt = torch.optim.LBFGS([theirs], lr=lr, max_iter=5, history_size=4,
                             line_search_fn=line_search_fn)

    def closure(lib, param, optimizer):
        def run():
            optimizer.zero_grad()
            loss = _rosenbrock(lib, param)
            loss.backward()
            return loss
        return run
    for _ in range(4):
        loss = opt.step(closure(hpnn, ours, opt))
        tloss = topt.step(closure(torch, theirs, topt))
        np.testing.assert_allclose(float(loss), tloss.item(), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-4, atol=1e-5)
    state, tstate = opt.state[ours], topt.state[theirs]
    assert state["n_iter"] == tstate["n_iter"]
    assert state["func_evals"] == tstate["func_evals"]


def test_lbfgs_rejects_second_group_and_needs_closure():
    p = nn.Parameter(np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [p]}, {"params": [nn.Parameter(np.zeros(1, np.float32))]}])
    with pytest.raises(ValueError, match="closure"):
        optim.LBFGS([p]).step(None)
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([p], line_search_fn="armijo")


def test_mnist_recipe_adadelta_with_steplr_on_a_model_matches_torch():
    """pytorch/examples' mnist: Adadelta(model.parameters(), lr) and StepLR(gamma=0.7)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((32, 6)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for p, t in zip(model.parameters(), tmodel.parameters()):
            t.copy_(torch.tensor(p.numpy()))
    opt = optim.Adadelta(model.parameters(), lr=1.0)
    topt = torch.optim.Adadelta(tmodel.parameters(), lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=1, gamma=0.7)
    loss_fn, tloss_fn = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    for epoch in range(3):
        for start in range(0, 32, 8):
            opt.zero_grad()
            topt.zero_grad()
            loss = loss_fn(model(hpnn.tensor(x[start:start + 8])), hpnn.tensor(y[start:start + 8]))
            tloss = tloss_fn(tmodel(torch.tensor(x[start:start + 8])),
                             torch.tensor(y[start:start + 8]))
            loss.backward()
            tloss.backward()
            opt.step()
            topt.step()
            np.testing.assert_allclose(float(loss), tloss.item(), rtol=1e-5)
        sched.step()
        tsched.step()
    for p, t in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-4, atol=1e-5)

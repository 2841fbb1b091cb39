"""Optimizer and scheduler trajectories against torch.optim."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
from hpnn import optim

torch = pytest.importorskip("torch")

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=False)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, weight_decay=0.5, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
]


def _grads(step, shapes):
    rng = np.random.default_rng(step)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_trajectory_matches_torch(name, kwargs):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (2,)]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ours = [nn.Parameter(a) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]
    opt = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.003}],
                               **kwargs)
    topt = getattr(torch.optim, name)([{"params": theirs[:2]},
                                       {"params": theirs[2:], "lr": 0.003}], **kwargs)
    for step in range(20):
        for p, t, g in zip(ours, theirs, _grads(step, shapes)):
            p.grad, t.grad = hpnn.tensor(g.copy()), torch.tensor(g)
        opt.step()
        topt.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)


def _lrs(scheduler_factory, lib, steps, metric=None):
    param = nn.Parameter(np.zeros(1)) if lib is hpnn else torch.zeros(1, requires_grad=True)
    opt = lib.optim.SGD([param], lr=0.1, momentum=0.9)
    scheduler = scheduler_factory(lib.optim.lr_scheduler, opt)
    lrs = []
    for step in range(steps):
        opt.step()
        scheduler.step(*(() if metric is None else (metric(step),)))
        lrs.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
    return lrs


@pytest.mark.parametrize("factory", [
    lambda s, o: s.StepLR(o, step_size=3, gamma=0.5),
    lambda s, o: s.MultiStepLR(o, milestones=[2, 5, 6], gamma=0.3),
    lambda s, o: s.ExponentialLR(o, gamma=0.9),
    lambda s, o: s.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=13),
    lambda s, o: s.OneCycleLR(o, max_lr=0.5, epochs=3, steps_per_epoch=4, three_phase=True,
                              anneal_strategy="linear"),
])
def test_schedulers_match_torch(factory):
    steps = 12
    np.testing.assert_allclose(_lrs(factory, hpnn, steps), _lrs(factory, torch, steps),
                               rtol=1e-6)


def test_reduce_on_plateau_matches_torch():
    def metric(step):
        return [5, 4, 4, 4, 4, 3.9999, 4, 4, 4, 2, 2, 2, 2, 2][step]

    def factory(s, o):
        return s.ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1)

    np.testing.assert_allclose(_lrs(factory, hpnn, 14, metric), _lrs(factory, torch, 14, metric))


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(3, 2), (5,)]]
    ours = [nn.Parameter(np.zeros_like(g)) for g in grads]
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad, t.grad = hpnn.tensor(g.copy()), torch.tensor(g)
    for norm_type in (2.0, 1.0, float("inf")):
        a = nn.utils.clip_grad_norm_(ours, 0.5, norm_type)
        b = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type)
        assert a.item() == pytest.approx(b.item(), rel=1e-5)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-5)


LONG_CONFIGS = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.5)),
    ("Adam", dict(lr=0.01, maximize=True, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01, amsgrad=True, betas=(0.5, 0.9), eps=1e-3)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, maximize=True, eps=1e-4)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, eps=1e-5, maximize=True)),
]


@pytest.mark.parametrize("name,kwargs", LONG_CONFIGS)
def test_skipped_gradients_and_state_dict_round_trip_match_torch(name, kwargs):
    """50 steps where one parameter sometimes has no gradient, continued after step 20 by a
    fresh optimizer loaded from the first one's state_dict."""
    rng = np.random.default_rng(1)
    start = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5,)]]
    ours = [nn.Parameter(a) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]
    opt, topt = getattr(optim, name)(ours, **kwargs), getattr(torch.optim, name)(theirs, **kwargs)
    for step in range(50):
        for i, (p, t) in enumerate(zip(ours, theirs)):
            if i == 1 and step % 7 == 3:
                p.grad = t.grad = None
                continue
            g = rng.standard_normal(p.shape).astype(np.float32)
            p.grad, t.grad = hpnn.tensor(g.copy()), torch.tensor(g)
        opt.step()
        topt.step()
        if step == 20:
            state = opt.state_dict()
            opt = getattr(optim, name)(ours, **kwargs)
            opt.load_state_dict(state)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(amsgrad=True)),
    ("RMSprop", dict(momentum=0.9, centered=True)), ("Adagrad", {}),
])
def test_torch_optimizer_state_dict_loads(name, kwargs):
    start = np.linspace(-1, 1, 3, dtype=np.float32)
    theirs = torch.tensor(start, requires_grad=True)
    topt = getattr(torch.optim, name)([theirs], **kwargs)
    for i in range(3):
        theirs.grad = torch.full((3,), float(i + 1))
        topt.step()
    ours = nn.Parameter(theirs.detach().numpy())
    opt = getattr(optim, name)([ours], **kwargs)
    opt.load_state_dict(topt.state_dict())
    theirs.grad, ours.grad = torch.full((3,), 0.5), hpnn.full((3,), 0.5)
    topt.step()
    opt.step()
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-5)


def test_optimizer_state_dict_with_unknown_state_is_rejected():
    opt = optim.SGD([nn.Parameter(np.zeros(2))], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="exp_avg"):
        opt.load_state_dict({"state": {0: {"exp_avg": np.zeros(2)}},
                             "param_groups": [{**opt.param_groups[0], "params": [0]}]})


def _lr_history(factory, lib, steps, opt_name, metric=None, **opt_kwargs):
    params = [nn.Parameter(np.zeros(1)) if lib is hpnn else torch.zeros(1, requires_grad=True)
              for _ in range(2)]
    opt = getattr(lib.optim, opt_name)([{"params": params[:1]},
                                        {"params": params[1:], "lr": 0.3}], lr=0.1, **opt_kwargs)
    scheduler = factory(lib.optim.lr_scheduler, opt)
    history = []
    for step in range(steps):
        opt.step()
        scheduler.step(*(() if metric is None else (metric[step],)))
        history.append([g["lr"] for g in opt.param_groups] +
                       [g.get("momentum", g.get("betas", (0.0,))[0]) for g in opt.param_groups] +
                       scheduler.get_last_lr())
    return np.array(history)


@pytest.mark.parametrize("factory,opt_name,opt_kwargs", [
    (lambda s, o: s.StepLR(o, 7, 0.7), "SGD", {}),
    (lambda s, o: s.MultiStepLR(o, [30, 10, 10, 70], 0.5), "SGD", {}),
    (lambda s, o: s.ExponentialLR(o, 0.97), "Adam", {}),
    (lambda s, o: s.CosineAnnealingLR(o, 17, 0.001), "SGD", {}),
    (lambda s, o: s.OneCycleLR(o, [1.0, 0.5], total_steps=100), "SGD", {"momentum": 0.9}),
    (lambda s, o: s.OneCycleLR(o, 0.3, epochs=10, steps_per_epoch=10, pct_start=0.25,
                               div_factor=10, final_div_factor=100), "Adam", {}),
    (lambda s, o: s.OneCycleLR(o, 0.3, total_steps=100, three_phase=True, base_momentum=0.8,
                               max_momentum=0.9, anneal_strategy="linear"), "AdamW", {}),
    (lambda s, o: s.OneCycleLR(o, 0.3, total_steps=100, cycle_momentum=False), "SGD", {}),
])
def test_schedules_over_100_steps_match_torch(factory, opt_name, opt_kwargs):
    np.testing.assert_allclose(_lr_history(factory, hpnn, 100, opt_name, **opt_kwargs),
                               _lr_history(factory, torch, 100, opt_name, **opt_kwargs),
                               rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("kwargs", [
    {}, dict(mode="max", patience=2, factor=0.5, threshold=0.1, threshold_mode="abs", cooldown=2,
             min_lr=[0.01, 0.02]),
    dict(patience=0, factor=0.3, min_lr=0.02, eps=1e-3),
    dict(mode="max", patience=3, threshold=0.2),
])
def test_reduce_on_plateau_over_100_steps_matches_torch(kwargs):
    metric = list(np.round(np.random.default_rng(0).random(100) * 3))

    def factory(s, o):
        return s.ReduceLROnPlateau(o, **kwargs)

    np.testing.assert_allclose(_lr_history(factory, hpnn, 100, "SGD", metric),
                               _lr_history(factory, torch, 100, "SGD", metric), rtol=1e-6)


def test_clip_grad_value_and_norm_edge_cases_match_torch():
    rng = np.random.default_rng(4)
    grads = [rng.standard_normal(s).astype(np.float32) * 3 for s in [(4, 3), (6,)]]
    ours = [nn.Parameter(np.zeros_like(g)) for g in grads]
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad, t.grad = hpnn.tensor(g.copy()), torch.tensor(g)
    nn.utils.clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    a = nn.utils.clip_grad_norm_(ours[0], 2.0, norm_type=3.0)  # a single tensor
    b = torch.nn.utils.clip_grad_norm_(theirs[0], 2.0, norm_type=3.0)
    assert a.item() == pytest.approx(b.item(), rel=1e-5)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-5)
    ours[1].grad.numpy()[0] = np.inf
    with pytest.raises(RuntimeError):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)

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

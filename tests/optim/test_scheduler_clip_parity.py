"""lr_scheduler and gradient clipping against PyTorch beyond test_optim_vs_torch.py: the
chainable rules (lrs changed from outside), step(epoch), resuming, state_dict round trips,
per-group values, errors; clipping with NaN/inf, every norm type, skipped gradients."""
import copy
import warnings

import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
from hpnn import optim

torch = pytest.importorskip("torch")


def _optimizer(lib, name="SGD", lrs=(0.1, 0.3), **kwargs):
    params = [nn.Parameter(np.zeros(1, np.float32)) if lib is hpnn else
              torch.zeros(1, requires_grad=True) for _ in lrs]
    return getattr(lib.optim, name)([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)],
                                    **kwargs)


def _record(opt, scheduler):
    groups = opt.param_groups
    return ([g["lr"] for g in groups] + scheduler.get_last_lr() + [scheduler.last_epoch] +
            [g.get("momentum", g.get("betas", (0.0,))[0]) for g in groups])


def _history(lib, factory, steps, opt_name="SGD", poke=None, resume_at=None, **opt_kwargs):
    """lrs (and momenta) over ``steps`` scheduler steps; ``poke(step, opt)`` may change the
    groups from outside; at ``resume_at`` optimizer and scheduler are rebuilt from their state
    dicts (the scheduler made before the optimizer state is loaded, as PyTorch advises)."""
    opt = _optimizer(lib, opt_name, **opt_kwargs)
    scheduler = factory(lib.optim.lr_scheduler, opt)
    history = [_record(opt, scheduler)]
    for step in range(steps):
        if poke is not None:
            poke(step, opt)
        opt.step()
        scheduler.step()
        history.append(_record(opt, scheduler))
        if step == resume_at:
            opt_state = copy.deepcopy(opt.state_dict())
            scheduler_state = copy.deepcopy(scheduler.state_dict())
            opt = _optimizer(lib, opt_name, **opt_kwargs)
            scheduler = factory(lib.optim.lr_scheduler, opt)
            opt.load_state_dict(opt_state)
            scheduler.load_state_dict(scheduler_state)
    return np.array(history, dtype=np.float64)


def _compare(factory, steps, **kwargs):
    np.testing.assert_allclose(_history(hpnn, factory, steps, **kwargs),
                               _history(torch, factory, steps, **kwargs), rtol=1e-9, atol=1e-15)


SCHEDULERS = [
    lambda s, o: s.StepLR(o, step_size=4, gamma=0.5),
    lambda s, o: s.MultiStepLR(o, milestones=[9, 3, 3, 20], gamma=0.4),
    lambda s, o: s.ExponentialLR(o, gamma=0.93),
    lambda s, o: s.CosineAnnealingLR(o, T_max=6, eta_min=0.02),
    lambda s, o: s.CosineAnnealingLR(o, T_max=1),
    lambda s, o: s.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e]),
    lambda s, o: s.OneCycleLR(o, max_lr=[1.0, 0.4], total_steps=40, pct_start=0.0),
    lambda s, o: s.OneCycleLR(o, max_lr=0.5, epochs=4, steps_per_epoch=10, three_phase=True,
                              base_momentum=[0.7, 0.8], max_momentum=(0.9, 0.99),
                              div_factor=5.0, final_div_factor=50.0, anneal_strategy="linear"),
]


@pytest.mark.parametrize("factory", SCHEDULERS)
def test_schedules_with_outside_changes_and_resume_match_torch(factory):
    def poke(step, opt):
        if step in (5, 17):  # e.g. a hand-made warm restart: the chainable rules carry it on
            for group in opt.param_groups:
                group["lr"] *= 0.5

    _compare(factory, 40, poke=poke, resume_at=12, momentum=0.9)


@pytest.mark.parametrize("factory", SCHEDULERS[:5])
def test_step_with_epoch_uses_the_closed_form_as_torch(factory):
    results = []
    for lib in (hpnn, torch):
        opt = _optimizer(lib)
        scheduler = factory(lib.optim.lr_scheduler, opt)
        history = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for epoch in (3, 4, 11, 7, 30):
                scheduler.step(epoch)
                history.append(_record(opt, scheduler))
        assert any("epoch" in str(w.message) for w in caught)
        results.append(history)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


@pytest.mark.parametrize("factory", [SCHEDULERS[0], SCHEDULERS[2], SCHEDULERS[3]])
def test_resuming_with_last_epoch_matches_torch(factory):
    def resumed(lib):
        opt = _optimizer(lib)
        factory(lib.optim.lr_scheduler, opt)
        for group in opt.param_groups:
            group["lr"] = group["initial_lr"] * 0.7  # as saved mid-run
        scheduler = type(factory(lib.optim.lr_scheduler, _optimizer(lib)))
        kwargs = {"StepLR": dict(step_size=4, gamma=0.5), "ExponentialLR": dict(gamma=0.93),
                  "CosineAnnealingLR": dict(T_max=6, eta_min=0.02)}[scheduler.__name__]
        scheduler = scheduler(opt, last_epoch=5, **kwargs)
        history = [_record(opt, scheduler)]
        for _ in range(10):
            opt.step()
            scheduler.step()
            history.append(_record(opt, scheduler))
        return history

    np.testing.assert_allclose(resumed(hpnn), resumed(torch), rtol=1e-12)
    with pytest.raises(KeyError, match="initial_lr"):
        optim.lr_scheduler.StepLR(_optimizer(hpnn), 3, last_epoch=4)


def test_lambda_scheduler_state_dict_as_torch():
    class Factor:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    for lib in (hpnn, torch):
        opt = _optimizer(lib)
        scheduler = lib.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0, Factor()])
        state = scheduler.state_dict()
        assert state["lr_lambdas"] == [None, {"rate": 0.5}]
        state["lr_lambdas"][1]["rate"] = 0.25
        scheduler.load_state_dict(state)
        opt.step()
        scheduler.step()
        assert scheduler.get_last_lr() == pytest.approx([0.1, 0.3 * 0.25])
        with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
            lib.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0])


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(max_lr=1.0), ValueError, "total_steps OR"),
    (dict(max_lr=1.0, total_steps=0), ValueError, "positive integer total_steps"),
    (dict(max_lr=1.0, epochs=-2, steps_per_epoch=-3), ValueError, "positive integer epochs"),
    (dict(max_lr=1.0, total_steps=10, pct_start=1.5), ValueError, "pct_start"),
    (dict(max_lr=1.0, total_steps=10, anneal_strategy="exp"), ValueError, "anneal_strategy"),
    (dict(max_lr=[1.0], total_steps=10), ValueError, "max_lr must have the same length"),
    (dict(max_lr=1.0, total_steps=10, max_momentum=[0.9]), ValueError, "max_momentum"),
])
def test_one_cycle_errors_as_torch(kwargs, error, message):
    for lib in (hpnn, torch):
        with pytest.raises(error, match=message):
            lib.optim.lr_scheduler.OneCycleLR(_optimizer(lib), **kwargs)


def test_one_cycle_past_total_steps_and_without_momentum_as_torch():
    for lib in (hpnn, torch):
        opt = _optimizer(lib, "Adam")
        scheduler = lib.optim.lr_scheduler.OneCycleLR(opt, 0.5, total_steps=5)
        for _ in range(5):
            opt.step()
            scheduler.step()  # the 5th step is one past the end: allowed, as by torch
        with pytest.raises(ValueError, match="Tried to step 6 times. The specified number of "
                                             "total steps is 5"):
            scheduler.step()
        with pytest.raises(ValueError, match="momentum or beta1"):
            lib.optim.lr_scheduler.OneCycleLR(_optimizer(lib, "Adagrad"), 0.5, total_steps=5)
    _compare(lambda s, o: s.OneCycleLR(o, 0.5, total_steps=30), 29, opt_name="RMSprop",
             momentum=0.5)


PLATEAU_METRICS = [5, 4, 4, 4, 4, 3.9999, 4, float("nan"), 4, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1]


@pytest.mark.parametrize("kwargs", [
    dict(factor=0.5, patience=1, cooldown=2, eps=1e-3),
    dict(mode="max", factor=0.2, patience=0, threshold=0.5, threshold_mode="abs",
         min_lr=[0.05, 0.001]),
])
def test_reduce_on_plateau_resume_and_new_groups_match_torch(kwargs):
    def run(lib):
        opt = _optimizer(lib)
        scheduler = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        history = []
        for step, metric in enumerate(PLATEAU_METRICS):
            scheduler.step(metric)
            history.append(_record(opt, scheduler) + [scheduler.num_bad_epochs,
                                                      scheduler.cooldown_counter])
            if step == 8:
                state = copy.deepcopy(scheduler.state_dict())
                scheduler = lib.optim.lr_scheduler.ReduceLROnPlateau(opt)
                scheduler.load_state_dict(state)
        return history

    np.testing.assert_allclose(run(hpnn), run(torch), rtol=1e-12)
    for lib in (hpnn, torch):
        with pytest.raises(ValueError, match="expected 2 min_lrs, got 1"):
            lib.optim.lr_scheduler.ReduceLROnPlateau(_optimizer(lib), min_lr=[0.1])
        opt = _optimizer(lib, lrs=(0.1,))
        scheduler = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=0.02)
        opt.add_param_group({"params": [nn.Parameter(np.zeros(1, np.float32)) if lib is hpnn
                                        else torch.zeros(1, requires_grad=True)], "lr": 0.03})
        for _ in range(3):
            scheduler.step(1.0)
        assert scheduler.get_last_lr() == pytest.approx([0.02, 0.02])  # the new group too


# ---- gradient clipping ------------------------------------------------------------------------
def _grad_pairs(grads):
    """hpnn and torch parameters with these gradients (None: no gradient)."""
    ours, theirs = [], []
    for g in grads:
        shape = (2,) if g is None else g.shape
        ours.append(nn.Parameter(np.zeros(shape, np.float32)))
        theirs.append(torch.zeros(shape, requires_grad=True))
        if g is not None:
            ours[-1].grad, theirs[-1].grad = hpnn.tensor(g.copy()), torch.tensor(g)
    return ours, theirs


def _assert_same_grads(ours, theirs):
    for p, t in zip(ours, theirs):
        if t.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("norm_type", [2.0, 1, float("inf"), "inf", 3.5, 0.5])
@pytest.mark.parametrize("max_norm", [0.7, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(), (3, 4), (2, 1, 2, 3)]]
    ours, theirs = _grad_pairs(grads[:2] + [None] + grads[2:])
    a = nn.utils.clip_grad_norm_(ours, max_norm, norm_type, foreach=None)
    b = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert a.shape == () and a.dtype == np.float32
    assert a.item() == pytest.approx(b.item(), rel=1e-6)
    _assert_same_grads(ours, theirs)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_clip_grad_norm_with_nonfinite_gradients_matches_torch(bad):
    grads = [np.array([1.0, bad], np.float32), np.array([3.0], np.float32)]
    ours, theirs = _grad_pairs(grads)
    a = nn.utils.clip_grad_norm_(ours, 1.0)
    b = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    np.testing.assert_equal(a.item(), b.item())
    _assert_same_grads(ours, theirs)  # NaN everywhere (NaN norm) or inf * 0 as torch
    for clip in (nn.utils.clip_grad_norm_, torch.nn.utils.clip_grad_norm_):
        with pytest.raises(RuntimeError, match="non-finite"):
            clip(_grad_pairs(grads)[clip is torch.nn.utils.clip_grad_norm_], 1.0,
                 error_if_nonfinite=True)


def test_total_norm_split_clipping_and_empty_inputs_match_torch():
    rng = np.random.default_rng(6)
    grads = [rng.standard_normal(s).astype(np.float32) * 4 for s in [(5,), (2, 2)]]
    ours, theirs = _grad_pairs(grads)
    for norm_type in (2.0, 1.0, float("inf")):
        a = nn.utils.get_total_norm([p.grad for p in ours], norm_type)
        b = torch.nn.utils.get_total_norm([t.grad for t in theirs], norm_type)
        assert a.item() == pytest.approx(b.item(), rel=1e-6)
    nn.utils.clip_grads_with_norm_(ours, 2.0, a)
    torch.nn.utils.clip_grads_with_norm_(theirs, 2.0, b)
    _assert_same_grads(ours, theirs)
    empty_ours, empty_theirs = _grad_pairs([None, None])
    assert nn.utils.clip_grad_norm_(empty_ours, 1.0).item() == \
        torch.nn.utils.clip_grad_norm_(empty_theirs, 1.0).item() == 0.0
    nn.utils.clip_grad_value_(ours[0], 0.5, foreach=None)  # a single tensor
    torch.nn.utils.clip_grad_value_(theirs[0], 0.5)
    nn.utils.clip_grad_value_(ours + empty_ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs + empty_theirs, 1.5)
    _assert_same_grads(ours + empty_ours, theirs + empty_theirs)

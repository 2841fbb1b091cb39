"""LinearLR, ConstantLR, PolynomialLR, SequentialLR, ChainedScheduler,
CosineAnnealingWarmRestarts and CyclicLR: lr (and momentum) sequences against PyTorch's."""
import warnings

import numpy as np
import pytest

import hpnn
import hpnn.nn as nn

torch = pytest.importorskip("torch", reason="torch is the oracle of these parity tests")

STEPS = 40
FACTORIES = {
    "linear": lambda s, o: s.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=7),
    "constant": lambda s, o: s.ConstantLR(o, factor=0.5, total_iters=4),
    "polynomial": lambda s, o: s.PolynomialLR(o, total_iters=12, power=2.0),
    "sequential": lambda s, o: s.SequentialLR(o, [
        s.LinearLR(o, start_factor=0.1, total_iters=5), s.StepLR(o, step_size=4, gamma=0.5),
        s.CosineAnnealingLR(o, T_max=6)], milestones=[5, 17]),
    "chained": lambda s, o: s.ChainedScheduler([s.ConstantLR(o, factor=0.5, total_iters=6),
                                                s.ExponentialLR(o, gamma=0.9)]),
    "warm_restarts": lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                                eta_min=0.001),
    "warm_restarts_1": lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=5),
    "cyclic": lambda s, o: s.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                      step_size_down=6),
    "cyclic2": lambda s, o: s.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3,
                                       mode="triangular2", base_momentum=0.7),
    "cyclic_exp": lambda s, o: s.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5,
                                          mode="exp_range", gamma=0.95, cycle_momentum=False),
}


def _optimizer(lib, name="SGD"):
    if lib is hpnn:
        params = [nn.Parameter(np.zeros(1, np.float32)), nn.Parameter(np.zeros(1, np.float32))]
    else:
        params = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
    extra = {"momentum": 0.9} if name == "SGD" else {}
    return getattr(lib.optim, name)([{"params": params[:1]},
                                     {"params": params[1:], "lr": 0.05}], lr=0.1, **extra)


def _sequence(lib, factory, steps=STEPS, optimizer_name="SGD"):
    opt = _optimizer(lib, optimizer_name)
    scheduler = factory(lib.optim.lr_scheduler, opt)
    out = [scheduler.get_last_lr()]
    for _ in range(steps):
        opt.step()
        scheduler.step()
        group = opt.param_groups[0]
        out.append(scheduler.get_last_lr() + [group.get("momentum", group.get("betas"))])
    return out, scheduler, opt


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_lr_sequence_matches_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "step the optimizer first" notices
        theirs, _, _ = _sequence(torch, FACTORIES[name])
    ours, _, _ = _sequence(hpnn, FACTORIES[name])
    assert len(ours) == STEPS + 1
    for step, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(np.array(a, dtype=object).astype(float),
                                   np.array(b, dtype=object).astype(float),
                                   rtol=1e-12, atol=1e-15, err_msg=f"step {step}")


def test_cyclic_lr_cycles_adam_beta1_as_torch():
    factory = FACTORIES["cyclic"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, _, _ = _sequence(torch, factory, 15, "Adam")
    ours, _, _ = _sequence(hpnn, factory, 15, "Adam")
    np.testing.assert_allclose([row[:2] for row in ours], [row[:2] for row in theirs],
                               rtol=1e-12)
    assert [row[2][0] for row in ours[1:]] == pytest.approx([row[2][0] for row in theirs[1:]])


@pytest.mark.parametrize("name", ["sequential", "chained", "warm_restarts", "cyclic",
                                  "polynomial"])
def test_state_dict_round_trip_continues_as_uninterrupted(name):
    whole, _, _ = _sequence(hpnn, FACTORIES[name], 30)
    first, scheduler, opt = _sequence(hpnn, FACTORIES[name], 12)
    saved, saved_opt = scheduler.state_dict(), opt.state_dict()
    opt2 = _optimizer(hpnn)
    scheduler2 = FACTORIES[name](hpnn.optim.lr_scheduler, opt2)
    opt2.load_state_dict(saved_opt)
    scheduler2.load_state_dict(saved)
    rest = []
    for _ in range(18):
        opt2.step()
        scheduler2.step()
        group = opt2.param_groups[0]
        rest.append(scheduler2.get_last_lr() + [group.get("momentum")])
    assert first + rest == whole


def test_warm_restarts_epoch_jump_matches_torch():
    ours, theirs = _optimizer(hpnn), _optimizer(torch)
    s = hpnn.optim.lr_scheduler.CosineAnnealingWarmRestarts(ours, T_0=3, T_mult=2)
    t = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(theirs, T_0=3, T_mult=2)
    for epoch in [0.5, 1.25, 4, 9.5, 20, 2]:
        s.step(epoch)
        t.step(epoch)
        assert s.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12)


def test_composites_check_their_members():
    sched = hpnn.optim.lr_scheduler
    opt, other = _optimizer(hpnn), _optimizer(hpnn)
    with pytest.raises(ValueError, match="same optimizer"):
        sched.SequentialLR(opt, [sched.StepLR(opt, 2), sched.StepLR(other, 2)], [3])
    with pytest.raises(ValueError, match="milestone"):
        sched.SequentialLR(opt, [sched.StepLR(opt, 2), sched.StepLR(opt, 2)], [3, 4])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        sched.ChainedScheduler([sched.ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError, match="no parameters"):
        sched.LinearLR(hpnn.optim.SGD(lr=0.1))

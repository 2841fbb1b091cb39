"""SGD, Adam, AdamW, RMSprop and Adagrad: hyper-parameters, checks, and the step kernel call.
Signatures, defaults, group options and checks as torch.optim; ``foreach``, ``fused`` and
``capturable`` are accepted and recorded in the groups as PyTorch does, but change nothing (the
steps are always one fused kernel over the group)."""
from __future__ import annotations

import numpy as np

from ..backend import kernel
from .optimizer import Optimizer, check_range


def _check_betas_and_eps(group):
    """The Adam family's checks: eps >= 0, each beta in [0, 1)."""
    check_range("eps", "Invalid epsilon value", group["eps"], 0.0)
    for i, beta in enumerate(group["betas"]):
        check_range(f"betas[{i}]", f"Invalid beta parameter at index {i}", beta, 0.0, 1.0,
                    high_open=True)


class SGD(Optimizer):
    state_names = ("momentum_buffer",)
    counts_steps = False  # torch's SGD state is only the momentum buffer

    def __init__(self, params=None, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _validate(self, group):
        super()._validate(group)
        check_range("momentum", "Invalid momentum value", group["momentum"], 0.0)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening "
                             "(nesterov=True needs momentum > 0 and dampening = 0)")

    def _update(self, group, param, grad, state, step, fresh):
        momentum = group["momentum"]
        first_step = fresh("momentum_buffer")  # as torch: no buffer yet -> buf = grad
        buffer = state("momentum_buffer") if momentum != 0 else None
        kernel("sgd_step")(param, grad, buffer, lr=group["lr"], momentum=momentum,
                           dampening=group["dampening"], nesterov=group["nesterov"],
                           weight_decay=group["weight_decay"], maximize=group["maximize"],
                           first_step=first_step)


class Adam(Optimizer):
    """Adam; ``decoupled_weight_decay=True`` makes it AdamW (as torch.optim.Adam)."""

    state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _validate(self, group):
        super()._validate(group)
        _check_betas_and_eps(group)

    def _update(self, group, param, grad, state, step, fresh):
        beta1, beta2 = group["betas"]
        kernel("adam_step")(
            param, grad, state("exp_avg"), state("exp_avg_sq"),
            state("max_exp_avg_sq") if group["amsgrad"] else None, step=step, lr=group["lr"],
            beta1=beta1, beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
            amsgrad=group["amsgrad"], decoupled_weight_decay=group["decoupled_weight_decay"],
            maximize=group["maximize"])


class AdamW(Adam):
    """Adam with decoupled weight decay (param *= 1 - lr * weight_decay)."""

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         foreach=foreach, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)


class RMSprop(Optimizer):
    state_names = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params=None, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def _validate(self, group):
        super()._validate(group)
        check_range("alpha", "Invalid alpha value", group["alpha"], 0.0)
        check_range("eps", "Invalid epsilon value", group["eps"], 0.0)
        check_range("momentum", "Invalid momentum value", group["momentum"], 0.0)

    def _update(self, group, param, grad, state, step, fresh):
        kernel("rmsprop_step")(
            param, grad, state("square_avg"), state("grad_avg") if group["centered"] else None,
            state("momentum_buffer") if group["momentum"] > 0 else None, lr=group["lr"],
            alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
            momentum=group["momentum"], centered=group["centered"], maximize=group["maximize"])


class Adagrad(Optimizer):
    """As torch.optim.Adagrad, the accumulators of the parameters given at construction exist
    from the start (step 0), and every accumulator starts at the constructor's
    ``initial_accumulator_value`` (a group's own value is not used, as in PyTorch)."""

    state_names = ("sum",)

    def __init__(self, params=None, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))

    def _after_bind(self):
        for flat in self._flat:
            flat.buffer("sum")[...] = self.defaults["initial_accumulator_value"]
            flat.names = [{"sum"} for _ in flat.names]
            flat.has_state = [True] * len(flat.has_state)

    def _validate(self, group):
        super()._validate(group)
        check_range("lr_decay", "Invalid lr_decay value", group["lr_decay"], 0.0)
        check_range("initial_accumulator_value", "Invalid initial_accumulator_value value",
                    group["initial_accumulator_value"], 0.0)
        check_range("eps", "Invalid epsilon value", group["eps"], 0.0)

    def _update(self, group, param, grad, state, step, fresh):
        kernel("adagrad_step")(
            param, grad, state("sum"), step=step, lr=group["lr"],
            lr_decay=group["lr_decay"], weight_decay=group["weight_decay"],
            initial_accumulator_value=self.defaults["initial_accumulator_value"],
            eps=group["eps"], maximize=group["maximize"])


class Adadelta(Optimizer):
    state_names = ("square_avg", "acc_delta")
    dtypes = (np.float32, np.float64)  # numpy step (hpnn.reference) on any float dtype

    def __init__(self, params=None, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, foreach=None,
                 *, capturable=False, maximize=False, differentiable=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, capturable=capturable, foreach=foreach,
                                      differentiable=differentiable))

    def _validate(self, group):
        super()._validate(group)
        check_range("rho", "Invalid rho value", group["rho"], 0.0, 1.0)
        check_range("eps", "Invalid epsilon value", group["eps"], 0.0)

    def _update(self, group, param, grad, state, step, fresh):
        kernel("adadelta_step")(param, grad, state("square_avg"), state("acc_delta"),
                                lr=group["lr"], rho=group["rho"], eps=group["eps"],
                                weight_decay=group["weight_decay"], maximize=group["maximize"])


class _AdamFamily(Optimizer):
    """Checks shared by Adamax, NAdam and RAdam (betas in [0, 1), eps >= 0)."""

    dtypes = (np.float32, np.float64)

    def _validate(self, group):
        super()._validate(group)
        _check_betas_and_eps(group)


class Adamax(_AdamFamily):
    state_names = ("exp_avg", "exp_inf")

    def __init__(self, params=None, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update(self, group, param, grad, state, step, fresh):
        beta1, beta2 = group["betas"]
        kernel("adamax_step")(param, grad, state("exp_avg"), state("exp_inf"), step=step,
                              lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                              weight_decay=group["weight_decay"], maximize=group["maximize"])


class NAdam(_AdamFamily):
    state_names = ("exp_avg", "exp_avg_sq")
    scalar_names = ("mu_product",)

    def __init__(self, params=None, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _validate(self, group):
        super()._validate(group)
        check_range("momentum_decay", "Invalid momentum_decay value", group["momentum_decay"],
                    0.0)

    def _update(self, group, param, grad, state, step, fresh):
        beta1, beta2 = group["betas"]
        kernel("nadam_step")(param, grad, state("exp_avg"), state("exp_avg_sq"),
                             state("mu_product"), step=step, lr=group["lr"], beta1=beta1,
                             beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
                             momentum_decay=group["momentum_decay"],
                             decoupled_weight_decay=group["decoupled_weight_decay"],
                             maximize=group["maximize"])


class RAdam(_AdamFamily):
    state_names = ("exp_avg", "exp_avg_sq")

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def _update(self, group, param, grad, state, step, fresh):
        beta1, beta2 = group["betas"]
        kernel("radam_step")(param, grad, state("exp_avg"), state("exp_avg_sq"), step=step,
                             lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                             weight_decay=group["weight_decay"],
                             decoupled_weight_decay=group["decoupled_weight_decay"],
                             maximize=group["maximize"])


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad,
              "adadelta": Adadelta, "adamax": Adamax, "nadam": NAdam, "radam": RAdam}


def get(name, params=None, **kwargs):
    """An optimizer by (case-insensitive) name, e.g. get('adam', model.parameters()); without
    params it is unbound (Keras style, bound by compile)."""
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[key](params, **kwargs)

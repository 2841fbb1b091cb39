"""Keras optimizers: Keras' argument names and defaults over hpnn's fused optimizer steps.

Built without variables; ``Model.compile`` binds the model's parameters, or the first
``apply_gradients(zip(grads, variables))`` binds those variables (as Keras builds its
optimizer on first use). Update rules, as Keras 3 states them:
- SGD (momentum, nesterov) and Nadam are exactly PyTorch's for a constant learning rate.
- Adam/AdamW: Keras adds epsilon to sqrt(v) before the sqrt(1 - beta_2^t) bias correction;
  each step sets PyTorch's eps to epsilon / sqrt(1 - beta_2^t), which is the same update.
- RMSprop, Adagrad and Adadelta add epsilon to the second moment at a slightly different
  place than Keras (sqrt(v) + eps rather than sqrt(v + eps)) and Adamax inside the max;
  with Keras' epsilon = 1e-7 the difference is far below float32 rounding of the update
  unless the gradients are themselves ~1e-7.
"""
from __future__ import annotations

import math

from .. import optim
from ..tensor import Tensor


class KerasOptimizer:
    """Mixin: ``learning_rate``, ``iterations``, ``apply_gradients`` and Keras' clipping."""

    def _keras_setup(self, name, clipnorm, clipvalue, global_clipnorm, kwargs):
        unsupported = {k: v for k, v in kwargs.items()
                       if k in ("use_ema", "loss_scale_factor", "gradient_accumulation_steps")
                       and v not in (None, False)}
        unknown = set(kwargs) - {"use_ema", "ema_momentum", "ema_overwrite_frequency",
                                 "loss_scale_factor", "gradient_accumulation_steps", "jit_compile"}
        owner = type(self).__name__
        if unknown:
            raise TypeError(f"{owner}: unexpected arguments {sorted(unknown)}")
        if unsupported:
            raise NotImplementedError(f"{owner}: {sorted(unsupported)} are not supported")
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"{owner}: give at most one of clipnorm, clipvalue and "
                             "global_clipnorm")
        self.name, self.iterations = name or owner.lower(), 0
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm

    @property
    def learning_rate(self):
        groups = self.param_groups or [self.defaults]
        return groups[0]["lr"]

    @learning_rate.setter
    def learning_rate(self, value):
        self.defaults["lr"] = value
        for group in self.param_groups:
            group["lr"] = value

    lr = learning_rate

    def build(self, variables):
        """Bind ``variables`` (Keras' optimizer.build)."""
        if not self.param_groups:
            self._bind(list(variables))

    def apply_gradients(self, grads_and_vars):
        """One step from ``zip(gradients, variables)`` (gradients from GradientTape.gradient
        or any array-likes); variables paired with a None gradient are left as they are."""
        pairs = list(grads_and_vars)
        if not pairs:
            raise ValueError("apply_gradients: got no (gradient, variable) pairs")
        self.build(v for _, v in pairs)
        bound = [p for group in self.param_groups for p in group["params"]]
        known = {id(p) for p in bound}
        for _, var in pairs:
            if id(var) not in known:
                raise ValueError("apply_gradients: a variable that this optimizer was not "
                                 "built with (it is built for the variables of its first "
                                 "apply_gradients call or of model.compile)")
        saved = [p.grad for p in bound]
        for p in bound:
            p.grad = None
        try:
            for grad, var in pairs:
                if grad is not None:
                    var.grad = Tensor(grad._array if isinstance(grad, Tensor) else grad)
            self.step()
        finally:
            for p, grad in zip(bound, saved):
                p.grad = grad
        return self.iterations

    def _clip_gradients(self):
        grads = [p.grad for group in self.param_groups for p in group["params"]
                 if p.grad is not None]
        if self.clipvalue is not None:
            for g in grads:
                g._array.clip(-self.clipvalue, self.clipvalue, out=g._array)
        norms = [float((g._array.astype("float64") ** 2).sum()) ** 0.5 for g in grads]
        if self.clipnorm is not None:  # each gradient on its own
            for g, norm in zip(grads, norms):
                if norm > self.clipnorm:
                    g._array *= self.clipnorm / norm
        if self.global_clipnorm is not None:
            total = math.sqrt(sum(n * n for n in norms))
            if total > self.global_clipnorm:
                for g in grads:
                    g._array *= self.global_clipnorm / total

    def _before_step(self):
        """Hook run before each update (Adam's per-step epsilon)."""

    def step(self, closure=None):
        self._require_bound("step()")
        if closure is not None:
            raise NotImplementedError(f"{type(self).__name__}.step: closures are not supported")
        self._clip_gradients()
        self._before_step()
        super().step()
        self.iterations += 1


def _common(kwargs):
    return {k: kwargs.pop(k, None) for k in ("clipnorm", "clipvalue", "global_clipnorm")}


class SGD(KerasOptimizer, optim.SGD):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name=None, **kwargs):
        clip = _common(kwargs)
        optim.SGD.__init__(self, None, lr=learning_rate, momentum=momentum, nesterov=nesterov)
        self._keras_setup(name, **clip, kwargs=kwargs)


class _KerasEpsilonAdam(KerasOptimizer):
    """Keras' epsilon-hat: PyTorch's eps = epsilon / sqrt(1 - beta_2^t) gives Keras' step."""

    def _before_step(self):
        t = self.iterations + 1
        for group in self.param_groups:
            group["eps"] = self.epsilon / math.sqrt(1.0 - group["betas"][1] ** t)


class Adam(_KerasEpsilonAdam, optim.Adam):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name=None, **kwargs):
        clip = _common(kwargs)
        optim.Adam.__init__(self, None, lr=learning_rate, betas=(beta_1, beta_2), eps=epsilon,
                            amsgrad=amsgrad)
        self.epsilon = epsilon
        self._keras_setup(name, **clip, kwargs=kwargs)


class AdamW(_KerasEpsilonAdam, optim.AdamW):
    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name=None, **kwargs):
        clip = _common(kwargs)
        optim.AdamW.__init__(self, None, lr=learning_rate, betas=(beta_1, beta_2), eps=epsilon,
                             weight_decay=weight_decay, amsgrad=amsgrad)
        self.epsilon = epsilon
        self._keras_setup(name, **clip, kwargs=kwargs)


class RMSprop(KerasOptimizer, optim.RMSprop):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name=None, **kwargs):
        clip = _common(kwargs)
        optim.RMSprop.__init__(self, None, lr=learning_rate, alpha=rho, eps=epsilon,
                               momentum=momentum, centered=centered)
        self._keras_setup(name, **clip, kwargs=kwargs)


class Adagrad(KerasOptimizer, optim.Adagrad):
    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name=None, **kwargs):
        clip = _common(kwargs)
        optim.Adagrad.__init__(self, None, lr=learning_rate, eps=epsilon,
                               initial_accumulator_value=initial_accumulator_value)
        self._keras_setup(name, **clip, kwargs=kwargs)


class Adadelta(KerasOptimizer, optim.Adadelta):
    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name=None, **kwargs):
        clip = _common(kwargs)
        optim.Adadelta.__init__(self, None, lr=learning_rate, rho=rho, eps=epsilon)
        self._keras_setup(name, **clip, kwargs=kwargs)


class Adamax(KerasOptimizer, optim.Adamax):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name=None,
                 **kwargs):
        clip = _common(kwargs)
        optim.Adamax.__init__(self, None, lr=learning_rate, betas=(beta_1, beta_2), eps=epsilon)
        self._keras_setup(name, **clip, kwargs=kwargs)


class Nadam(KerasOptimizer, optim.NAdam):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name=None,
                 **kwargs):
        clip = _common(kwargs)
        # momentum_decay 0.004: Keras' fixed 0.96 ** (0.004 * t) momentum schedule
        optim.NAdam.__init__(self, None, lr=learning_rate, betas=(beta_1, beta_2), eps=epsilon,
                             momentum_decay=0.004)
        self._keras_setup(name, **clip, kwargs=kwargs)


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad,
            "adadelta": Adadelta, "adamax": Adamax, "nadam": Nadam}


def get(identifier):
    """An optimizer with Keras' defaults from a name ('adam', 'sgd', ...); an optimizer
    instance (Keras' or hpnn.optim's) is returned as it is."""
    if isinstance(identifier, optim.Optimizer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ValueError(f"unknown optimizer {identifier!r}; choose one of "
                             f"{sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    raise TypeError(f"optimizer must be a name or an Optimizer, got {identifier!r}")

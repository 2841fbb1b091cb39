"""Optimizer steps: fused native float32 kernels with the signatures of
``hpnn.reference.optim``, updating param and state in place. Calls the native path does not
take (other dtypes, bad shapes or hyper-parameters) go to the reference, which computes or
raises exactly as documented there; a float32 param or state buffer that is not C-contiguous
raises ValueError (the kernels never update a copy)."""
from .._C import kernels as _native
from ..reference import optim as _ref

__all__ = ["sgd_step", "adam_step", "rmsprop_step", "adagrad_step"]


def sgd_step(param, grad, momentum_buffer, *, lr, momentum=0.0, dampening=0.0, nesterov=False,
             weight_decay=0.0, maximize=False, first_step=False):
    done = _native._sgd_step(param, grad, momentum_buffer, lr, momentum, dampening,
                             bool(nesterov), weight_decay, bool(maximize), bool(first_step))
    if done is NotImplemented:
        _ref.sgd_step(param, grad, momentum_buffer, lr=lr, momentum=momentum,
                      dampening=dampening, nesterov=nesterov, weight_decay=weight_decay,
                      maximize=maximize, first_step=first_step)


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1=0.9,
              beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False,
              decoupled_weight_decay=False, maximize=False):
    done = _native._adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1,
                              beta2, eps, weight_decay, bool(amsgrad),
                              bool(decoupled_weight_decay), bool(maximize))
    if done is NotImplemented:
        _ref.adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step=step, lr=lr,
                       beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                       amsgrad=amsgrad, decoupled_weight_decay=decoupled_weight_decay,
                       maximize=maximize)


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buffer, *, lr, alpha=0.99,
                 eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    done = _native._rmsprop_step(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha,
                                 eps, weight_decay, momentum, bool(centered), bool(maximize))
    if done is NotImplemented:
        _ref.rmsprop_step(param, grad, square_avg, grad_avg, momentum_buffer, lr=lr, alpha=alpha,
                          eps=eps, weight_decay=weight_decay, momentum=momentum,
                          centered=centered, maximize=maximize)


def adagrad_step(param, grad, state_sum, *, step, lr, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    done = _native._adagrad_step(param, grad, state_sum, step, lr, lr_decay, weight_decay,
                                 initial_accumulator_value, eps, bool(maximize))
    if done is NotImplemented:
        _ref.adagrad_step(param, grad, state_sum, step=step, lr=lr, lr_decay=lr_decay,
                          weight_decay=weight_decay,
                          initial_accumulator_value=initial_accumulator_value, eps=eps,
                          maximize=maximize)

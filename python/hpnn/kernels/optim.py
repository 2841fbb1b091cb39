"""Optimizer steps: fused native float32 kernels with the signatures of
``hpnn.reference.optim``, updating param and state in place. param, grad and the state buffers
must be float32 (other dtypes raise TypeError naming the argument, see _checks.py; a state
buffer may be None where the step does not need it). Calls the native path cannot take
otherwise (bad shapes, read-only buffers, bad hyper-parameters) go to the reference only for it
to raise its error; a param or state buffer that is not C-contiguous raises ValueError (the
kernels never update a copy)."""
from .._C import kernels as _native
from ..reference import optim as _reference
from ._checks import Deferring, require_float32, require_float32_or_none

# The numpy twins, for the calls the native path declines; their errors name the kernel.
_ref = Deferring(_reference)

__all__ = ["sgd_step", "adam_step", "rmsprop_step", "adagrad_step"]


def _check(fn, param, grad, **state):
    require_float32(fn, "param", param)
    require_float32(fn, "grad", grad)
    for name, buffer in state.items():
        require_float32_or_none(fn, name, buffer)


def sgd_step(param, grad, momentum_buffer, *, lr, momentum=0.0, dampening=0.0, nesterov=False,
             weight_decay=0.0, maximize=False, first_step=False):
    _check("sgd_step", param, grad, momentum_buffer=momentum_buffer)
    done = _native._sgd_step(param, grad, momentum_buffer, lr, momentum, dampening,
                             bool(nesterov), weight_decay, bool(maximize), bool(first_step))
    if done is NotImplemented:
        _ref.sgd_step(param, grad, momentum_buffer, lr=lr, momentum=momentum,
                      dampening=dampening, nesterov=nesterov, weight_decay=weight_decay,
                      maximize=maximize, first_step=first_step)


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1=0.9,
              beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False,
              decoupled_weight_decay=False, maximize=False):
    _check("adam_step", param, grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq,
           max_exp_avg_sq=max_exp_avg_sq)
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
    _check("rmsprop_step", param, grad, square_avg=square_avg, grad_avg=grad_avg,
           momentum_buffer=momentum_buffer)
    done = _native._rmsprop_step(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha,
                                 eps, weight_decay, momentum, bool(centered), bool(maximize))
    if done is NotImplemented:
        _ref.rmsprop_step(param, grad, square_avg, grad_avg, momentum_buffer, lr=lr, alpha=alpha,
                          eps=eps, weight_decay=weight_decay, momentum=momentum,
                          centered=centered, maximize=maximize)


def adagrad_step(param, grad, state_sum, *, step, lr, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    _check("adagrad_step", param, grad, state_sum=state_sum)
    done = _native._adagrad_step(param, grad, state_sum, step, lr, lr_decay, weight_decay,
                                 initial_accumulator_value, eps, bool(maximize))
    if done is NotImplemented:
        _ref.adagrad_step(param, grad, state_sum, step=step, lr=lr, lr_decay=lr_decay,
                          weight_decay=weight_decay,
                          initial_accumulator_value=initial_accumulator_value, eps=eps,
                          maximize=maximize)

"""Single-parameter optimizer steps following torch.optim (SGD, Adam/AdamW, RMSprop, Adagrad).

Every step updates ``param`` and its state buffers IN PLACE and returns None. ``param`` and the
buffers are numpy float arrays of any shape (the buffers shaped like ``param``); ``grad`` is
read only. Arithmetic happens in param's dtype with python-float hyper-parameters, in the
operation order of PyTorch's single-tensor (for-loop) implementations. State initialisation
(zeros, as PyTorch does) is the caller's job, except where a flag below says otherwise.
"""
import math

import numpy as np

from .activation import _check_same_shape, _float_array


def _writable(array, name, like=None):
    """``array`` must be a writable float ndarray shaped like ``like`` (it is updated in place)."""
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name} must be a floating-point numpy array (it is updated in place)")
    if not array.flags.writeable:
        raise ValueError(f"{name} must be writable")
    if like is not None:
        _check_same_shape(like, array, "param", name)
    return array


def _buffer(buffer, name, param, needed, reason):
    if buffer is None:
        if needed:
            raise ValueError(f"{name} is required {reason}")
        return None
    return _writable(buffer, name, param)


def _checked_grad(param, grad, maximize):
    """grad as param's dtype, negated when maximizing."""
    grad = _float_array(grad, "grad")
    _check_same_shape(param, grad, "param", "grad")
    grad = grad.astype(param.dtype, copy=False)
    return -grad if maximize else grad


def _check_range(value, name, low, high=math.inf, low_open=False, high_open=False):
    """ValueError unless value lies in the interval from low to high (open ends as flagged)."""
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below):
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value}")


def _check_adam_options(step, lr, beta1, beta2, eps, weight_decay):
    """The Adam family's scalar checks: step >= 1, lr, eps, weight_decay >= 0, betas in [0, 1)."""
    _check_step(step)
    _check_range(lr, "lr", 0.0)
    _check_range(beta1, "beta1", 0.0, 1.0, high_open=True)
    _check_range(beta2, "beta2", 0.0, 1.0, high_open=True)
    _check_range(eps, "eps", 0.0)
    _check_range(weight_decay, "weight_decay", 0.0)


def _check_step(step):
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise TypeError(f"step must be an int, got {type(step).__name__}")
    if step < 1:
        raise ValueError(f"step must be >= 1 (1-based count after increment), got {step}")


def _lerp_(start, end, weight):
    """In-place torch.lerp: start + weight (end - start), computed from the nearer end."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def _with_weight_decay(grad, param, weight_decay):
    return grad + weight_decay * param if weight_decay != 0 else grad


def sgd_step(param, grad, momentum_buffer, *, lr, momentum=0.0, dampening=0.0, nesterov=False,
             weight_decay=0.0, maximize=False, first_step=False):
    """torch.optim.SGD update:

        g = (-grad if maximize else grad) + weight_decay * param
        if momentum != 0:
            buf = g if first_step else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        param -= lr * g

    momentum_buffer may be None when momentum == 0; on first_step it is overwritten with g.
    nesterov requires momentum > 0 and dampening == 0.
    """
    _writable(param, "param")
    _check_range(lr, "lr", 0.0)
    _check_range(momentum, "momentum", 0.0)
    _check_range(weight_decay, "weight_decay", 0.0)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("nesterov requires momentum > 0 and dampening == 0")
    momentum_buffer = _buffer(momentum_buffer, "momentum_buffer", param, momentum != 0,
                              "when momentum != 0")
    g = _with_weight_decay(_checked_grad(param, grad, maximize), param, weight_decay)
    if momentum != 0:
        if first_step:
            momentum_buffer[...] = g
        else:
            momentum_buffer *= momentum
            momentum_buffer += (1 - dampening) * g
        g = g + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * g


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1=0.9,
              beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False,
              decoupled_weight_decay=False, maximize=False):
    """torch.optim.Adam (decoupled_weight_decay=True: torch.optim.AdamW) update, ``step`` being
    the 1-based step count after increment:

        g = -grad if maximize else grad
        if decoupled: param *= 1 - lr * weight_decay   else: g = g + weight_decay * param
        exp_avg = lerp(exp_avg, g, 1 - beta1)
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        v = max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq) if amsgrad else exp_avg_sq
        denom = sqrt(v) / sqrt(1 - beta2**step) + eps
        param -= lr / (1 - beta1**step) * exp_avg / denom

    max_exp_avg_sq may be None unless amsgrad.
    """
    _writable(param, "param")
    _check_adam_options(step, lr, beta1, beta2, eps, weight_decay)
    exp_avg = _buffer(exp_avg, "exp_avg", param, True, "by this optimizer")
    exp_avg_sq = _buffer(exp_avg_sq, "exp_avg_sq", param, True, "by this optimizer")
    max_exp_avg_sq = _buffer(max_exp_avg_sq, "max_exp_avg_sq", param, amsgrad,
                             "when amsgrad=True")
    g = _checked_grad(param, grad, maximize)
    if decoupled_weight_decay:
        param *= 1 - lr * weight_decay
    else:
        g = _with_weight_decay(g, param, weight_decay)
    _lerp_(exp_avg, g, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    second_moment = max_exp_avg_sq if amsgrad else exp_avg_sq
    denom = np.sqrt(second_moment) / math.sqrt(1 - beta2**step) + param.dtype.type(eps)
    param += -(lr / (1 - beta1**step)) * (exp_avg / denom)


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buffer, *, lr, alpha=0.99,
                 eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    """torch.optim.RMSprop update:

        g = (-grad if maximize else grad) + weight_decay * param
        square_avg = alpha * square_avg + (1 - alpha) * g * g
        if centered: grad_avg = lerp(grad_avg, g, 1 - alpha); avg = sqrt(square_avg - grad_avg**2)
        else: avg = sqrt(square_avg)
        avg = avg + eps
        if momentum > 0: buf = momentum * buf + g / avg; param -= lr * buf
        else: param -= lr * g / avg

    grad_avg may be None unless centered; momentum_buffer may be None unless momentum > 0.
    """
    _writable(param, "param")
    _check_range(lr, "lr", 0.0)
    _check_range(alpha, "alpha", 0.0)
    _check_range(eps, "eps", 0.0)
    _check_range(weight_decay, "weight_decay", 0.0)
    _check_range(momentum, "momentum", 0.0)
    square_avg = _buffer(square_avg, "square_avg", param, True, "by this optimizer")
    grad_avg = _buffer(grad_avg, "grad_avg", param, centered, "when centered=True")
    momentum_buffer = _buffer(momentum_buffer, "momentum_buffer", param, momentum > 0,
                              "when momentum > 0")
    g = _with_weight_decay(_checked_grad(param, grad, maximize), param, weight_decay)
    square_avg *= alpha
    square_avg += (1 - alpha) * g * g
    if centered:
        _lerp_(grad_avg, g, 1 - alpha)
        avg = np.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = np.sqrt(square_avg)
    avg += param.dtype.type(eps)
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += g / avg
        param -= lr * momentum_buffer
    else:
        param += -lr * (g / avg)


def adagrad_step(param, grad, state_sum, *, step, lr, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    """torch.optim.Adagrad update, ``step`` being the 1-based step count after increment:

        if step == 1: state_sum[...] = initial_accumulator_value
        g = (-grad if maximize else grad) + weight_decay * param
        clr = lr / (1 + (step - 1) * lr_decay)
        state_sum += g * g
        param -= clr * g / (sqrt(state_sum) + eps)
    """
    _writable(param, "param")
    _check_step(step)
    _check_range(lr, "lr", 0.0)
    _check_range(lr_decay, "lr_decay", 0.0)
    _check_range(weight_decay, "weight_decay", 0.0)
    _check_range(initial_accumulator_value, "initial_accumulator_value", 0.0)
    _check_range(eps, "eps", 0.0)
    state_sum = _buffer(state_sum, "state_sum", param, True, "by this optimizer")
    if step == 1:
        state_sum[...] = initial_accumulator_value
    g = _with_weight_decay(_checked_grad(param, grad, maximize), param, weight_decay)
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum += g * g
    param += -clr * (g / (np.sqrt(state_sum) + param.dtype.type(eps)))


def _weight_decayed(param, g, lr, weight_decay, decoupled):
    """Apply weight decay as Adam/NAdam/RAdam do: shrink param (decoupled) or add to g."""
    if weight_decay == 0:
        return g
    if decoupled:
        param *= 1 - lr * weight_decay
        return g
    return g + weight_decay * param


def adadelta_step(param, grad, square_avg, acc_delta, *, lr=1.0, rho=0.9, eps=1e-6,
                  weight_decay=0.0, maximize=False):
    """torch.optim.Adadelta update:

        g = (-grad if maximize else grad) + weight_decay * param
        square_avg = rho * square_avg + (1 - rho) * g * g
        delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta * delta
        param -= lr * delta
    """
    _writable(param, "param")
    _check_range(lr, "lr", 0.0)
    _check_range(rho, "rho", 0.0, 1.0)
    _check_range(eps, "eps", 0.0)
    _check_range(weight_decay, "weight_decay", 0.0)
    square_avg = _buffer(square_avg, "square_avg", param, True, "by this optimizer")
    acc_delta = _buffer(acc_delta, "acc_delta", param, True, "by this optimizer")
    g = _with_weight_decay(_checked_grad(param, grad, maximize), param, weight_decay)
    square_avg *= rho
    square_avg += (1 - rho) * (g * g)
    delta = np.sqrt(acc_delta + param.dtype.type(eps)) / np.sqrt(square_avg +
                                                                  param.dtype.type(eps)) * g
    acc_delta *= rho
    acc_delta += (1 - rho) * (delta * delta)
    param += -lr * delta


def adamax_step(param, grad, exp_avg, exp_inf, *, step, lr=2e-3, beta1=0.9, beta2=0.999,
                eps=1e-8, weight_decay=0.0, maximize=False):
    """torch.optim.Adamax update, ``step`` being the 1-based step count after increment:

        g = (-grad if maximize else grad) + weight_decay * param
        exp_avg = lerp(exp_avg, g, 1 - beta1)
        exp_inf = max(beta2 * exp_inf, |g| + eps)
        param -= lr / (1 - beta1**step) * exp_avg / exp_inf
    """
    _writable(param, "param")
    _check_adam_options(step, lr, beta1, beta2, eps, weight_decay)
    exp_avg = _buffer(exp_avg, "exp_avg", param, True, "by this optimizer")
    exp_inf = _buffer(exp_inf, "exp_inf", param, True, "by this optimizer")
    g = _with_weight_decay(_checked_grad(param, grad, maximize), param, weight_decay)
    _lerp_(exp_avg, g, 1 - beta1)
    exp_inf *= beta2
    np.maximum(exp_inf, np.abs(g) + param.dtype.type(eps), out=exp_inf)
    param += -(lr / (1 - beta1**step)) * (exp_avg / exp_inf)


def nadam_step(param, grad, exp_avg, exp_avg_sq, mu_product, *, step, lr=2e-3, beta1=0.9,
               beta2=0.999, eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
               decoupled_weight_decay=False, maximize=False):
    """torch.optim.NAdam update; ``mu_product`` is a 0-d float32 array (1 before step 1):

        mu(t) = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay)); mu_product *= mu(step)
        exp_avg = lerp(exp_avg, g, 1 - beta1); exp_avg_sq = beta2 exp_avg_sq + (1-beta2) g g
        denom = sqrt(exp_avg_sq / (1 - beta2**step)) + eps
        param -= lr (1 - mu) / (1 - mu_product) g / denom
               + lr mu(step+1) / (1 - mu_product mu(step+1)) exp_avg / denom
    """
    _writable(param, "param")
    _check_adam_options(step, lr, beta1, beta2, eps, weight_decay)
    _check_range(momentum_decay, "momentum_decay", 0.0)
    exp_avg = _buffer(exp_avg, "exp_avg", param, True, "by this optimizer")
    exp_avg_sq = _buffer(exp_avg_sq, "exp_avg_sq", param, True, "by this optimizer")
    if not isinstance(mu_product, np.ndarray) or mu_product.shape != ():
        raise TypeError("mu_product must be a 0-d numpy array (it is updated in place)")
    g = _weight_decayed(param, _checked_grad(param, grad, maximize), lr, weight_decay,
                        decoupled_weight_decay)
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    mu_product *= mu
    product = float(mu_product)
    _lerp_(exp_avg, g, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * (g * g)
    denom = np.sqrt(exp_avg_sq / (1 - beta2**step)) + param.dtype.type(eps)
    param += (-lr * (1.0 - mu) / (1.0 - product)) * (g / denom)
    param += (-lr * mu_next / (1.0 - product * mu_next)) * (exp_avg / denom)


def radam_step(param, grad, exp_avg, exp_avg_sq, *, step, lr=1e-3, beta1=0.9, beta2=0.999,
               eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False, maximize=False):
    """torch.optim.RAdam update, ``step`` being the 1-based step count after increment:

        exp_avg, exp_avg_sq as Adam; m = exp_avg / (1 - beta1**step)
        rho_inf = 2 / (1 - beta2) - 1; rho = rho_inf - 2 step beta2**step / (1 - beta2**step)
        rho > 5: param -= lr m sqrt(1 - beta2**step) / (sqrt(exp_avg_sq) + eps) * rect(rho)
        else:    param -= lr m
    """
    _writable(param, "param")
    _check_adam_options(step, lr, beta1, beta2, eps, weight_decay)
    exp_avg = _buffer(exp_avg, "exp_avg", param, True, "by this optimizer")
    exp_avg_sq = _buffer(exp_avg_sq, "exp_avg_sq", param, True, "by this optimizer")
    g = _weight_decayed(param, _checked_grad(param, grad, maximize), lr, weight_decay,
                        decoupled_weight_decay)
    _lerp_(exp_avg, g, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * (g * g)
    bias_correction2 = 1 - beta2**step
    corrected = exp_avg / (1 - beta1**step)
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * step * (beta2**step) / bias_correction2
    if rho > 5.0:
        rect = ((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)) ** 0.5
        adaptive = bias_correction2**0.5 / (np.sqrt(exp_avg_sq) + param.dtype.type(eps))
        param -= corrected * lr * adaptive * rect
    else:
        param -= corrected * lr

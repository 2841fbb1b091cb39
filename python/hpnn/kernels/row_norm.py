"""Layer- and group-norm kernels: the signatures and argument rules of hpnn.reference.row_norm
(its helpers validate), native float32 compute on x viewed as (rows, D) for layer norm and as
(N, C, S) for group norm.

Every array argument must be float32, as for every hpnn.kernels function: other dtypes raise
TypeError naming the argument (hpnn.reference.row_norm, the numpy twin, also computes in other
float dtypes). The weight and bias gradients are bit-identical at any thread count.
"""
import math

from .._C import kernels as _native
from ..reference.row_norm import _check_eps, _group_input, _layer_input
from ._checks import require_float32, require_float32_or_none

__all__ = ["layer_norm_forward", "layer_norm_backward", "group_norm_forward",
           "group_norm_backward"]


def _flat_param(fn, name, value, shape):
    """A (prod(shape),) view of a parameter of exactly ``shape``; None stays None."""
    value = require_float32_or_none(fn, name, value)
    if value is None:
        return None
    if value.shape != tuple(shape):
        raise ValueError(f"{fn}: argument '{name}' shape {value.shape} must be {tuple(shape)}")
    return value.reshape(-1)


def _flat_stat(fn, name, value, count):
    value = require_float32_or_none(fn, name, value)
    if value is None or value.size != count:
        got = None if value is None else value.shape
        raise ValueError(f"{fn}: argument '{name}' must hold {count} values, got {got}")
    return value.reshape(-1)


def _named(fn, check, *args):
    """check(*args), its TypeError / ValueError naming the kernel as the bindings' do."""
    try:
        return check(*args)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{fn}: {error}") from None


def _layer(fn, x, normalized_shape):
    x, shape = _named(fn, _layer_input, require_float32(fn, "x", x), normalized_shape)
    d = math.prod(shape)
    return x, shape, x.reshape(-1, d) if x.size else x.reshape(0, d)


def layer_norm_forward(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """-> (y, mean, rstd), float32; mean and rstd have x's leading shape.
    See hpnn.reference.layer_norm_forward."""
    fn = "layer_norm_forward"
    x, shape, rows = _layer(fn, x, normalized_shape)
    _named(fn, _check_eps, eps)
    y, mean, rstd = _native.layer_norm_forward(
        rows, _flat_param(fn, "weight", weight, shape), _flat_param(fn, "bias", bias, shape),
        float(eps))
    lead = x.shape[:x.ndim - len(shape)]
    return y.reshape(x.shape), mean.reshape(lead), rstd.reshape(lead)


def layer_norm_backward(grad_y, x, normalized_shape, weight, mean, rstd, param_grads=True):
    """-> (grad_x, grad_weight, grad_bias); the last two (normalized_shape) are None unless
    param_grads."""
    fn = "layer_norm_backward"
    x, shape, rows = _layer(fn, x, normalized_shape)
    grad_y = require_float32(fn, "grad_y", grad_y)
    if grad_y.shape != x.shape:
        raise ValueError(f"{fn}: argument 'grad_y' shape {grad_y.shape} does not match x "
                         f"shape {x.shape}")
    grad_x, grad_w, grad_b = _native.layer_norm_backward(
        grad_y.reshape(rows.shape), rows, _flat_param(fn, "weight", weight, shape),
        _flat_stat(fn, "mean", mean, rows.shape[0]), _flat_stat(fn, "rstd", rstd, rows.shape[0]),
        bool(param_grads))
    if grad_w is None:
        return grad_x.reshape(x.shape), None, None
    return grad_x.reshape(x.shape), grad_w.reshape(shape), grad_b.reshape(shape)


def _grouped(fn, x, num_groups):
    x, groups = _named(fn, _group_input, require_float32(fn, "x", x), num_groups)
    return x, groups, x.reshape(x.shape[0], x.shape[1], -1 if x.size else 1)


def group_norm_forward(x, num_groups, weight=None, bias=None, eps=1e-5):
    """-> (y, mean, rstd), float32, mean and rstd of shape (N, num_groups).
    See hpnn.reference.group_norm_forward."""
    fn = "group_norm_forward"
    x, groups, flat = _grouped(fn, x, num_groups)
    _named(fn, _check_eps, eps)
    channels = (x.shape[1],)
    y, mean, rstd = _native.group_norm_forward(
        flat, groups, _flat_param(fn, "weight", weight, channels),
        _flat_param(fn, "bias", bias, channels), float(eps))
    return y.reshape(x.shape), mean.reshape(-1, groups), rstd.reshape(-1, groups)


def group_norm_backward(grad_y, x, num_groups, weight, mean, rstd, param_grads=True):
    """-> (grad_x, grad_weight, grad_bias); the last two ((C,)) are None unless param_grads."""
    fn = "group_norm_backward"
    x, groups, flat = _grouped(fn, x, num_groups)
    grad_y = require_float32(fn, "grad_y", grad_y)
    if grad_y.shape != x.shape:
        raise ValueError(f"{fn}: argument 'grad_y' shape {grad_y.shape} does not match x "
                         f"shape {x.shape}")
    rows = x.shape[0] * groups
    grad_x, grad_w, grad_b = _native.group_norm_backward(
        grad_y.reshape(flat.shape), flat, groups,
        _flat_param(fn, "weight", weight, (x.shape[1],)), _flat_stat(fn, "mean", mean, rows),
        _flat_stat(fn, "rstd", rstd, rows), bool(param_grads))
    return grad_x.reshape(x.shape), grad_w, grad_b

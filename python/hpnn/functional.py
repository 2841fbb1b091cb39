"""Neural-network ops (``hpnn.nn.functional``). Numeric work goes through ``backend.kernel``."""
from __future__ import annotations

import numpy as np

from . import random
from .autograd import Function
from .backend import kernel
from .tensor import Tensor, _tensor

__all__ = [
    "linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
    "relu", "leaky_relu",
    "sigmoid", "tanh", "gelu", "softmax", "log_softmax", "batch_norm", "dropout",
    "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "mse_loss", "flatten",
]


def _c32(array):
    """Contiguous float32 (what the native kernels want); no copy when it already is."""
    return np.ascontiguousarray(array, dtype=np.float32)


# ---- linear -----------------------------------------------------------------------------------
class Linear(Function):
    def forward(self, x, weight, bias=None):
        gemm = kernel("gemm")
        self.x, self.weight = x, weight
        rows = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        out = gemm(rows, weight, trans_b=True)
        if bias is not None:
            out += bias
        return out.reshape(*x.shape[:-1], weight.shape[0]) if x.ndim != 2 else out

    def backward(self, grad):
        gemm = kernel("gemm")
        x = self.x
        grad = grad.reshape(-1, grad.shape[-1]) if grad.ndim != 2 else grad
        rows = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        need = self.needs_input_grad
        grad_x = gemm(grad, self.weight).reshape(x.shape) if need[0] else None
        grad_w = gemm(grad, rows, trans_a=True) if need[1] else None
        grad_b = grad.sum(axis=0) if len(need) > 2 and need[2] else None
        return grad_x, grad_w, grad_b


def linear(input, weight, bias=None):
    """input @ weight.T + bias, with weight of shape (out_features, in_features)."""
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: argument 'input' has shape {tuple(input.shape)}, but its last "
                         f"dim must equal in_features={weight.shape[1]}")
    if input.data.dtype != np.float32:
        input = input.float()
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, bias)


# ---- activations ------------------------------------------------------------------------------
class _Activation(Function):
    """y = <name>_forward(x, **options); backward gets x, or y when ``saves_output``."""

    forward_kernel = backward_kernel = ""
    saves_output = False

    def forward(self, x, **options):
        y = kernel(self.forward_kernel)(x, **options)
        self.saved, self.options = (y if self.saves_output else x), options
        return y

    def backward(self, grad):
        return kernel(self.backward_kernel)(_c32(grad), self.saved, **self.options)


def _activation(name, saves_output=False):
    attrs = dict(forward_kernel=f"{name}_forward", backward_kernel=f"{name}_backward",
                 saves_output=saves_output)
    return type(name.title().replace("_", ""), (_Activation,), attrs)


ReLU, LeakyReLU, GELU = _activation("relu"), _activation("leaky_relu"), _activation("gelu")
Sigmoid, Tanh = _activation("sigmoid", True), _activation("tanh", True)
Softmax, LogSoftmax = _activation("softmax", True), _activation("log_softmax", True)


def relu(input):
    return ReLU.apply(input)


def leaky_relu(input, negative_slope=0.01):
    return LeakyReLU.apply(input, negative_slope=negative_slope)


def sigmoid(input):
    return Sigmoid.apply(input)


def tanh(input):
    return Tanh.apply(input)


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: argument 'approximate' must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(input, approximate=approximate)


def softmax(input, dim=-1):
    return Softmax.apply(input, axis=dim)


def log_softmax(input, dim=-1):
    return LogSoftmax.apply(input, axis=dim)


def flatten(input, start_dim=1, end_dim=-1):
    return input.flatten(start_dim, end_dim)


# ---- convolution and pooling ------------------------------------------------------------------
def _pair(value, name):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"argument '{name}' must be an int or a pair, got {value!r}")
        return tuple(int(v) for v in value)
    return (int(value), int(value))


class Conv2d(Function):
    def forward(self, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        self.x, self.weight, self.has_bias = x, weight, bias is not None
        self.geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return kernel("conv2d_forward")(_c32(x), _c32(weight), bias, **self.geometry)

    def backward(self, grad):
        grad = _c32(grad)
        need = self.needs_input_grad
        grad_x = grad_w = grad_b = None
        if need[0]:
            grad_x = kernel("conv2d_backward_input")(grad, self.weight, self.x.shape,
                                                     **self.geometry)
        if need[1]:
            grad_w = kernel("conv2d_backward_weight")(grad, self.x, self.weight.shape,
                                                      **self.geometry)
        if self.has_bias and need[2]:
            grad_b = kernel("conv2d_backward_bias")(grad)
        return grad_x, grad_w, grad_b


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of (N, C, H, W) input with (O, C/groups, kH, kW)."""
    if input.ndim != 4:
        raise ValueError(f"conv2d: argument 'input' must be 4-D (N, C, H, W), got shape {input.shape}")
    if input.shape[1] != weight.shape[1] * groups:
        raise ValueError(f"conv2d: argument 'input' has {input.shape[1]} channels, expected "
                         f"{weight.shape[1] * groups} (weight {tuple(weight.shape)}, groups={groups})")
    geometry = dict(stride=_pair(stride, "stride"), padding=_pair(padding, "padding"),
                    dilation=_pair(dilation, "dilation"), groups=int(groups))
    if bias is None:
        return Conv2d.apply(input, weight, **geometry)
    return Conv2d.apply(input, weight, bias, **geometry)


class MaxPool2d(Function):
    def forward(self, x, **geometry):
        y, self.indices = kernel("max_pool2d_forward")(_c32(x), **geometry)
        self.shape = x.shape
        return y

    def backward(self, grad):
        return kernel("max_pool2d_backward")(_c32(grad), self.indices, self.shape)


def _pool_geometry(kernel_size, stride, padding):
    kernel_size = _pair(kernel_size, "kernel_size")
    stride = kernel_size if stride is None else _pair(stride, "stride")
    return kernel_size, stride, _pair(padding, "padding")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    kernel_size, stride, padding = _pool_geometry(kernel_size, stride, padding)
    return MaxPool2d.apply(input, kernel_size=kernel_size, stride=stride, padding=padding,
                           dilation=_pair(dilation, "dilation"), ceil_mode=bool(ceil_mode))


class AvgPool2d(Function):
    def forward(self, x, **geometry):
        self.shape, self.geometry = x.shape, geometry
        return kernel("avg_pool2d_forward")(_c32(x), **geometry)

    def backward(self, grad):
        return kernel("avg_pool2d_backward")(_c32(grad), self.shape, **self.geometry)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    kernel_size, stride, padding = _pool_geometry(kernel_size, stride, padding)
    return AvgPool2d.apply(input, kernel_size=kernel_size, stride=stride, padding=padding,
                           ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad))


class GlobalAvgPool2d(Function):
    def forward(self, x):
        self.shape = x.shape
        return kernel("global_avg_pool2d_forward")(_c32(x))

    def backward(self, grad):
        return kernel("global_avg_pool2d_backward")(_c32(grad), self.shape)


def _adaptive_output_size(input, output_size, name):
    """(OH, OW) of an adaptive pool over (N, C, H, W) or (C, H, W) input; None keeps a size."""
    if input.ndim not in (3, 4):
        raise ValueError(f"{name}: argument 'input' must be (N, C, H, W) or (C, H, W), got "
                         f"shape {tuple(input.shape)}")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(sizes) != 2:
        raise ValueError(f"{name}: argument 'output_size' must be an int or a pair, got "
                         f"{output_size!r}")
    sizes = tuple(size if out is None else out for out, size in zip(sizes, input.shape[-2:]))
    if any(isinstance(out, bool) or not isinstance(out, (int, np.integer)) or out <= 0
           for out in sizes):
        raise ValueError(f"{name}: argument 'output_size' must hold positive ints (or None), "
                         f"got {output_size!r}")
    return tuple(int(out) for out in sizes)


def _even_window(input, output_size):
    """The kernel (= stride) of plain pooling equal to the adaptive one, or None when the
    output size does not divide the input size."""
    spatial = input.shape[-2:]
    if any(size % out for size, out in zip(spatial, output_size)):
        return None
    return tuple(size // out for size, out in zip(spatial, output_size))


def _batched(pool, input, *args):
    """Run a pooling function meant for (N, C, H, W) on (C, H, W) input too."""
    if input.ndim == 4:
        return pool(input, *args)
    out = pool(input.reshape(1, *input.shape), *args)
    if isinstance(out, tuple):
        return tuple(o.reshape(*o.shape[1:]) for o in out)
    return out.reshape(*out.shape[1:])


class AdaptiveAvgPool2d(Function):
    def forward(self, x, output_size):
        self.shape, self.output_size = x.shape, output_size
        return kernel("adaptive_avg_pool2d_forward")(_c32(x), output_size)

    def backward(self, grad):
        return kernel("adaptive_avg_pool2d_backward")(_c32(grad), self.shape, self.output_size)


def _adaptive_avg_pool2d(input, output_size):
    if output_size == (1, 1):
        return GlobalAvgPool2d.apply(input)
    window = _even_window(input, output_size)
    if window is not None:
        return avg_pool2d(input, window, window)
    return AdaptiveAvgPool2d.apply(input, output_size=output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to ``output_size`` (an int or a pair; None keeps that input size).
    Output (i, j) averages rows [floor(i H / OH), ceil((i + 1) H / OH)) and the matching
    columns, as in PyTorch; windows overlap when OH does not divide H."""
    output_size = _adaptive_output_size(input, output_size, "adaptive_avg_pool2d")
    return _batched(_adaptive_avg_pool2d, input, output_size)


class PickedMax(Function):
    """Pooled maxima already computed (``values``) at flat plane positions ``indices``;
    backward scatters the gradient back there."""

    def forward(self, x, values, indices):
        self.shape, self.indices = x.shape, indices
        return values

    def backward(self, grad):
        return kernel("max_pool2d_backward")(_c32(grad), self.indices, self.shape)


def _adaptive_max_pool2d(input, output_size, return_indices):
    window = _even_window(input, output_size)
    if window is None:
        values, indices = kernel("adaptive_max_pool2d_forward")(_c32(input.data), output_size)
    else:
        values, indices = kernel("max_pool2d_forward")(
            _c32(input.data), kernel_size=window, stride=window, padding=(0, 0),
            dilation=(1, 1), ceil_mode=False)
    out = PickedMax.apply(input, values=values, indices=indices)
    return (out, Tensor._wrap(indices)) if return_indices else out


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling over the windows of adaptive_avg_pool2d. With return_indices, also the
    int64 flat positions h * W + w of the maxima within each plane (as PyTorch)."""
    output_size = _adaptive_output_size(input, output_size, "adaptive_max_pool2d")
    return _batched(_adaptive_max_pool2d, input, output_size, bool(return_indices))


# ---- batch norm and dropout -------------------------------------------------------------------
class BatchNorm(Function):
    def forward(self, x, weight, bias, running_mean=None, running_var=None, momentum=0.1,
                eps=1e-5):
        y, self.mean, self.invstd = kernel("batch_norm_forward_train")(
            _c32(x), weight, bias, running_mean, running_var, momentum, eps)
        self.x, self.weight = x, weight
        return y

    def backward(self, grad):
        grad_x, grad_w, grad_b = kernel("batch_norm_backward")(
            _c32(grad), self.x, self.weight, self.mean, self.invstd)
        return grad_x, grad_w, grad_b


class BatchNormEval(Function):
    def forward(self, x, weight, bias, running_mean, running_var, eps=1e-5):
        self.x, self.weight, self.stats, self.eps = x, weight, (running_mean, running_var), eps
        return kernel("batch_norm_forward_eval")(_c32(x), weight, bias, running_mean,
                                                 running_var, eps)

    def backward(self, grad):
        need_x, need_weight, need_bias = self.needs_input_grad
        shape = (-1,) + (1,) * (grad.ndim - 2)
        mean, var = (s.reshape(shape) for s in self.stats)
        invstd = 1.0 / np.sqrt(var + self.eps)
        axes = (0,) + tuple(range(2, grad.ndim))
        grad_x = grad * (self.weight.reshape(shape) * invstd) if need_x else None
        grad_w = (grad * (self.x - mean) * invstd).sum(axis=axes) if need_weight else None
        return grad_x, grad_w, (grad.sum(axis=axes) if need_bias else None)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise over (N, *spatial) per channel (dim 1). Training updates running stats in place."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: argument 'input' must have a channel dim, got {input.shape}")
    channels = input.shape[1]
    weight = weight if weight is not None else Tensor(np.ones(channels, np.float32))
    bias = bias if bias is not None else Tensor(np.zeros(channels, np.float32))
    stats = [None if s is None else s.data for s in (running_mean, running_var)]
    if training or stats[0] is None:
        if training and input.data.size // channels <= 1:
            raise ValueError("batch_norm: expected more than 1 value per channel when training, "
                             f"got input of shape {input.shape}")
        return BatchNorm.apply(input, weight, bias, running_mean=stats[0], running_var=stats[1],
                               momentum=momentum, eps=eps)
    return BatchNormEval.apply(input, weight, bias, running_mean=stats[0], running_var=stats[1],
                               eps=eps)


class Dropout(Function):
    def forward(self, x, p, seed):
        y, self.mask = kernel("dropout_forward")(_c32(x), p, seed)
        self.p = p
        return y

    def backward(self, grad):
        return kernel("dropout_backward")(_c32(grad), self.mask, self.p)


def dropout(input, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (training only)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: argument 'p' must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    return Dropout.apply(input, p=float(p), seed=random.next_seed())


# ---- losses -----------------------------------------------------------------------------------
class _Loss(Function):
    """loss = <name>_forward(prediction, target, **options); d loss / d prediction from
    <name>_backward. ``target_grad_sign`` != 0 when the target is differentiable too."""

    forward_kernel = backward_kernel = ""
    target_grad_sign = 0

    def forward(self, prediction, target, **options):
        self.prediction, self.target, self.options = prediction, target, options
        return kernel(self.forward_kernel)(prediction, target, **options)

    def backward(self, grad):
        grad_p = kernel(self.backward_kernel)(grad, self.prediction, self.target, **self.options)
        grad_t = self.target_grad_sign * grad_p if self.needs_input_grad[1] else None
        return (grad_p if self.needs_input_grad[0] else None), grad_t


def _loss(name, target_grad_sign=0):
    attrs = dict(forward_kernel=f"{name}_forward", backward_kernel=f"{name}_backward",
                 target_grad_sign=target_grad_sign)
    return type(name.title().replace("_", ""), (_Loss,), attrs)


CrossEntropy, NLLLoss = _loss("cross_entropy"), _loss("nll_loss")
BCE, BCEWithLogits, MSELoss = _loss("bce"), _loss("bce_with_logits"), _loss("mse_loss", -1)


def _class_target(input, target, name):
    """(N, C, d1, ...) scores become (N*d1*..., C) rows; check labels are ints in range."""
    target = _tensor(target)
    if target.data.dtype.kind not in "iu":
        raise TypeError(f"{name}: argument 'target' must hold integer class indices, "
                        f"got dtype {target.dtype}")
    if input.ndim > 2:
        classes = input.shape[1]
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, classes)
        target = Tensor._wrap(target.data.reshape(-1))
    if input.ndim != 2 or target.shape != input.shape[:1]:
        raise ValueError(f"{name}: argument 'target' has shape {tuple(target.shape)}, expected "
                         f"({input.shape[0]},) for input of shape {tuple(input.shape)}")
    return input, target


def _check_labels(target, classes, ignore_index, name):
    labels = target.data[target.data != ignore_index]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{name}: argument 'target' has labels in [{labels.min()}, "
                         f"{labels.max()}], expected 0..{classes - 1} for {classes} classes")


def _class_weight(weight, classes, name):
    """Per-class weights as a (C,) array, or None. They get no gradient (as in PyTorch)."""
    if weight is None:
        return None
    weight = _tensor(weight).data
    if weight.shape != (classes,):
        raise ValueError(f"{name}: argument 'weight' must hold one value per class, shape "
                         f"({classes},), got {tuple(weight.shape)}")
    return weight


def _class_loss(function, input, target, name, weight, reduction, **options):
    """Apply a class-index loss on (N, C, d1, ...) scores; 'none' keeps target's shape."""
    target_shape = _tensor(target).shape
    rows, labels = _class_target(input, target, name)
    _check_labels(labels, rows.shape[1], options["ignore_index"], name)
    weight = _class_weight(weight, rows.shape[1], name)
    loss = function.apply(rows, labels, reduction=reduction, weight=weight, **options)
    return loss.reshape(target_shape) if reduction == "none" and input.ndim > 2 else loss


def cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross entropy of logits (N, C) or (N, C, d1, ...) against integer class targets
    (N,) or (N, d1, ...). ``weight`` (C,) rescales each class; 'mean' then divides by the
    summed weights of the non-ignored targets."""
    return _class_loss(CrossEntropy, input, target, "cross_entropy", weight, reduction,
                       ignore_index=ignore_index, label_smoothing=label_smoothing)


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities (N, C) against class targets (N,);
    ``weight`` as in cross_entropy."""
    return _class_loss(NLLLoss, input, target, "nll_loss", weight, reduction,
                       ignore_index=ignore_index)


def _pair_target(input, target, name):
    target = _tensor(target).float()
    if target.shape != input.shape:
        raise ValueError(f"{name}: argument 'target' has shape {tuple(target.shape)}, expected "
                         f"the input's shape {tuple(input.shape)}")
    return target


def _element_weight(weight, shape, name, argument):
    """An elementwise loss weight as an array broadcasting to ``shape``, or None."""
    if weight is None:
        return None
    weight = _tensor(weight).data
    try:
        np.broadcast_to(weight, shape)
    except ValueError:
        raise ValueError(f"{name}: argument '{argument}' of shape {tuple(weight.shape)} does "
                         f"not broadcast to the input's shape {tuple(shape)}") from None
    return weight


def binary_cross_entropy(input, target, weight=None, *, reduction="mean"):
    """BCE of probabilities in [0, 1] against targets of the same shape; ``weight`` broadcasts
    to the input and rescales each element ('mean' stays the plain mean)."""
    name = "binary_cross_entropy"
    target = _pair_target(input, target, name)
    if input.data.size and (input.data.min() < 0 or input.data.max() > 1):
        raise ValueError(f"{name}: argument 'input' must hold probabilities in [0, 1]")
    weight = _element_weight(weight, input.shape, name, "weight")
    return BCE.apply(input, target, reduction=reduction, weight=weight)


def binary_cross_entropy_with_logits(input, target, weight=None, *, reduction="mean",
                                     pos_weight=None):
    """BCE on logits; ``pos_weight`` multiplies the positive term (broadcast, e.g. (C,)),
    ``weight`` rescales each element as in binary_cross_entropy."""
    name = "binary_cross_entropy_with_logits"
    target = _pair_target(input, target, name)
    weight = _element_weight(weight, input.shape, name, "weight")
    pos_weight = _element_weight(pos_weight, input.shape, name, "pos_weight")
    return BCEWithLogits.apply(input, target, reduction=reduction, pos_weight=pos_weight,
                               weight=weight)


def mse_loss(input, target, reduction="mean"):
    target = _pair_target(input, target, "mse_loss")
    return MSELoss.apply(input, target, reduction=reduction)

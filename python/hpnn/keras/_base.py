"""The Keras ``Layer`` base (lazy build on first call), initializers and activations."""
from __future__ import annotations

import functools
import inspect
import math
import re

import numpy as np

from .. import functional as F
from .. import random as _random
from ..nn.module import Module, Parameter
from ..tensor import Tensor


def to_tensor(value):
    """Keras casts float inputs to the layer dtype, float32; integer inputs (ids) stay ints."""
    if isinstance(value, Tensor):
        return value
    array = np.asarray(value)
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype(np.float32)
    return Tensor(array)


# ---- initializers (Keras' fans: the kernel's last axis is the output, the one before it the
# ---- input, any earlier axes the receptive field) ------------------------------------------
def _fans(shape):
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _uniform(shape, limit):
    return _random.generator().uniform(-limit, limit, shape)


def _normal(shape, std=1.0):
    return _random.generator().standard_normal(shape) * std


def _truncated_normal(shape, std):
    """Normal draws beyond two standard deviations redrawn, as Keras' TruncatedNormal."""
    values = _normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = _normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return values * std


def _orthogonal(shape):
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    flat = _normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))  # a uniformly distributed orthogonal matrix
    return (q if rows >= cols else q.T).reshape(shape)


# the truncated normal's standard deviation over the untruncated one's (Keras' constant)
_TRUNCATION = 0.87962566103423978
INITIALIZERS = {
    "zeros": lambda s: np.zeros(s), "ones": lambda s: np.ones(s),
    "glorot_uniform": lambda s: _uniform(s, math.sqrt(6.0 / sum(_fans(s)))),
    "glorot_normal": lambda s: _truncated_normal(s, math.sqrt(2.0 / sum(_fans(s))) / _TRUNCATION),
    "he_uniform": lambda s: _uniform(s, math.sqrt(6.0 / _fans(s)[0])),
    "he_normal": lambda s: _truncated_normal(s, math.sqrt(2.0 / _fans(s)[0]) / _TRUNCATION),
    "lecun_uniform": lambda s: _uniform(s, math.sqrt(3.0 / _fans(s)[0])),
    "uniform": lambda s: _uniform(s, 0.05), "random_uniform": lambda s: _uniform(s, 0.05),
    "normal": lambda s: _normal(s, 0.05), "random_normal": lambda s: _normal(s, 0.05),
    "orthogonal": _orthogonal,
}


def initial_value(initializer, shape, owner):
    if callable(initializer):
        return np.asarray(initializer(shape), np.float32)
    key = str(initializer).lower()
    if key not in INITIALIZERS:
        raise ValueError(f"{owner}: unknown initializer {initializer!r}; choose one of "
                         f"{sorted(INITIALIZERS)} or pass a function of the shape")
    return np.asarray(INITIALIZERS[key](tuple(shape)), np.float32)


# ---- activations --------------------------------------------------------------------------
def _swish(x):
    return x * F.sigmoid(x)


ACTIVATIONS = {
    "linear": lambda x: x, "relu": F.relu, "sigmoid": F.sigmoid, "tanh": F.tanh,
    "softmax": lambda x: F.softmax(x, dim=-1), "log_softmax": lambda x: F.log_softmax(x, dim=-1),
    "gelu": F.gelu, "swish": _swish, "silu": _swish,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),  # Keras' default negative_slope
}
# taken from hpnn.functional when it has them (not yet every hpnn build does)
_FROM_FUNCTIONAL = ("elu", "selu", "softplus", "softsign", "mish", "hardswish")


def activation(identifier, owner="activation"):
    if identifier is None:
        return ACTIVATIONS["linear"]
    if callable(identifier):
        return identifier
    key = str(identifier).lower()
    if key in ACTIVATIONS:
        return ACTIVATIONS[key]
    if key in _FROM_FUNCTIONAL and hasattr(F, key):
        return getattr(F, key)
    known = sorted(ACTIVATIONS) + [n for n in _FROM_FUNCTIONAL if hasattr(F, n)]
    raise ValueError(f"{owner}: unknown activation {identifier!r}; choose one of {known}")


# ---- the Layer base -----------------------------------------------------------------------
_NAME_COUNTS = {}


def _unique_name(cls_name):
    """Keras' default layer names: 'dense', 'dense_1', ... ('MaxPooling2D' -> max_pooling2d)."""
    base = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", cls_name).lower()
    count = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


@functools.lru_cache(maxsize=None)
def _accepts_training(call):
    """Whether a ``call`` function takes ``training`` (asked once per class: per-batch cost)."""
    try:
        return "training" in inspect.signature(call).parameters
    except (TypeError, ValueError):
        return False


class Layer(Module):
    """Keras' Layer: weights made in ``build(input_shape)`` on the first call (or at once
    with ``input_shape=``), the computation in ``call(inputs, training=None)``. Weights are
    hpnn Parameters, so fit, the optimizers and state_dict see them."""

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None, input_dim=None,
                 **kwargs):
        super().__init__()
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        if dtype not in (None, "float32", np.float32):
            raise NotImplementedError(f"{type(self).__name__}: only float32 layers, got "
                                      f"dtype={dtype!r}")
        if input_dim is not None:
            input_shape = (input_dim,)
        self.name = name or _unique_name(type(self).__name__)
        self.trainable, self.built = trainable, False
        self.input_shape_hint = None if input_shape is None else tuple(input_shape)

    def build(self, input_shape):
        self.built = True

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define call(inputs)")

    def add_weight(self, name, shape, initializer="glorot_uniform", trainable=True, dtype=None):
        """A Parameter registered as attribute ``name`` (trainable=False: no gradient)."""
        value = initial_value(initializer, tuple(int(d) for d in shape), type(self).__name__)
        weight = Parameter(value, requires_grad=trainable and self.trainable)
        setattr(self, name, weight)
        return weight

    def forward(self, inputs, *args, training=None, **kwargs):
        inputs = to_tensor(inputs) if not isinstance(inputs, (list, tuple)) else inputs
        if not self.built:
            shape = ([tuple(i.shape) for i in inputs] if isinstance(inputs, (list, tuple))
                     else tuple(inputs.shape))
            self.build(shape)
            self.built = True
        if _accepts_training(type(self).call):
            kwargs["training"] = self.training if training is None else bool(training)
        return self.call(inputs, *args, **kwargs)

    def build_from_hint(self):
        """Build now from ``input_shape=`` (batch size unknown: None)."""
        if not self.built and self.input_shape_hint is not None:
            self.build((None,) + self.input_shape_hint)
            self.built = True

    # Keras' weight lists
    @property
    def weights(self):
        return list(self.parameters()) + [b for b in self.buffers()]

    @property
    def trainable_weights(self):
        return [p for p in self.parameters() if p.requires_grad]

    @property
    def non_trainable_weights(self):
        return [p for p in self.parameters() if not p.requires_grad] + list(self.buffers())

    trainable_variables = trainable_weights
    variables = weights

    def get_weights(self):
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, values):
        weights = self.weights
        if len(values) != len(weights):
            raise ValueError(f"{type(self).__name__}.set_weights: expected {len(weights)} "
                             f"arrays, got {len(values)}")
        for weight, value in zip(weights, values):
            value = np.asarray(value)
            if value.shape != tuple(weight.shape):
                raise ValueError(f"{type(self).__name__}.set_weights: shape {value.shape} "
                                 f"for a weight of shape {tuple(weight.shape)}")
            weight.numpy()[...] = value

    def count_params(self):
        return int(sum(p.numel() for p in self.parameters()))

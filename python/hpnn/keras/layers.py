"""Keras layers over hpnn's kernels. Images are channels_last (N, H, W, C) by default, as in
Keras; the layers transpose to hpnn's NCHW around each convolution/pooling kernel.
Recurrent layers live in ``_recurrent`` and are re-exported here."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..nn._checks import positive_int, positive_pair
from ..tensor import Tensor
from ._base import Layer, initial_value
from ._base import activation as get_activation
from ._recurrent import GRU, LSTM, SimpleRNN, SimpleRNNCell

__all__ = ["Layer", "InputLayer", "Input", "Dense", "Activation", "ReLU", "Softmax", "Flatten",
           "Dropout", "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D", "BatchNormalization", "Embedding", "SimpleRNN",
           "SimpleRNNCell", "LSTM", "GRU", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D"]


class InputLayer(Layer):
    """``Input(shape=(10,))``: the per-sample input shape, the first entry of a Sequential.
    (Keras' functional API, calling layers on it to build a graph, is not supported.)"""

    def __init__(self, shape=None, batch_size=None, name=None, dtype=None, input_shape=None):
        super().__init__(name=name, dtype=dtype, input_shape=shape or input_shape)
        if self.input_shape_hint is None:
            raise ValueError("Input: argument 'shape' is required, e.g. Input(shape=(10,))")
        self.built = True

    def call(self, inputs):
        return inputs


def Input(shape=None, batch_size=None, name=None, dtype=None, **kwargs):
    return InputLayer(shape=shape, batch_size=batch_size, name=name, dtype=dtype, **kwargs)


class Dense(Layer):
    """outputs = activation(inputs @ kernel + bias), kernel (in, units) as Keras; applies to
    the last axis of inputs of any rank."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = positive_int(units, "units", "Dense")
        self.activation = get_activation(activation, "Dense")
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.build_from_hint()

    def build(self, input_shape):
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)
        else:
            self.register_parameter("bias", None)

    def call(self, inputs):
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"Dense: input has {inputs.shape[-1]} features on its last axis "
                             f"but the layer was built for {self.kernel.shape[0]}")
        lead = tuple(inputs.shape[:-1])
        flat = inputs.reshape(-1, inputs.shape[-1]) if len(lead) != 1 else inputs
        outputs = flat @ self.kernel
        if self.bias is not None:
            outputs = outputs + self.bias
        if len(lead) != 1:
            outputs = outputs.reshape(*lead, self.units)
        return self.activation(outputs)

    def extra_repr(self):
        return f"units={self.units}"


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.fn = get_activation(activation, "Activation")

    def call(self, inputs):
        return self.fn(inputs)


class ReLU(Layer):
    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if threshold != 0.0:
            raise NotImplementedError("ReLU: a non-zero threshold is not supported")
        self.max_value, self.negative_slope = max_value, negative_slope

    def call(self, inputs):
        x = F.leaky_relu(inputs, self.negative_slope) if self.negative_slope else F.relu(inputs)
        return x if self.max_value is None else x.clamp(None, float(self.max_value))


class Softmax(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return F.softmax(inputs, dim=self.axis)


class Flatten(Layer):
    """(N, ...) -> (N, prod(...)), in the input's own (channels_last) order as Keras."""

    def call(self, inputs):
        return inputs.reshape(inputs.shape[0], -1)


class Dropout(Layer):
    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: argument 'rate' must be in [0, 1), got {rate}")
        if noise_shape is not None:
            raise NotImplementedError("Dropout: noise_shape is not supported")
        self.rate = float(rate)

    def call(self, inputs, training=None):
        return F.dropout(inputs, p=self.rate, training=bool(training))


# ---- images --------------------------------------------------------------------------------
def _data_format(value, owner):
    value = value or "channels_last"
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{owner}: data_format must be 'channels_last' or 'channels_first', "
                         f"got {value!r}")
    return value


def _padding_arg(value, owner):
    value = str(value).lower()
    if value not in ("valid", "same"):
        raise ValueError(f"{owner}: padding must be 'valid' or 'same', got {value!r}")
    return value


def same_padding(size, kernel, stride, dilation=1):
    """TensorFlow's 'same': output ceil(size / stride); any odd extra row goes at the end."""
    span = (kernel - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


class _Spatial(Layer):
    """Shared by Conv2D and the pools: layout conversion and 'same' padding."""

    def _setup(self, padding, data_format):
        owner = type(self).__name__
        self.padding = _padding_arg(padding, owner)
        self.data_format = _data_format(data_format, owner)

    def _to_nchw(self, x):
        if x.ndim != 4:
            raise ValueError(f"{type(self).__name__}: expected a 4-d input (batch, "
                             f"{'rows, cols, channels' if self.channels_last else 'channels, rows, cols'}"
                             f"), got shape {tuple(x.shape)}")
        return x.permute(0, 3, 1, 2) if self.channels_last else x

    def _from_nchw(self, x):
        return x.permute(0, 2, 3, 1) if self.channels_last else x

    @property
    def channels_last(self):
        return self.data_format == "channels_last"

    def _pads(self, x_nchw, kernel, strides, dilation=(1, 1)):
        if self.padding == "valid":
            return (0, 0, 0, 0)
        (top, bottom), (left, right) = (
            same_padding(x_nchw.shape[2 + i], kernel[i], strides[i], dilation[i]) for i in (0, 1))
        return (left, right, top, bottom)


class Conv2D(_Spatial):
    """Keras' Conv2D: kernel (kh, kw, in_channels, filters), bias (filters,)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.filters = positive_int(filters, "filters", "Conv2D")
        self.kernel_size = positive_pair(kernel_size, "kernel_size", "Conv2D")
        self.strides = positive_pair(strides, "strides", "Conv2D")
        self.dilation_rate = positive_pair(dilation_rate, "dilation_rate", "Conv2D")
        self.groups = positive_int(groups, "groups", "Conv2D")
        self._setup(padding, data_format)
        self.activation = get_activation(activation, "Conv2D")
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.build_from_hint()

    def build(self, input_shape):
        channels = input_shape[-1] if self.channels_last else input_shape[1]
        if channels % self.groups or self.filters % self.groups:
            raise ValueError(f"Conv2D: {channels} input channels and {self.filters} filters "
                             f"must both be divisible by groups={self.groups}")
        self.add_weight("kernel", (*self.kernel_size, channels // self.groups, self.filters),
                        self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)
        else:
            self.register_parameter("bias", None)

    def call(self, inputs):
        x = self._to_nchw(inputs)
        expected = self.kernel.shape[2] * self.groups
        if x.shape[1] != expected:
            raise ValueError(f"Conv2D: input has {x.shape[1]} channels, the layer was built for "
                             f"{expected} (data_format={self.data_format!r})")
        left, right, top, bottom = self._pads(x, self.kernel_size, self.strides,
                                              self.dilation_rate)
        padding = (top, left) if (top, left) == (bottom, right) else 0
        if padding == 0 and (left, right, top, bottom) != (0, 0, 0, 0):
            x = F.pad(x, (left, right, top, bottom))
        weight = self.kernel.permute(3, 2, 0, 1)  # to hpnn's (out, in, kh, kw)
        y = F.conv2d(x, weight, self.bias, stride=self.strides, padding=padding,
                     dilation=self.dilation_rate, groups=self.groups)
        return self.activation(self._from_nchw(y))


class _Pooling2D(_Spatial):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.pool_size = positive_pair(pool_size, "pool_size", owner)
        self.strides = positive_pair(strides if strides is not None else self.pool_size,
                                     "strides", owner)
        self._setup(padding, data_format)

    def call(self, inputs):
        x = self._to_nchw(inputs)
        pads = self._pads(x, self.pool_size, self.strides)
        return self._from_nchw(self._pool(x, pads))


class MaxPooling2D(_Pooling2D):
    def _pool(self, x, pads):
        if pads != (0, 0, 0, 0):  # 'same': padded cells never win the max
            x = F.pad(x, pads, value=-np.inf)
        return F.max_pool2d(x, self.pool_size, self.strides)


class AveragePooling2D(_Pooling2D):
    def _pool(self, x, pads):
        if pads == (0, 0, 0, 0):
            return F.avg_pool2d(x, self.pool_size, self.strides)
        # 'same': Keras averages over the real cells of each window only
        sums = F.avg_pool2d(F.pad(x, pads), self.pool_size, self.strides)
        ones = Tensor(np.ones((1, 1) + tuple(x.shape[2:]), np.float32))
        counts = F.avg_pool2d(F.pad(ones, pads), self.pool_size, self.strides)
        return sums / counts


class _GlobalPooling2D(_Spatial):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self._setup("valid", data_format)
        self.keepdims = keepdims

    def call(self, inputs):
        if inputs.ndim != 4:
            raise ValueError(f"{type(self).__name__}: expected a 4-d input, got shape "
                             f"{tuple(inputs.shape)}")
        axes = (1, 2) if self.channels_last else (2, 3)
        return self._reduce(inputs, axes)


class GlobalAveragePooling2D(_GlobalPooling2D):
    def _reduce(self, x, axes):
        return x.mean(axes, keepdim=self.keepdims)


class GlobalMaxPooling2D(_GlobalPooling2D):
    def _reduce(self, x, axes):
        return x.amax(axes, keepdim=self.keepdims)


MaxPool2D, AvgPool2D, GlobalAvgPool2D = MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D


# ---- normalisation and embeddings ----------------------------------------------------------
class BatchNormalization(Layer):
    """Keras' BatchNormalization over ``axis`` (the channels, last by default): gamma, beta,
    moving_mean, moving_variance; moving = momentum * moving + (1 - momentum) * batch.
    As hpnn's batch_norm (PyTorch's), the moving variance takes the unbiased batch variance
    (Keras takes the biased one: they differ by n / (n - 1) for n values per channel)."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum}")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = center, scale
        self.initializers = (gamma_initializer, beta_initializer, moving_mean_initializer,
                             moving_variance_initializer)
        self.build_from_hint()

    def build(self, input_shape):
        axis = self.axis % len(input_shape)
        if axis == 0:
            raise ValueError("BatchNormalization: axis must not be the batch axis")
        channels = (input_shape[axis],)
        gamma, beta, mean, var = self.initializers
        if self.scale:
            self.add_weight("gamma", channels, gamma)
        if self.center:
            self.add_weight("beta", channels, beta)
        self.register_buffer("moving_mean", Tensor(initial_value(mean, channels, "BN")))
        self.register_buffer("moving_variance", Tensor(initial_value(var, channels, "BN")))

    def call(self, inputs, training=None):
        axis = self.axis % inputs.ndim
        order = [0, axis] + [d for d in range(1, inputs.ndim) if d != axis]
        x = inputs.permute(*order) if axis != 1 else inputs
        y = F.batch_norm(x, self.moving_mean, self.moving_variance,
                         self._parameters.get("gamma"), self._parameters.get("beta"),
                         training=bool(training), momentum=1.0 - self.momentum, eps=self.epsilon)
        return y.permute(*np.argsort(order).tolist()) if axis != 1 else y


class Embedding(Layer):
    """Integer ids (any shape) -> their rows of ``embeddings`` (input_dim, output_dim)."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", mask_zero=False,
                 input_length=None, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = positive_int(input_dim, "input_dim", "Embedding")
        self.output_dim = positive_int(output_dim, "output_dim", "Embedding")
        if mask_zero:
            raise NotImplementedError("Embedding: mask_zero (Keras masking) is not supported")
        self.add_weight("embeddings", (input_dim, output_dim), embeddings_initializer)
        self.built = True

    def call(self, inputs):
        ids = np.asarray(inputs._array)
        if ids.dtype.kind == "f":
            if not np.array_equal(ids, np.round(ids)):
                raise ValueError("Embedding: ids must be whole numbers")
            ids = ids.astype(np.int64)
        elif ids.dtype.kind not in "iu":
            raise TypeError(f"Embedding: ids must be integers, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            raise ValueError(f"Embedding: ids must be in [0, {self.input_dim}), got values in "
                             f"[{ids.min()}, {ids.max()}]")
        return self.embeddings[Tensor(ids.astype(np.int64))]

"""Keras' Model (subclassing: define ``call``), Sequential, Variable and GradientTape."""
from __future__ import annotations

import numpy as np

from .. import training
from ..autograd import no_grad
from ..data import DataLoader
from ..nn.module import Module, Parameter
from ..tensor import Tensor
from . import losses as keras_losses
from . import optimizers as keras_optimizers
from ._base import Layer, to_tensor
from .layers import InputLayer


def _floats(x):
    """Keras feeds float data as float32 (its default float type); ints (ids, labels) stay."""
    if x is None or isinstance(x, (DataLoader, Tensor)):
        return x
    array = np.asarray(x)
    return array.astype(np.float32) if array.dtype.kind == "f" else array


class Model(Layer):
    """Subclass it, create layers in ``__init__`` and define ``call(inputs, training=None)``.
    ``compile`` takes Keras optimizers, losses and names (with Keras' defaults); the weights of
    layers built lazily are created from the first batch before training starts."""

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise NotImplementedError("Model(inputs, outputs): Keras' functional API is not "
                                      "supported; subclass Model and define call(), or use "
                                      "Sequential")
        super().__init__(**kwargs)
        self.built = True  # a Model's own build is its layers' builds

    # ---- building ---------------------------------------------------------------------------
    @property
    def ready(self):
        """Whether every layer has its weights."""
        return all(m.built for m in self.modules() if isinstance(m, Layer))

    def build(self, input_shape):
        """Create every lazily built weight by running a batch of zeros (eval, no grad)."""
        shape = tuple(1 if d is None else int(d) for d in input_shape)
        self._run_once(Tensor(np.zeros(shape, np.float32)))

    def _run_once(self, sample):
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                self(sample)
        finally:
            self.train(was_training)

    def _prepare(self, x):
        """Build from ``x``'s first sample, then bind a pending optimizer and compile."""
        if not self.ready:
            if isinstance(x, DataLoader):
                x = next(iter(x))[0]
            self._run_once(to_tensor(x[:1]))
        pending = self.__dict__.pop("_pending_compile", None)
        if pending is not None:
            training.compile(self, *pending)

    # ---- Keras training API ------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=1,
                jit_compile=None, **kwargs):
        if loss_weights is not None or weighted_metrics is not None:
            raise NotImplementedError("compile: loss_weights and weighted_metrics are not "
                                      "supported")
        if loss is None:
            raise ValueError("compile: argument 'loss' is required")
        optimizer = keras_optimizers.get(optimizer)
        loss = loss if isinstance(loss, Module) else keras_losses.get(loss)
        for metric in metrics or []:  # unknown names fail now, as in Keras
            if isinstance(metric, str):
                training._lookup(training.METRICS, metric, "metric")
        object.__setattr__(self, "_pending_compile", (optimizer, loss, metrics))
        object.__setattr__(self, "optimizer", optimizer)
        if self.ready and any(True for _ in self.parameters()):
            self._prepare(None)
        # else the layers build on the first batch, and fit/evaluate finish compiling then

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            **kwargs):
        _unsupported(kwargs, "fit")
        x, y = _floats(x), _floats(y)
        self._pending_check("fit")
        self._prepare(x)
        if validation_data is not None:
            validation_data = tuple(_floats(v) for v in validation_data)
        return training.fit(self, x, y, epochs=epochs, batch_size=batch_size or 32,
                            validation_data=validation_data, validation_split=validation_split,
                            shuffle=shuffle, verbose=1 if verbose == "auto" else verbose,
                            callbacks=callbacks, initial_epoch=initial_epoch)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False,
                 **kwargs):
        _unsupported(kwargs, "evaluate")
        x, y = _floats(x), _floats(y)
        self._pending_check("evaluate")
        self._prepare(x)
        return training.evaluate(self, x, y, batch_size=batch_size or 32,
                                 verbose=1 if verbose == "auto" else verbose,
                                 return_dict=return_dict)

    def predict(self, x, batch_size=None, verbose="auto", **kwargs):
        _unsupported(kwargs, "predict")
        x = _floats(x)
        if not self.ready:
            self._prepare(x)
        return training.predict(self, x, batch_size=batch_size or 32)

    def _pending_check(self, what):
        if "_pending_compile" not in self.__dict__ and getattr(self, "loss_fn", None) is None:
            raise RuntimeError(f"{what}: call model.compile(optimizer=..., loss=...) first")

    def summary(self, print_fn=print):
        """Keras' table: each layer, its output shape (when known) and parameter count."""
        rows = [(f"{m.name} ({type(m).__name__})", _shape_text(getattr(m, "output_shape", None)),
                 m.count_params()) for m in self.layers]
        width = max([len(r[0]) for r in rows] + [20]) + 2
        lines = [f'Model: "{self.name}"', "-" * (width + 36),
                 f"{'Layer (type)':<{width}}{'Output Shape':<24}{'Param #':>12}",
                 "=" * (width + 36)]
        lines += [f"{name:<{width}}{shape:<24}{count:>12,}" for name, shape, count in rows]
        total = self.count_params()
        trainable = int(sum(p.numel() for p in self.trainable_weights))
        lines += ["=" * (width + 36), f"Total params: {total:,}",
                  f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}"]
        print_fn("\n".join(lines))

    @property
    def layers(self):
        return [m for m in self.children() if isinstance(m, Layer)]


def _shape_text(shape):
    return "?" if shape is None else str((None,) + tuple(shape[1:]))


def _unsupported(kwargs, what):
    if kwargs:
        raise NotImplementedError(f"{what}: arguments {sorted(kwargs)} are not supported")


class Sequential(Model):
    """Layers applied in order: ``Sequential([Dense(64, activation='relu', input_shape=(10,)),
    Dense(1)])``, or ``add`` them one by one (an ``Input(shape=...)`` first fixes the input
    shape, so the weights exist at once)."""

    def __init__(self, layers=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.input_shape_hint = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.add: expected a layer, got {type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if len(self._modules):
                raise ValueError("Sequential.add: Input must come first")
            self.input_shape_hint = layer.input_shape_hint
            return
        if not len(self._modules) and getattr(layer, "input_shape_hint", None) is not None:
            self.input_shape_hint = layer.input_shape_hint
        self.add_module(str(len(self._modules)), layer)
        if self.input_shape_hint is not None:
            self.build((None,) + self.input_shape_hint)

    def pop(self):
        if not len(self._modules):
            raise IndexError("Sequential.pop: no layers")
        return self._modules.pop(str(len(self._modules) - 1))

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._modules.values():
            x = layer(x, training=training) if isinstance(layer, Layer) else layer(x)
            object.__setattr__(layer, "output_shape", tuple(x.shape))
        return x


class Variable(Parameter):
    """``tf.Variable``: a Parameter (trainable: it gets gradients) with Keras' assign methods."""

    def __init__(self, initial_value, trainable=True, name=None, dtype=None):
        value = initial_value._array if isinstance(initial_value, Tensor) else initial_value
        super().__init__(np.asarray(value, np.float32), requires_grad=trainable)
        self.name, self.trainable = name, trainable

    def assign(self, value):
        self.numpy()[...] = np.asarray(value._array if isinstance(value, Tensor) else value)
        return self

    def assign_add(self, value):
        return self.assign(self.numpy() + np.asarray(getattr(value, "_array", value)))

    def assign_sub(self, value):
        return self.assign(self.numpy() - np.asarray(getattr(value, "_array", value)))


class GradientTape:
    """``with GradientTape() as tape: loss = ...``; ``tape.gradient(loss, variables)``.
    hpnn records every operation on tensors that require gradients (Parameters, Variables),
    tape or not; the tape only asks for the gradients. ``watch(t)`` makes a plain tensor
    require them. ``persistent=True`` allows several ``gradient`` calls."""

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent, self._used = persistent, False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def watch(self, tensor):
        for t in tensor if isinstance(tensor, (list, tuple)) else [tensor]:
            t.requires_grad_(True)

    def gradient(self, target, sources, output_gradients=None):
        if self._used and not self.persistent:
            raise RuntimeError("GradientTape.gradient can only be called once on a "
                               "non-persistent tape (use GradientTape(persistent=True))")
        self._used = True
        single = isinstance(sources, Tensor)
        flat = [sources] if single else list(sources)
        saved = [s.grad for s in flat]
        for s in flat:
            s.grad = None
        seed = output_gradients
        if seed is None and target.ndim:  # TensorFlow differentiates the sum
            seed = Tensor(np.ones(target.shape, np.float32))
        try:
            target.backward(seed, retain_graph=self.persistent)
            grads = [None if s.grad is None else Tensor(s.grad.numpy().copy()) for s in flat]
        finally:
            for s, grad in zip(flat, saved):
                s.grad = grad
        return grads[0] if single else grads

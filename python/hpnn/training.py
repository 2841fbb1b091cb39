"""Keras-style ``compile`` / ``fit`` / ``evaluate`` / ``predict`` for any ``hpnn.nn.Module``."""
from __future__ import annotations

import sys
import time

import numpy as np
from tqdm.auto import tqdm

from . import functional as F
from .autograd import no_grad
from .callbacks import Callback, History
from .data import DataLoader, TensorDataset
from .nn import loss as losses
from .nn.module import Module
from .optim import optimizers
from .tensor import Tensor, as_array


class CategoricalCrossentropy(Module):
    """Keras' cross entropy on probabilities (e.g. after Softmax): one-hot or index targets."""

    def __init__(self, eps=1e-7):
        super().__init__()
        self.eps = eps

    def forward(self, input, target):
        log_probs = input.clamp(self.eps, 1 - self.eps).log()
        if target._array.dtype.kind in "iu":
            return F.nll_loss(log_probs, target)
        if target.shape != input.shape:
            raise ValueError(f"categorical_crossentropy: one-hot target shape {target.shape} "
                             f"differs from the prediction shape {input.shape}")
        return -(log_probs * target).sum(1).mean()


LOSSES = {
    "mse": losses.MSELoss, "mean_squared_error": losses.MSELoss,
    "binary_crossentropy": losses.BCELoss, "bce": losses.BCELoss,
    "bce_with_logits": losses.BCEWithLogitsLoss,
    "binary_crossentropy_from_logits": losses.BCEWithLogitsLoss,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": CategoricalCrossentropy,
    "cross_entropy": losses.CrossEntropyLoss, "nll": losses.NLLLoss,
}


def _accuracy(prediction, target, from_logits):
    if prediction.ndim >= 2 and prediction.shape[-1] > 1:
        predicted = prediction.argmax(-1)
        truth = target if target.ndim == predicted.ndim else target.argmax(-1)
    else:
        predicted = prediction.reshape(-1) > (0.0 if from_logits else 0.5)
        truth = target.reshape(-1) > 0.5
    return float(np.mean(predicted == truth.reshape(predicted.shape)))


METRICS = {
    "accuracy": _accuracy, "acc": _accuracy,
    "mae": lambda p, t, _: float(np.mean(np.abs(p - t.reshape(p.shape)))),
    "mse": lambda p, t, _: float(np.mean((p - t.reshape(p.shape)) ** 2)),
}


def _lookup(table, name, kind):
    key = str(name).lower()
    if key not in table:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {sorted(table)}")
    return table[key]


def compile(model, optimizer="adam", loss=None, metrics=None):
    """Attach an optimizer (instance or name), a loss (module/callable or name) and metrics."""
    if loss is None:
        raise ValueError("compile: argument 'loss' is required (a loss module or a name such as "
                         "'mse' or 'sparse_categorical_crossentropy')")
    if isinstance(optimizer, str):
        optimizer = optimizers.get(optimizer, model.parameters())
    elif not isinstance(optimizer, optimizers.Optimizer):
        raise TypeError(f"compile: argument 'optimizer' must be an Optimizer or a name, got "
                        f"{type(optimizer).__name__}")
    elif not optimizer.param_groups:  # built without parameters (Keras style): bind them
        optimizer._bind(model.parameters())
    loss_fn = _lookup(LOSSES, loss, "loss")() if isinstance(loss, str) else loss
    if not callable(loss_fn):
        raise TypeError(f"compile: argument 'loss' must be callable or a name, got {loss!r}")
    keras_from_logits = False
    if getattr(loss_fn, "target_first", False):  # a Keras loss: loss(y_true, y_pred)
        keras_loss, keras_from_logits = loss_fn, bool(getattr(loss_fn, "from_logits", False))
        loss_fn = lambda output, target: keras_loss(target, output)  # noqa: E731
    metric_fns = {}
    for metric in metrics or []:
        if isinstance(metric, str):
            metric_fns[metric] = _lookup(METRICS, metric, "metric")
        elif callable(metric):
            metric_fns[getattr(metric, "__name__", "metric")] = lambda p, t, _, m=metric: m(p, t)
        else:
            raise TypeError(f"compile: metrics must be names or callables, got {metric!r}")
    from_logits = keras_from_logits or isinstance(loss_fn, (losses.BCEWithLogitsLoss,
                                                            losses.CrossEntropyLoss))
    # plain attributes: the loss must not become a registered submodule of the model
    for name, value in (("optimizer", optimizer), ("loss_fn", loss_fn),
                        ("metric_fns", metric_fns), ("from_logits", from_logits)):
        object.__setattr__(model, name, value)
    return model


def _require_compiled(model, what):
    if getattr(model, "loss_fn", None) is None:
        raise RuntimeError(f"{what}: call model.compile(optimizer=..., loss=...) first")


def _keras_array(data):
    """numpy input as Keras reads it: floats in the model's dtype (float32), whatever numpy
    made them (float64 by default); integers and bools as as_array keeps them."""
    array = as_array(data)
    return array.astype(np.float32, copy=False) if array.dtype.kind == "f" else array


def _as_arrays(x, y, what):
    x = _keras_array(x)
    if y is None:
        raise ValueError(f"{what}: argument 'y' is required with array inputs")
    y = _keras_array(y)
    if len(x) != len(y):
        raise ValueError(f"{what}: x has {len(x)} samples but y has {len(y)}")
    if len(x) == 0:
        raise ValueError(f"{what}: no samples")
    return x, y


def _loader(x, y, batch_size, shuffle, what):
    if isinstance(x, DataLoader):
        return x
    x, y = _as_arrays(x, y, what)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)


class _Meter:
    """Sample-weighted running means of the loss and the metrics."""

    def __init__(self, model):
        self.model, self.count, self.sums = model, 0, {}

    def add(self, loss, output, target):
        n = len(target)
        self.count += n
        self.sums["loss"] = self.sums.get("loss", 0.0) + loss * n
        for name, fn in self.model.metric_fns.items():
            value = fn(output._array, target._array, self.model.from_logits)
            self.sums[name] = self.sums.get(name, 0.0) + value * n

    def logs(self, prefix=""):
        return {prefix + k: v / self.count for k, v in self.sums.items()}


def _train_epoch(model, loader, bar, callbacks):
    meter = _Meter(model)
    optimizer, loss_fn = model.optimizer, model.loss_fn
    for batch, (inputs, target) in enumerate(loader):
        output = model(inputs)
        loss = loss_fn(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        value = loss.item()
        meter.add(value, output, target)
        if bar is not None:
            bar.update(len(target))
            bar.set_postfix({k: f"{v:.4f}" for k, v in meter.logs().items()}, refresh=False)
        for callback in callbacks:
            callback.on_batch_end(batch, {"loss": value})
    return meter.logs()


def _redraws_in_place(stream):
    """Whether a progress bar can redraw itself on ``stream``: a terminal or a notebook. In a
    log file or a pipe its carriage returns would run an epoch's updates into one long line,
    so fit prints one line per epoch there instead (as Keras does)."""
    try:
        return bool(stream.isatty()) or "ipykernel" in sys.modules
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _epoch_line(epoch, epochs, seconds, logs):
    """Keras' per-epoch line: 'Epoch 3/10 - 0.42s - loss: 0.1234 - accuracy: 0.9500'."""
    shown = "".join(f" - {k}: {v:.4f}" for k, v in logs.items())
    return f"Epoch {epoch + 1}/{epochs} - {seconds:.2f}s{shown}"


def _split_validation(x, y, validation_split):
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"fit: argument 'validation_split' must be in (0, 1), got "
                         f"{validation_split}")
    x, y = _as_arrays(x, y, "fit")
    cut = int(len(x) * (1 - validation_split))
    if cut == 0 or cut == len(x):
        raise ValueError(f"fit: validation_split={validation_split} leaves an empty split")
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])  # the last samples, before shuffling (Keras)


def fit(model, x, y=None, epochs=1, batch_size=32, validation_data=None, validation_split=0.0,
        shuffle=True, verbose=1, callbacks=None, initial_epoch=0):
    """Train for ``epochs`` epochs; returns a History (``history.history['loss']`` ...)."""
    _require_compiled(model, "fit")
    if validation_split and validation_data is None:
        (x, y), validation_data = _split_validation(x, y, validation_split)
    loader = _loader(x, y, batch_size, shuffle, "fit")
    history = History()
    callbacks = list(callbacks or []) + [history]  # last, so it sees what others log
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"fit: callbacks must be hpnn.callbacks.Callback instances, got "
                            f"{type(callback).__name__}")
        callback.set_model(model)
    model.stop_training = False
    show_bar = verbose == 1 and _redraws_in_place(sys.stderr)  # tqdm draws on stderr
    show_lines = verbose == 2 or (verbose == 1 and not show_bar)
    for callback in callbacks:
        callback.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        for callback in callbacks:
            callback.on_epoch_begin(epoch)
        model.train()
        started = time.perf_counter()
        bar = tqdm(total=len(loader.dataset), unit="sample", desc=f"Epoch {epoch + 1}/{epochs}",
                   leave=True, dynamic_ncols=True, file=sys.stderr) if show_bar else None
        logs = _train_epoch(model, loader, bar, callbacks)
        if validation_data is not None:
            logs.update(evaluate(model, *validation_data, batch_size=max(batch_size, 256),
                                 return_dict=True, _prefix="val_"))
        if bar is not None:
            bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()})
            bar.close()
        elif show_lines:
            print(_epoch_line(epoch, epochs, time.perf_counter() - started, logs), flush=True)
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    for callback in callbacks:
        callback.on_train_end()
    return history


def _batched_outputs(model, loader):
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for batch in loader:
                yield batch
    finally:
        model.train(was_training)


def evaluate(model, x, y=None, batch_size=32, verbose=0, return_dict=False, _prefix=""):
    """The loss (and metrics) on (x, y): a float, a [loss, *metrics] list, or a dict."""
    _require_compiled(model, "evaluate")
    meter = _Meter(model)
    for inputs, target in _batched_outputs(model, _loader(x, y, batch_size, False, "evaluate")):
        output = model(inputs)
        meter.add(model.loss_fn(output, target).item(), output, target)
    logs = meter.logs(_prefix)
    if verbose:
        print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size=32, verbose=0):
    """The model's outputs on x, batch by batch, as one numpy array (eval mode, no grad)."""
    x = _keras_array(x._array if isinstance(x, Tensor) else x)
    if len(x) == 0:
        raise ValueError("predict: no samples")
    loader = DataLoader(TensorDataset(x), batch_size=batch_size)
    outputs = [model(inputs).numpy() for (inputs,) in _batched_outputs(model, loader)]
    return np.concatenate(outputs)

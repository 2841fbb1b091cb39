"""Keras-style callbacks for ``Module.fit``: History, EarlyStopping, ModelCheckpoint,
LearningRateScheduler."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler"]


class Callback:
    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass


class History(Callback):
    """``history.history['loss']`` etc.: one value per epoch for every logged quantity."""

    def __init__(self):
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def _monitored(callback, logs):
    if callback.monitor not in logs:
        raise ValueError(f"{type(callback).__name__}: monitor {callback.monitor!r} is not among "
                         f"the logged values {sorted(logs)} (val_* needs validation data)")
    return float(logs[callback.monitor])


class _Monitor(Callback):
    """Shared by callbacks that track the best value of one logged quantity."""

    def __init__(self, monitor, mode, min_delta=0.0):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"argument 'mode' must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if any(k in monitor for k in ("acc", "auc")) else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def _improves(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop training when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                 baseline=None, restore_best_weights=False, verbose=0):
        super().__init__(monitor, mode, min_delta)
        self.patience, self.baseline = patience, baseline
        self.restore_best_weights, self.verbose = restore_best_weights, verbose

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_weights = 0, None, None
        self.best = math.inf if self.mode == "min" else -math.inf
        if self.baseline is not None:
            self.best = self.baseline

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored(self, logs or {})
        if self._improves(value):
            self.best, self.wait = value, 0
            if self.restore_best_weights:
                self.best_weights = {k: v.numpy().copy()
                                     for k, v in self.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping ({self.monitor} best {self.best:.4g})")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Save the model after each epoch (or only when ``monitor`` improved) with ``hpnn.save``;
    ``filepath`` may contain ``{epoch}`` and logged names, e.g. 'ckpt-{epoch:02d}.npz'.
    Weights only: the state dict; otherwise {'model', 'optimizer', 'epoch'}."""

    def __init__(self, filepath, monitor="val_loss", save_best_only=False,
                 save_weights_only=False, mode="auto", verbose=0):
        super().__init__(monitor, mode)
        self.filepath, self.save_best_only = str(filepath), save_best_only
        self.save_weights_only, self.verbose = save_weights_only, verbose

    def on_epoch_end(self, epoch, logs=None):
        from .io import save

        logs = logs or {}
        if self.save_best_only:
            value = _monitored(self, logs)
            if not self._improves(value):
                return
            self.best = value
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_weights_only:
            save(self.model.state_dict(), path)
        else:
            optimizer = getattr(self.model, "optimizer", None)
            save({"model": self.model.state_dict(), "epoch": epoch + 1,
                  "optimizer": optimizer.state_dict() if optimizer is not None else None}, path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved {path}")


class LearningRateScheduler(Callback):
    """Set every group's lr to ``schedule(epoch, lr)`` at the start of each epoch."""

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise TypeError("LearningRateScheduler: argument 'schedule' must be callable")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        lr = float(self.schedule(epoch, optimizer.param_groups[0]["lr"]))
        if not np.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: schedule returned an invalid lr {lr}")
        for group in optimizer.param_groups:
            group["lr"] = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {lr:.4g}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = self.model.optimizer.param_groups[0]["lr"]

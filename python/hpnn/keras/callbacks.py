"""Keras' callbacks: hpnn's own (``hpnn.callbacks``), which ``fit`` drives Keras' way."""
from ..callbacks import (Callback, EarlyStopping, History, LearningRateScheduler,  # noqa: F401
                         ModelCheckpoint)

__all__ = ["Callback", "EarlyStopping", "History", "LearningRateScheduler", "ModelCheckpoint"]

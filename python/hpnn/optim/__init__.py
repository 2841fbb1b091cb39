"""Optimizers (``hpnn.optim``) and learning-rate schedulers (``hpnn.optim.lr_scheduler``)."""
from . import lr_scheduler
from .optimizer import Optimizer
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSprop

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]

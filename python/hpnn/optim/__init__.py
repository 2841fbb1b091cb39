"""Optimizers (``hpnn.optim``) and learning-rate schedulers (``hpnn.optim.lr_scheduler``)."""
from . import lr_scheduler
from ._lbfgs import LBFGS
from .optimizer import Optimizer
from .optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop

__all__ = ["Adadelta", "Adagrad", "Adam", "Adamax", "AdamW", "LBFGS", "NAdam", "Optimizer",
           "RAdam", "RMSprop", "SGD", "lr_scheduler"]

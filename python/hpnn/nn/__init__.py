"""Layers, losses and init (``hpnn.nn``), PyTorch names and defaults."""
import sys as _sys

from .. import functional
from . import init

_sys.modules[__name__ + ".functional"] = functional

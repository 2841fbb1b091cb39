"""``hpnn.nn.modules.module``: PyTorch's path to these classes (the same objects as
``hpnn.nn``'s)."""
from .. import (  # noqa: F401
    Module,
)

__all__ = [
    "Module",
]

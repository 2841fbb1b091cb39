"""``hpnn.nn.modules.flatten``: PyTorch's path to these classes (the same objects as
``hpnn.nn``'s)."""
from .. import (  # noqa: F401
    Flatten, Unflatten,
)

__all__ = [
    "Flatten", "Unflatten",
]

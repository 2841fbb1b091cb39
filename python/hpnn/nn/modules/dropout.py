"""``hpnn.nn.modules.dropout``: PyTorch's path to these classes (the same objects as
``hpnn.nn``'s)."""
from .. import (  # noqa: F401
    Dropout, Dropout1d, Dropout2d,
)

__all__ = [
    "Dropout", "Dropout1d", "Dropout2d",
]

"""``hpnn.nn.modules.batchnorm``: PyTorch's path to these classes (the same objects as
``hpnn.nn``'s)."""
from .. import (  # noqa: F401
    BatchNorm1d, BatchNorm2d,
)

__all__ = [
    "BatchNorm1d", "BatchNorm2d",
]

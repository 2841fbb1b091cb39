"""``hpnn.nn.modules.instancenorm``: PyTorch's path to these classes (the same objects as
``hpnn.nn``'s)."""
from .. import (  # noqa: F401
    InstanceNorm1d, InstanceNorm2d,
)

__all__ = [
    "InstanceNorm1d", "InstanceNorm2d",
]

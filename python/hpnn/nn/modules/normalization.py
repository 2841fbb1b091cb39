"""``hpnn.nn.modules.normalization``: PyTorch's path to these classes (the same objects as
``hpnn.nn``'s)."""
from .. import (  # noqa: F401
    GroupNorm, LayerNorm,
)

__all__ = [
    "GroupNorm", "LayerNorm",
]

"""``hpnn.nn.modules.pixelshuffle``: PyTorch's path to these classes (the same objects as
``hpnn.nn``'s)."""
from .. import (  # noqa: F401
    PixelShuffle, PixelUnshuffle,
)

__all__ = [
    "PixelShuffle", "PixelUnshuffle",
]

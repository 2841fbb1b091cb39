"""``hpnn.nn.modules.conv``: PyTorch's path to these classes (the same objects as
``hpnn.nn``'s)."""
from .. import (  # noqa: F401
    Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d,
)

__all__ = [
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
]

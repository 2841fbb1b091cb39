"""``hpnn.nn.modules.linear``: PyTorch's path to these classes (the same objects as
``hpnn.nn``'s)."""
from .. import (  # noqa: F401
    Identity, Linear, NonDynamicallyQuantizableLinear,
)

__all__ = [
    "Identity", "Linear", "NonDynamicallyQuantizableLinear",
]

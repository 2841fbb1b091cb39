"""``hpnn.nn.modules.sparse``: PyTorch's path to these classes (the same objects as
``hpnn.nn``'s)."""
from .. import (  # noqa: F401
    Embedding,
)

__all__ = [
    "Embedding",
]

"""``hpnn.nn.modules.distance``: PyTorch's path to these classes (the same objects as
``hpnn.nn``'s)."""
from .. import (  # noqa: F401
    CosineSimilarity, PairwiseDistance,
)

__all__ = [
    "CosineSimilarity", "PairwiseDistance",
]

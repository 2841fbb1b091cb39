"""``hpnn.utils``: as ``torch.utils``; ``hpnn.utils.data`` holds the data loading."""
from . import data

__all__ = ["data"]

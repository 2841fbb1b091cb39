"""``hpnn.data``: the same objects as ``hpnn.utils.data`` (PyTorch's path), kept under the
short name that earlier hpnn code uses."""
from .utils.data import *  # noqa: F401,F403
from .utils.data import __all__  # noqa: F401

"""hpnn: high-performance neural networks on the CPU.

Hot paths are C++ kernels (SIMD per ISA, OpenMP) in ``hpnn.kernels``; ``hpnn.reference`` holds
their numpy twins with the same names and signatures.
"""
from . import _C
from ._config import (
    available_isas,
    get_isa,
    get_num_threads,
    set_isa,
    set_num_threads,
    show_config,
)
from . import kernels, reference

__version__ = _C.build_info()["version"]

__all__ = [
    "available_isas",
    "get_isa",
    "get_num_threads",
    "kernels",
    "reference",
    "set_isa",
    "set_num_threads",
    "show_config",
]

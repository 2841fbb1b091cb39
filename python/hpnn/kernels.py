"""Native float32 kernels (numpy in, numpy out). Each has a numpy twin in ``hpnn.reference``."""
from ._C.kernels import gemm

__all__ = ["gemm"]

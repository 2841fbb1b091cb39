"""Native float32 kernels (numpy in, numpy out), one module per family, each function with a
numpy twin of the same name and signature in ``hpnn.reference``."""
from .gemm import gemm

__all__ = ["gemm"]

"""Numpy reference implementations of every native kernel, same names and signatures as
``hpnn.kernels``. Written plainly for clarity; the tests compare the native kernels with them."""
from .gemm import gemm

__all__ = ["gemm"]

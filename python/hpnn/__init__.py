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
from .autograd import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,
                       no_grad, set_grad_enabled)
from . import backend  # the module: hpnn.backend.kernel(...), hpnn.backend.clear_cache()
from .backend import get_backend, set_backend, use_backend
from .errors import DimensionError, ShapeError
from .random import manual_seed
from .tensor import Tensor
from .creation import (arange, cat, concatenate, from_numpy, full, ones, ones_like, rand, randint,
                       randn, stack, tensor, where, zeros, zeros_like)
from . import callbacks, data, datasets, functional, nn, optim
from .io import CheckpointError, load, save

__version__ = _C.build_info()["version"]

__all__ = [
    # tensors and autograd
    "Tensor", "tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like",
    "randn", "rand", "randint", "arange", "cat", "concatenate", "stack", "where", "no_grad",
    "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
    "is_inference_mode_enabled", "manual_seed", "ShapeError", "DimensionError",
    # subpackages, save/load, backends
    "nn", "functional", "optim", "data", "datasets", "callbacks", "save", "load", "backend",
    "CheckpointError",
    "get_backend", "set_backend", "use_backend", "kernels", "reference",
    # build and threading configuration
    "available_isas", "get_isa", "set_isa", "get_num_threads", "set_num_threads", "show_config",
]

"""hpnn: high-performance neural networks on the CPU, with PyTorch's names.

Hot paths are C++ kernels (SIMD compiled per instruction set, OpenMP threads); the rest is a
small Python frontend that follows PyTorch's API (names, defaults, parameter layouts), so
PyTorch code usually ports by writing "hpnn" for "torch".

Tensors and autograd
    hpnn.tensor, zeros, ones, randn, arange, cat, stack, ... make a Tensor (float32 values,
    int64 labels). Ops on tensors with requires_grad=True record a graph; loss.backward()
    fills each leaf's .grad. no_grad(), enable_grad(), set_grad_enabled(mode) and
    inference_mode() switch recording off or on for the calling thread only.

hpnn.nn
    Layers and losses with PyTorch's names, defaults and parameter layouts: Module,
    Sequential, Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d, Dropout, Flatten,
    RNN/LSTM/GRU and their cells, ReLU, Softmax, ..., CrossEntropyLoss, MSELoss, BCELoss, ...
    hpnn.nn.functional (also hpnn.functional) holds the functional forms, hpnn.nn.init the
    initialisers.

hpnn.optim
    SGD, Adam, AdamW, RMSprop, Adagrad (fused native update steps) and optim.lr_scheduler.

hpnn.utils.data (also hpnn.data) and hpnn.datasets
    Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset, random_split, DataLoader,
    the samplers and default_collate, as in torch.utils.data; load_digits() (bundled 8x8
    digits) and load_mnist().

Devices
    hpnn runs on the CPU: hpnn.device("cpu"), Tensor.to/cpu and Module.to/cpu are no-ops
    there and raise DeviceError for any other device; hpnn.cuda.is_available(),
    hpnn.backends.mps.is_available() and hpnn.accelerator.is_available() are False.

Keras-style training
    model.compile(optimizer, loss, metrics), model.fit(x, y, epochs, batch_size,
    validation_data, callbacks), model.evaluate, model.predict; hpnn.callbacks holds
    EarlyStopping, ModelCheckpoint, LearningRateScheduler, History. fit shows a progress bar
    in a terminal and one line per epoch in a log.

Saving
    hpnn.save(obj, path) and hpnn.load(path): state dicts and checkpoints in an .npz file
    (no pickle).

Kernels and their reference
    hpnn.kernels holds the C++ kernels; hpnn.reference their numpy twins with the same names
    and signatures. set_backend('numpy') or "with use_backend('numpy'):" runs the ops on the
    twins (per thread).

Configuration
    show_config() prints the version, instruction sets and threads; get_isa/set_isa pick the
    instruction set (HPNN_ISA=generic forces the portable one), get_num_threads/
    set_num_threads the threads; manual_seed(n) seeds parameter init, shuffling and
    dropout.

Errors
    Bad arguments raise TypeError or ValueError naming the argument; shape mismatches raise
    hpnn.ShapeError (a ValueError and a RuntimeError, as PyTorch raises).

Command line: "hpnn" or "python -m hpnn" trains a small CNN on the digits ("hpnn --help").
"""
from . import _C
from ._config import (
    are_deterministic_algorithms_enabled,
    available_isas,
    get_isa,
    get_num_threads,
    set_isa,
    set_num_threads,
    show_config,
    use_deterministic_algorithms,
)
from . import kernels, reference
from .autograd import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,
                       no_grad, set_grad_enabled)
from . import backend  # the module: hpnn.backend.kernel(...), hpnn.backend.clear_cache()
from .backend import get_backend, set_backend, use_backend
from .errors import DimensionError, ShapeError
from .random import Generator, manual_seed
from ._device import DeviceError, device
from .tensor import Tensor
from .creation import (arange, cat, concatenate, from_numpy, full, ones, ones_like, rand, randint,
                       randn, stack, tensor, where, zeros, zeros_like)
from . import tensor_methods
from .tensor_methods import FUNCTIONS as _FUNCTIONS

tensor_methods.register_methods(Tensor)
from . import inplace_ops  # noqa: E402
inplace_ops.register(Tensor)
globals().update(_FUNCTIONS)  # hpnn.split, hpnn.einsum, hpnn.max, ... (tensor_methods.py)
from . import callbacks, data, datasets, functional, nn, optim  # noqa: E402
from . import accelerator, backends, cuda, utils  # noqa: E402
from .io import CheckpointError, load, save  # noqa: E402
from ._compile import compile  # noqa: E402,A001  (torch.compile's name)
from . import keras  # noqa: E402  (Keras' API; imports training, so last)

from .dtypes import (bfloat16, bool, double, dtype, float, float16, float32,  # noqa: E402,A001
                     float64, get_default_dtype, half, int, int8, int16, int32, int64,
                     is_floating_point, long, set_default_dtype, short, uint8)
from ._typed import (BoolTensor, DoubleTensor, FloatTensor, IntTensor,  # noqa: E402
                     LongTensor)

__version__ = _C.build_info()["version"]

__all__ = [
    # tensors and autograd
    "Tensor", "tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like",
    "randn", "rand", "randint", "arange", "cat", "concatenate", "stack", "where", "no_grad",
    "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
    "is_inference_mode_enabled", "manual_seed", "Generator", "ShapeError", "DimensionError",
    # devices: the CPU only
    "device", "DeviceError", "cuda", "backends", "accelerator",
    # subpackages, save/load, backends
    "nn", "functional", "optim", "data", "utils", "datasets", "callbacks", "keras", "save", "load", "compile",
    "backend",
    "CheckpointError",
    # dtypes
    "dtype", "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
    "uint8", "bool", "float", "double", "half", "long", "int", "short", "get_default_dtype",
    "set_default_dtype", "is_floating_point", "FloatTensor", "DoubleTensor", "LongTensor",
    "IntTensor", "BoolTensor",
    "get_backend", "set_backend", "use_backend", "kernels", "reference",
    # build and threading configuration
    "available_isas", "get_isa", "set_isa", "get_num_threads", "set_num_threads", "show_config",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
] + sorted(_FUNCTIONS)

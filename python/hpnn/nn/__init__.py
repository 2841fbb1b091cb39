"""Layers, losses and init (``hpnn.nn``), PyTorch names and defaults."""
import sys as _sys

from .. import functional
from . import init, utils
from .activation import (CELU, ELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh,
                         LogSigmoid, Mish, PReLU, ReLU6, SiLU, Softmin, Softplus, Softshrink,
                         Softsign, Tanhshrink, Threshold)
from .layers_extra import (CosineSimilarity, Dropout1d, Dropout2d, PairwiseDistance, Unflatten,
                           Upsample, UpsamplingBilinear2d, UpsamplingNearest2d)
from .layers_extra import (CircularPad1d, CircularPad2d, ConstantPad1d, ConstantPad2d, PixelShuffle,
                           PixelUnshuffle, ReflectionPad1d, ReflectionPad2d, ReplicationPad1d,
                           ReplicationPad2d, Softmax2d, ZeroPad1d, ZeroPad2d)
from .conv_extra import Conv1d, ConvTranspose1d, ConvTranspose2d
from .conv import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, Conv2d, MaxPool2d
from .layers import (GELU, Dropout, Flatten, Identity, LeakyReLU, Linear, LogSoftmax,
                     NonDynamicallyQuantizableLinear, ReLU, Sigmoid, Softmax, Tanh)
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .loss import (CosineEmbeddingLoss, HingeEmbeddingLoss, HuberLoss, KLDivLoss, L1Loss,
                   MarginRankingLoss, PoissonNLLLoss, SmoothL1Loss, SoftMarginLoss)
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList
from .hooks import RemovableHandle
from .module import Module, Parameter, Sequential
from .norm import BatchNorm1d, BatchNorm2d
from .row_norm import GroupNorm, InstanceNorm1d, InstanceNorm2d, LayerNorm
from .sparse import Embedding
from .attention import MultiheadAttention
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

_sys.modules[__name__ + ".functional"] = functional
from . import modules  # noqa: E402  (PyTorch's paths to the classes above; imports them)

__all__ = [
    "Module", "ModuleList", "Parameter", "Sequential", "Identity", "Linear", "Conv2d",
    "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "BatchNorm1d",
    "BatchNorm2d", "Dropout", "Flatten", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU",
    "Softmax", "LogSoftmax", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "Embedding",
    "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "functional",
    "init", "utils", "modules",
]
__all__ += ["MultiheadAttention", "Transformer", "TransformerEncoder", "TransformerEncoderLayer",
            "TransformerDecoder", "TransformerDecoderLayer"]
__all__ += ["ELU", "CELU", "SELU", "SiLU", "Mish", "Hardswish", "Hardsigmoid", "Hardtanh",
            "ReLU6", "Threshold", "Softplus", "LogSigmoid", "Softsign", "Tanhshrink",
            "Hardshrink", "Softshrink", "Softmin", "GLU", "PReLU"]
__all__ += ["L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "PoissonNLLLoss",
            "SoftMarginLoss", "HingeEmbeddingLoss", "MarginRankingLoss", "CosineEmbeddingLoss"]
__all__ += ["ModuleDict", "ParameterList", "ParameterDict", "RemovableHandle"]
__all__ += ["Conv1d", "ConvTranspose1d", "ConvTranspose2d"]
__all__ += ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "Dropout1d", "Dropout2d",
            "Unflatten", "CosineSimilarity", "PairwiseDistance"]
__all__ += ["PixelShuffle", "PixelUnshuffle", "Softmax2d", "ConstantPad1d", "ConstantPad2d", "ZeroPad1d", "ZeroPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d", "CircularPad2d"]

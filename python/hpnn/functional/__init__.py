"""Neural-network ops (``hpnn.functional``, also ``hpnn.nn.functional``), PyTorch's names and
signatures. Numeric work goes through ``backend.kernel``: the native kernels, or their numpy
twins on the 'numpy' backend."""
from ._common import pair as _pair  # noqa: F401  (used by nn layers)
from .activation import (gelu, leaky_relu, leaky_relu_, log_softmax, relu, relu_, sigmoid,
                         softmax, tanh)
from .activation_extra import *  # noqa: F401,F403  (ELU, SiLU, ...: the list in its __all__)
from .activation_extra import __all__ as _activation_extra_all
from .loss_extra import *  # noqa: F401,F403  (l1_loss, kl_div, ...: its __all__)
from .loss_extra import __all__ as _loss_extra_all
from .conv_extra import conv1d, conv_transpose1d, conv_transpose2d
from .sampling import (interpolate, pixel_shuffle, pixel_unshuffle, upsample,
                       upsample_bilinear, upsample_nearest)
from .vector import (cosine_similarity, dropout1d, dropout2d, normalize, one_hot,
                     pairwise_distance)
from .conv import conv2d, pad
from .dense import batch_norm, dropout, flatten, linear
from .embedding import embedding
from .attention import scaled_dot_product_attention
from .norm import group_norm, instance_norm, layer_norm
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                   mse_loss, nll_loss)
from .pool import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d

__all__ = [
    "linear", "conv2d", "pad", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
    "adaptive_max_pool2d", "relu", "relu_", "leaky_relu", "leaky_relu_", "sigmoid", "tanh",
    "gelu", "softmax", "log_softmax", "batch_norm", "dropout", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "flatten",
    "layer_norm", "group_norm", "instance_norm", "embedding",
]
__all__ += _activation_extra_all
__all__ += _loss_extra_all
__all__ += ["conv1d", "conv_transpose1d", "conv_transpose2d"]
__all__ += ["interpolate", "upsample", "upsample_bilinear", "upsample_nearest",
            "cosine_similarity", "dropout1d", "dropout2d", "normalize", "one_hot",
            "pairwise_distance"]
__all__ += ["pixel_shuffle", "pixel_unshuffle"]
__all__ += ["scaled_dot_product_attention"]

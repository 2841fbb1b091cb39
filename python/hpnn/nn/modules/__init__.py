"""``hpnn.nn.modules``: PyTorch's module paths (``torch.nn.modules.linear.Linear``, ...) for
hpnn.nn's classes, so code and allowlists that spell them out work. Each submodule re-exports
hpnn.nn's own classes; nothing here is a copy. hpnn.nn imports this package last."""
from .. import *  # noqa: F401,F403  (torch.nn.modules exports the classes too)
from .. import NonDynamicallyQuantizableLinear  # noqa: F401
from . import (  # noqa: F401
    activation, batchnorm, container, conv, distance, dropout, flatten, instancenorm,
    linear, loss, module, normalization, padding, pixelshuffle, pooling, rnn, sparse,
    transformer, upsampling,
)

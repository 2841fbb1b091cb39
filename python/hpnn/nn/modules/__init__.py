"""``hpnn.nn.modules``: PyTorch's module paths (``torch.nn.modules.linear.Linear``, ...) for
hpnn.nn's classes, so code and allowlists that spell them out work (the classes are also
attributes of this package, as in torch.nn.modules). Each submodule re-exports
hpnn.nn's own classes; nothing here is a copy. hpnn.nn imports this package last."""
from . import (  # noqa: F401
    activation, batchnorm, container, conv, distance, dropout, flatten, instancenorm,
    linear, loss, module, normalization, padding, pixelshuffle, pooling, rnn, sparse,
    transformer, upsampling,
)

for _submodule in (activation, batchnorm, container, conv, distance, dropout, flatten,
                   instancenorm, linear, loss, module, normalization, padding, pixelshuffle,
                   pooling, rnn, sparse, transformer, upsampling):
    globals().update((_name, getattr(_submodule, _name)) for _name in _submodule.__all__)
del _submodule

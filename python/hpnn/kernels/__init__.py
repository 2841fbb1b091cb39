"""Native float32 kernels (numpy in, numpy out), one module per family, each function with a
numpy twin of the same name and signature in ``hpnn.reference``."""
from . import activation
from .activation import *  # noqa: F401,F403
from . import loss
from .loss import *  # noqa: F401,F403
from . import optim
from .optim import *  # noqa: F401,F403
from . import dropout
from .dropout import *  # noqa: F401,F403
from . import conv
from .conv import *  # noqa: F401,F403
from .gemm import gemm, gemm_batched
from . import norm
from .norm import *  # noqa: F401,F403
from . import row_norm
from .row_norm import *  # noqa: F401,F403
from . import embedding
from .embedding import *  # noqa: F401,F403
from . import attention
from .attention import *  # noqa: F401,F403
from . import pool
from .pool import *  # noqa: F401,F403
from . import rnn
from .rnn import *  # noqa: F401,F403
from . import rnn_cells
from .rnn_cells import *  # noqa: F401,F403

__all__ = ["gemm", "gemm_batched"]
__all__ += conv.__all__
__all__ += activation.__all__
__all__ += loss.__all__
__all__ += optim.__all__
__all__ += dropout.__all__
__all__ += pool.__all__
__all__ += norm.__all__
__all__ += row_norm.__all__
__all__ += embedding.__all__
__all__ += attention.__all__
__all__ += rnn.__all__
__all__ += rnn_cells.__all__

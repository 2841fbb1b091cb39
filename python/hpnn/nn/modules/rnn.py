"""``hpnn.nn.modules.rnn``: PyTorch's path to these classes (the same objects as
``hpnn.nn``'s)."""
from .. import (  # noqa: F401
    GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell,
)

__all__ = [
    "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell",
]

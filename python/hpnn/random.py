"""The global random state: ``manual_seed`` makes init, shuffling and dropout repeatable."""
from __future__ import annotations

import numpy as np

_state = {"generator": np.random.default_rng()}


def manual_seed(seed: int) -> None:
    """Reseed the generator behind parameter init, DataLoader shuffling and dropout."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: argument 'seed' must be an int, got {type(seed).__name__}")
    _state["generator"] = np.random.default_rng(int(seed))


def generator() -> np.random.Generator:
    """The global numpy Generator."""
    return _state["generator"]


def next_seed() -> int:
    """A fresh 63-bit seed drawn from the global generator (for kernels that take a seed)."""
    return int(_state["generator"].integers(0, 2**63 - 1))

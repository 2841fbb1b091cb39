"""``hpnn.cuda``: hpnn runs on the CPU only, so there is never a CUDA device. These functions
answer as PyTorch's do on a machine without one, so scripts that ask take their CPU path."""
from __future__ import annotations

__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all", "empty_cache"]


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed) -> None:
    """Seeds nothing: there is no CUDA generator (PyTorch ignores it the same way)."""


def manual_seed_all(seed) -> None:
    """Seeds nothing, as ``manual_seed``."""


def empty_cache() -> None:
    """Frees nothing: there is no CUDA memory."""

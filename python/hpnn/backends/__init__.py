"""``hpnn.backends``: the switches PyTorch scripts read or set, answered for a CPU-only build.

``backends.mps.is_available()`` is False; ``backends.cudnn`` holds the flags scripts set
(``deterministic``, ``benchmark``, ``enabled``), which change nothing here: hpnn's kernels
are deterministic for a given seed and thread count."""
from __future__ import annotations

from types import SimpleNamespace

__all__ = ["mps", "cudnn"]


def _false(*args, **kwargs):
    return False


mps = SimpleNamespace(is_available=_false, is_built=_false)
cudnn = SimpleNamespace(is_available=_false, deterministic=False, benchmark=False, enabled=True)

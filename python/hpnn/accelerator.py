"""``hpnn.accelerator``: as ``torch.accelerator`` on a machine without one (hpnn runs on the
CPU only), so scripts that ask take their CPU path."""
from __future__ import annotations

__all__ = ["is_available", "current_accelerator", "device_count"]


def is_available() -> bool:
    return False


def current_accelerator(check_available=False):
    """None: there is no accelerator."""
    return None


def device_count() -> int:
    return 0

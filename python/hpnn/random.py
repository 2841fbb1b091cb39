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


class Generator:
    """A random generator of its own, as ``torch.Generator``: pass it as ``generator=`` to
    ``random_split``, the samplers or ``DataLoader`` to draw independently of ``manual_seed``.
    Only the CPU exists, so ``device`` must be "cpu"."""

    def __init__(self, device="cpu"):
        from ._device import check_cpu
        self.device = check_cpu(device, "Generator")
        self.seed()

    def manual_seed(self, seed):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"Generator.manual_seed: argument 'seed' must be an int, got "
                            f"{type(seed).__name__}")
        self._initial_seed = int(seed)
        self._numpy = np.random.default_rng(self._initial_seed)
        return self

    def seed(self):
        """Reseed from the operating system's entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1))
        return self._initial_seed

    def initial_seed(self):
        return self._initial_seed

    def get_state(self):
        """The generator's state (a dict of numpy's bit-generator state, not a ByteTensor)."""
        return self._numpy.bit_generator.state

    def set_state(self, state):
        self._numpy.bit_generator.state = state
        return self


def numpy_generator(generator=None) -> np.random.Generator:
    """The numpy Generator behind ``generator`` (an hpnn.Generator), or the global one."""
    if generator is None:
        return _state["generator"]
    if not isinstance(generator, Generator):
        raise TypeError(f"argument 'generator' must be an hpnn.Generator or None, got "
                        f"{type(generator).__name__}")
    return generator._numpy


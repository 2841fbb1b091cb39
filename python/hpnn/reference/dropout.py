"""Inverted dropout with a counter-based, thread-count-independent mask.

The mask bit of the element with flat (C-order) index i is defined as follows, in uint64
arithmetic modulo 2**64 (this is the i-th output, 1-based, of a SplitMix64 generator seeded
with ``seed``):

    z = seed + (i + 1) * 0x9E3779B97F4A7C15
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    z = z ^ (z >> 31)
    u = (z >> 40) * 2**-24            # top 24 bits, exactly representable, u in [0, 1)
    keep = u >= p                     # compared in double precision

so the mask depends only on (seed, shape, p). The returned mask is a bool array (True = kept).
"""
import numpy as np

from .activation import _check_same_shape, _float_array

_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)):
        raise TypeError(f"p must be a float, got {type(p).__name__}")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must be in [0, 1), got {p}")


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")


def dropout_uniforms(shape, seed):
    """The uniform u in [0, 1) of every element of an array of ``shape`` (see module doc)."""
    _check_seed(seed)
    index = np.arange(1, int(np.prod(shape)) + 1, dtype=np.uint64)
    z = np.uint64(seed) + index * _GOLDEN_GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(40)).astype(np.float64) * 2.0**-24).reshape(shape)


def _scale(p, dtype):
    """1 / (1 - p) rounded to ``dtype`` (PyTorch scales the mask in the input dtype)."""
    return dtype.type(1) / dtype.type(1 - p)


def dropout_forward(x, p, seed):
    """Training-mode dropout of x (any shape) -> (y, mask).

    mask = dropout_uniforms(x.shape, seed) >= p (bool, True = kept);
    y = x * (1 / (1 - p)) where kept, else 0, with the scale rounded to x's dtype.
    p == 0 gives y equal to x and an all-True mask. p must be in [0, 1).
    """
    x = _float_array(x, "x")
    _check_p(p)
    mask = dropout_uniforms(x.shape, seed) >= p
    return np.where(mask, x * _scale(p, x.dtype), x.dtype.type(0)), mask


def dropout_backward(grad_y, mask, p):
    """grad_y * (1 / (1 - p)) where mask is True, else 0."""
    grad_y = _float_array(grad_y, "grad_y")
    _check_p(p)
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask must be a bool array, got {mask.dtype}")
    _check_same_shape(grad_y, mask, "grad_y", "mask")
    return np.where(mask, grad_y * _scale(p, grad_y.dtype), grad_y.dtype.type(0))

"""Exception classes that keep both the Python convention and PyTorch's.

PyTorch raises ``RuntimeError`` where shapes do not match and ``IndexError`` for a dimension
out of range; Python code (and this project's guide) expects ``ValueError`` for a bad
argument. These classes derive from both, so either ``except`` clause catches them."""


class ShapeError(ValueError, RuntimeError):
    """An argument's shape (or size) does not fit the op or module it was given to."""


class DimensionError(IndexError, ValueError):
    """A dimension index out of range for the tensor's number of dimensions."""

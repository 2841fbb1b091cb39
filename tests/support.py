"""Shared by the test modules (tests/ is on sys.path through its conftest.py)."""
import contextlib
import os

import numpy as np

import hpnn
from hpnn import _C

# Every ISA this machine supports, unless HPNN_ISA pins one (CI's portable-path run).
TEST_ISAS = [os.environ["HPNN_ISA"]] if os.environ.get("HPNN_ISA") else hpnn.available_isas()


def as32(values):
    """float32 copies of the arrays in values; None stays None."""
    return [None if v is None else v.astype(np.float32) for v in values]


def assert_close(actual, expected, rtol):
    """actual is float32, shaped like expected and within rtol of expected's largest magnitude
    (absolutely, element by element); None only where expected is None."""
    if expected is None:
        assert actual is None
        return
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    scale = max(float(np.abs(expected).max()), 1e-6)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


@contextlib.contextmanager
def streamed_outputs(streamed):
    """Within the block, pooling, batch norm, the activations and the direct convolutions'
    GEMMs write every output with streaming stores (their path for outputs larger than the
    caches) when `streamed`, else as by default."""
    previous = _C._set_stream_min_bytes(0) if streamed else None
    try:
        yield
    finally:
        if streamed:
            _C._set_stream_min_bytes(previous)

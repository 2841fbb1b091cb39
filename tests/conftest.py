import os

import numpy as np
import pytest

import hpnn

# support.py holds shared assert helpers: rewrite its asserts as pytest does a test module's.
pytest.register_assert_rewrite("support")
from support import TEST_ISAS  # noqa: E402

# CI sets HPNN_REQUIRE_TORCH=1 so that the PyTorch parity modules run there instead of skipping.
if os.environ.get("HPNN_REQUIRE_TORCH") == "1":
    try:
        import torch  # noqa: F401
    except ImportError as error:
        raise pytest.UsageError(f"HPNN_REQUIRE_TORCH=1 but torch cannot be imported: {error}")


@pytest.fixture(params=TEST_ISAS)
def isa(request):
    """Runs the test once per ISA this machine supports, restoring the previous one after."""
    previous = hpnn.get_isa()
    hpnn.set_isa(request.param)
    yield request.param
    hpnn.set_isa(previous)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    previous = hpnn.get_num_threads()
    hpnn.set_num_threads(request.param)
    yield request.param
    hpnn.set_num_threads(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)

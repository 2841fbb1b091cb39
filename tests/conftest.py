import numpy as np
import pytest

import hpnn
from support import TEST_ISAS


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

"""Large kernel outputs come from a bounded cache of released blocks (csrc/bindings/output_buffers):
reused, never shared between live arrays, capped, and safe to release from any thread."""
import gc
import subprocess
import sys
import threading

import numpy as np
import pytest

from hpnn import _C, kernels

SHAPE = (4, 8, 64, 64)  # 512 KiB: above the cache's minimum size
NBYTES = int(np.prod(SHAPE)) * 4


@pytest.fixture
def x(rng):
    return rng.standard_normal(SHAPE, dtype=np.float32)


@pytest.fixture
def cache_limit():
    """Restores the cache's cap after a test that changes it."""
    previous = _C._set_output_cache_limit(1 << 30)
    _C._set_output_cache_limit(previous)
    yield
    _C._set_output_cache_limit(previous)


def test_large_outputs_are_cached_small_ones_are_not(x):
    assert NBYTES >= _C._output_cache_info()["min_bytes"]
    y = kernels.relu_forward(x)
    assert y.base is not None and y.flags.c_contiguous and y.flags.writeable
    assert y.ctypes.data % 64 == 0
    small = kernels.relu_forward(x[0, 0, :2])
    assert small.base is None


def test_released_output_is_reused_with_correct_values(x):
    y = kernels.relu_forward(x)
    address = y.ctypes.data
    del y
    y = kernels.relu_forward(-x)
    assert y.ctypes.data == address
    np.testing.assert_array_equal(y, np.maximum(-x, 0))


def test_live_outputs_never_share_memory(x):
    outputs = [kernels.relu_forward(x) for _ in range(3)]
    outputs.append(kernels.avg_pool2d_backward(outputs[0][:, :, ::2, ::2].copy(), SHAPE, 2, 2))
    for i, a in enumerate(outputs):
        for b in outputs[i + 1:]:
            assert not np.shares_memory(a, b)


def test_views_keep_the_block_alive(x):
    view = kernels.relu_forward(x)[1:3]
    gc.collect()
    others = [kernels.relu_forward(-x) for _ in range(2)]
    for other in others:
        assert not np.shares_memory(view, other)
    np.testing.assert_array_equal(view, np.maximum(x[1:3], 0))


def test_limit_caps_idle_bytes(x, cache_limit):
    _C._set_output_cache_limit(2 * NBYTES)
    outputs = [kernels.relu_forward(x) for _ in range(5)]
    del outputs
    info = _C._output_cache_info()
    assert info["cached_bytes"] <= 2 * NBYTES and info["cached_blocks"] <= 2
    _C._set_output_cache_limit(0)
    assert _C._output_cache_info()["cached_bytes"] == 0
    np.testing.assert_array_equal(kernels.relu_forward(x), np.maximum(x, 0))


def test_blocks_per_size_are_capped(x, cache_limit):
    _C._set_output_cache_limit(0)  # empties the cache: only this test's size is counted below
    _C._set_output_cache_limit(1 << 30)
    outputs = [kernels.relu_forward(x) for _ in range(20)]
    del outputs
    info = _C._output_cache_info()
    assert info["cached_blocks"] == info["blocks_per_size"]
    assert info["cached_bytes"] == info["blocks_per_size"] * NBYTES


def test_many_cycles_across_sizes_and_threads(x):
    expected = np.maximum(x, 0)
    kept, errors = [], []

    def churn(seed):
        rng = np.random.default_rng(seed)
        try:
            for i in range(200):
                rows = int(rng.integers(1, SHAPE[0] + 1))
                y = kernels.relu_forward(x[:rows])
                np.testing.assert_array_equal(y, expected[:rows])
                if i % 50 == 0:
                    kept.append(y)  # released later, by the main thread
        except Exception as error:  # a thread's exception would not fail the test by itself
            errors.append(error)

    workers = [threading.Thread(target=churn, args=(seed,)) for seed in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    for y in kept:
        np.testing.assert_array_equal(y, expected[:len(y)])
    del kept
    assert _C._output_cache_info()["cached_bytes"] <= _C._output_cache_info()["limit_bytes"]


def test_outputs_alive_at_interpreter_exit():
    # Blocks released during finalisation go back to a cache that is never destroyed.
    script = ("import numpy as np; from hpnn import kernels; "
              "x = np.ones((8, 64, 64, 64), np.float32); kept = [kernels.relu_forward(x)]; "
              "kept.append(kept); y = kernels.relu_forward(x)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_index_and_mask_outputs_are_cached(x):
    _, indices = kernels.max_pool2d_forward(x, kernel_size=2, stride=2)
    _, mask = kernels.dropout_forward(np.concatenate([x, x]), 0.5, 7)  # 1 byte an element
    assert indices.dtype == np.int64 and mask.dtype == np.bool_
    assert indices.base is not None and mask.base is not None
    address = indices.ctypes.data
    del indices
    y, indices = kernels.max_pool2d_forward(x, kernel_size=2, stride=2)
    assert indices.ctypes.data == address
    _, expected = kernels.max_pool2d_forward(x.copy(), kernel_size=2, stride=2)
    np.testing.assert_array_equal(indices, expected)

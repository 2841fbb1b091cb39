"""Pooling and batch norm on a (64, 64, 56, 56) float32 batch: hpnn against a plain copy of the
same bytes (np.copyto, the memory-bound floor) and torch CPU, at 1 and 2 threads.

Run: python -m pytest bench/test_pool_norm.py --benchmark-group-by=param:case
The summary's last column is each anchor's time over hpnn's (copy: < 1, the target is >= 0.5).
"""
import numpy as np
import pytest

from hpnn import kernels

SHAPE = (64, 64, 56, 56)
POOL = dict(kernel_size=2, stride=2)


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE, dtype=np.float32)
    y, indices = kernels.max_pool2d_forward(x, **POOL)
    channels = SHAPE[1]
    return dict(x=x, copy=np.empty_like(x), grad_pool=rng.standard_normal(y.shape, dtype=np.float32),
                indices=indices, grad_x=rng.standard_normal(SHAPE, dtype=np.float32),
                weight=rng.standard_normal(channels, dtype=np.float32),
                bias=rng.standard_normal(channels, dtype=np.float32),
                running_mean=np.zeros(channels, np.float32), running_var=np.ones(channels, np.float32))


def hpnn_case(case, a, index_dtype=np.int32):
    """hpnn's kernels as nn.MaxPool2d runs them (int32 indices: the caller never sees them)."""
    if case == "maxpool_fwd":
        return lambda: kernels.max_pool2d_forward(a["x"], **POOL, index_dtype=index_dtype)
    if case == "maxpool_fwd_bwd":
        def run():
            _, indices = kernels.max_pool2d_forward(a["x"], **POOL, index_dtype=index_dtype)
            kernels.max_pool2d_backward(a["grad_pool"], indices, SHAPE)
        return run
    if case == "avgpool_fwd":
        return lambda: kernels.avg_pool2d_forward(a["x"], **POOL)
    if case == "avgpool_fwd_bwd":
        def run():
            kernels.avg_pool2d_forward(a["x"], **POOL)
            kernels.avg_pool2d_backward(a["grad_pool"], SHAPE, **POOL)
        return run
    if case == "batchnorm_train_fwd_bwd":
        def run():
            _, mean, invstd = kernels.batch_norm_forward_train(
                a["x"], a["weight"], a["bias"], a["running_mean"], a["running_var"])
            kernels.batch_norm_backward(a["grad_x"], a["x"], a["weight"], mean, invstd)
        return run
    raise KeyError(case)


def torch_case(case, a):
    torch = pytest.importorskip("torch")
    aten = torch.ops.aten
    x, g_pool, g_x = (torch.from_numpy(a[k]) for k in ("x", "grad_pool", "grad_x"))
    w, b, rm, rv = (torch.from_numpy(a[k]) for k in ("weight", "bias", "running_mean", "running_var"))
    k, s = [2, 2], [2, 2]
    if case == "maxpool_fwd":
        return lambda: aten.max_pool2d_with_indices(x, k, s)
    if case == "maxpool_fwd_bwd":
        def run():
            _, indices = aten.max_pool2d_with_indices(x, k, s)
            aten.max_pool2d_with_indices_backward(g_pool, x, k, s, [0, 0], [1, 1], False, indices)
        return run
    if case == "avgpool_fwd":
        return lambda: aten.avg_pool2d(x, k, s)
    if case == "avgpool_fwd_bwd":
        def run():
            aten.avg_pool2d(x, k, s)
            aten.avg_pool2d_backward(g_pool, x, k, s, [0, 0], False, True, None)
        return run
    if case == "batchnorm_train_fwd_bwd":
        def run():
            _, mean, invstd = aten.native_batch_norm(x, w, b, rm, rv, True, 0.1, 1e-5)
            aten.native_batch_norm_backward(g_x, x, w, rm, rv, mean, invstd, True, 1e-5,
                                            [True, True, True])
        return run
    raise KeyError(case)


def copy_case(case, a):
    # The floor: one read and one write of the input's bytes.
    return lambda: np.copyto(a["copy"], a["x"])


def hpnn_int64_case(case, a):
    """Max pooling with the int64 indices torch returns (return_indices=True)."""
    if not case.startswith("maxpool"):
        pytest.skip("int64 indices are a max-pooling variant")
    return hpnn_case(case, a, np.int64)


RUNNERS = {"hpnn": hpnn_case, "hpnn_int64": hpnn_int64_case, "copy": copy_case,
           "torch": torch_case}
CASES = ["maxpool_fwd", "maxpool_fwd_bwd", "avgpool_fwd", "avgpool_fwd_bwd",
         "batchnorm_train_fwd_bwd"]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("impl", list(RUNNERS))
@pytest.mark.parametrize("case", CASES)
def test_pool_norm(measure, arrays, case, impl, threads):
    run = RUNNERS[impl](case, arrays)
    group = f"{case} {SHAPE} threads={threads}"
    measure(run, group, impl, threads, rounds=15)

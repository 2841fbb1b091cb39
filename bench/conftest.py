"""Shared benchmark fixtures: thread pinning for hpnn and numpy's BLAS, the FMA peak probe, and a
closing summary table of GFLOP/s and the hpnn/anchor speed ratio per group."""
import contextlib
import time
from collections import defaultdict

import pytest

import hpnn
from hpnn import _C

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # the comparison still runs, with numpy on its default thread count
    threadpool_limits = None


@contextlib.contextmanager
def thread_count(n):
    """hpnn and the BLAS behind numpy (and torch, when present) all use n threads."""
    previous = hpnn.get_num_threads()
    hpnn.set_num_threads(n)
    torch = _optional_torch()
    torch_previous = torch.get_num_threads() if torch else None
    if torch:
        torch.set_num_threads(n)
    limits = threadpool_limits(limits=n) if threadpool_limits else contextlib.nullcontext()
    try:
        with limits:
            yield
    finally:
        hpnn.set_num_threads(previous)
        if torch:
            torch.set_num_threads(torch_previous)


def _optional_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def measure_fma_peak(iters=20_000_000, repeats=5):
    """GFLOP/s of one core running register-only FMAs with the active ISA (best of repeats)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        flops = _C.fma_probe(iters)
        best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


@pytest.fixture(scope="session")
def fma_peak_gflops():
    return measure_fma_peak()


_RESULTS = defaultdict(dict)  # group -> {implementation: (median seconds, flops)}


@pytest.fixture
def record(benchmark):
    """record(group, implementation, flops) after a benchmark run, for the summary table."""
    def _record(group, implementation, flops=0):
        median = benchmark.stats.stats.median
        if flops:
            benchmark.extra_info["gflops"] = round(flops / median / 1e9, 1)
        _RESULTS[group][implementation] = (median, flops)
    return _record


@pytest.fixture
def measure(benchmark, record):
    """measure(run, group, impl, threads, rounds, flops=0, warmup_rounds=2): time `run` at
    `threads` threads (hpnn, numpy's BLAS and torch alike) under pytest-benchmark's `group`,
    and record it for the summary table."""
    def _measure(run, group, impl, threads, rounds, flops=0, warmup_rounds=2):
        benchmark.group = group
        with thread_count(threads):
            benchmark.pedantic(run, warmup_rounds=warmup_rounds, rounds=rounds, iterations=1)
        record(group, impl, flops)
    return _measure


def pytest_terminal_summary(terminalreporter):
    if not _RESULTS:
        return
    peak = measure_fma_peak()
    write = terminalreporter.write_line
    write("")
    write(f"hpnn {hpnn.__version__} isa={hpnn.get_isa()}; one-core FMA peak {peak:.0f} GFLOP/s")
    write(f"{'group':<44} {'impl':<8} {'median':>10} {'GFLOP/s':>9} {'%peak/thr':>9} {'hpnn speedup':>12}")
    for group, impls in _RESULTS.items():
        hpnn_time = impls.get("hpnn", (None,))[0]
        threads = int(group.rsplit("threads=", 1)[1]) if "threads=" in group else 1
        for impl, (median, flops) in impls.items():
            ratio = f"{median / hpnn_time:.2f}x" if hpnn_time and impl != "hpnn" else ""
            if flops:  # compute-bound: rate and share of the peak
                gflops = flops / median / 1e9
                rate = f"{gflops:>9.1f} {100 * gflops / peak / threads:>8.0f}%"
            else:  # memory-bound or end-to-end: the time ratio says it all
                rate = f"{'-':>9} {'-':>9}"
            write(f"{group:<44} {impl:<8} {median * 1e3:>8.3f}ms {rate} {ratio:>12}")

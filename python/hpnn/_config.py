"""Runtime configuration: instruction set, threads, and a summary of the build."""
from __future__ import annotations

import platform

from . import _C


def get_isa() -> str:
    """The instruction set the kernels run with ('avx512', 'avx2' or 'generic')."""
    return _C.get_isa()


def available_isas() -> list[str]:
    """Instruction sets compiled in and supported by this CPU, best first."""
    return list(_C.available_isas())


def set_isa(name: str) -> None:
    """Run every kernel with another ISA from ``available_isas()``.

    The environment variable ``HPNN_ISA`` does the same at import; ``HPNN_ISA=generic`` forces
    the portable path.
    """
    if not isinstance(name, str):
        raise TypeError(f"set_isa: argument 'name' must be a str, got {type(name).__name__}")
    _C.set_isa(name)


def get_num_threads() -> int:
    """Threads the kernels may use (initially OMP_NUM_THREADS, else the number of cores)."""
    return _C.get_num_threads()


def set_num_threads(n: int) -> None:
    """Let the kernels use up to ``n`` threads; small problems still run on one."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: argument 'n' must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: argument 'n' must be >= 1, got {n}")
    _C.set_num_threads(n)


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Make every kernel bit-reproducible (``True``, the default) or let a few split their sums
    by thread (``False``), as ``torch.use_deterministic_algorithms``.

    In deterministic mode every reduction that threads share is cut at boundaries fixed by the
    problem's size, never by the thread count, and its partial sums are added in a fixed order:
    results are bit-identical from run to run *and* at any ``set_num_threads``. It costs little
    (see the README), hence the default. ``warn_only`` is accepted for PyTorch compatibility;
    every kernel has a deterministic implementation, so there is nothing to warn about.
    """
    if not isinstance(mode, bool):
        raise TypeError("use_deterministic_algorithms: argument 'mode' must be a bool, got "
                        f"{type(mode).__name__}")
    if not isinstance(warn_only, bool):
        raise TypeError("use_deterministic_algorithms: argument 'warn_only' must be a bool, got "
                        f"{type(warn_only).__name__}")
    _C.use_deterministic_algorithms(mode)


def are_deterministic_algorithms_enabled() -> bool:
    """Whether the kernels run in deterministic mode (see use_deterministic_algorithms)."""
    return _C.are_deterministic_algorithms_enabled()


def config() -> dict:
    """The build and runtime configuration as a dict."""
    info = dict(_C.build_info())
    info.update(
        isa=get_isa(),
        available_isas=available_isas(),
        num_threads=get_num_threads(),
        deterministic=are_deterministic_algorithms_enabled(),
        gemm_blocking=dict(_C.gemm_blocking()),
        python=platform.python_version(),
        machine=platform.machine(),
    )
    return info


def show_config() -> None:
    """Print version, selected and available ISAs, threads, compiler and flags."""
    info = config()
    blocking = info["gemm_blocking"]
    lines = [
        f"hpnn {info['version']}",
        f"  isa:            {info['isa']} (available: {', '.join(info['available_isas'])};"
        f" compiled: {', '.join(info['compiled_isas'])})",
        f"  threads:        {info['num_threads']} (OpenMP {info['openmp'] or 'not available'})",
        f"  deterministic:  {info['deterministic']}",
        f"  compiler:       {info['compiler']}",
        f"  flags:          {info['flags']} + per-ISA -m flags",
        "  gemm blocking:  "
        + ", ".join(f"{key}={blocking[key]}" for key in ("mr", "nr", "kc", "mc", "nc")),
        f"  python:         {info['python']} on {info['machine']}",
    ]
    print("\n".join(lines))

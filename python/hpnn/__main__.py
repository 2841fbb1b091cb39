"""``python -m hpnn``: the main job."""
import time

import numpy as np

from . import kernels, show_config


def main() -> None:
    show_config()
    rng = np.random.default_rng(0)
    n = 1024
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    kernels.gemm(a, b)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        kernels.gemm(a, b)
        times.append(time.perf_counter() - start)
    print(f"gemm {n}x{n}x{n}: {2 * n**3 / min(times) / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()

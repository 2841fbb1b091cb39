"""Bad arguments to gemm raise TypeError/ValueError naming the argument; nothing crashes."""
import threading

import numpy as np
import pytest

from hpnn import kernels


def f32(*shape):
    return np.ones(shape, dtype=np.float32)


@pytest.mark.parametrize("bad", [np.ones((2, 2)), np.ones((2, 2), dtype=np.int32), [[1.0, 2.0]], 3.0])
def test_rejects_non_float32_inputs(bad):
    with pytest.raises(TypeError, match="'a'"):
        kernels.gemm(bad, f32(2, 2))
    with pytest.raises(TypeError, match="'b'"):
        kernels.gemm(f32(2, 2), bad)


def test_float64_message_says_how_to_convert():
    with pytest.raises(TypeError, match=r"float32, got float64 \(convert with .astype"):
        kernels.gemm(np.ones((2, 2)), f32(2, 2))


@pytest.mark.parametrize("shape", [(4,), (2, 2, 2), ()])
def test_rejects_wrong_rank(shape):
    with pytest.raises(ValueError, match="'a' must have 2 dimensions"):
        kernels.gemm(np.ones(shape, np.float32), f32(2, 2))


def test_rejects_mismatched_inner_dimensions():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 6\)"):
        kernels.gemm(f32(3, 4), f32(5, 6))
    with pytest.raises(ValueError, match="inner dimensions"):
        kernels.gemm(f32(3, 4), f32(3, 4), trans_b=False)
    kernels.gemm(f32(3, 4), f32(6, 4), trans_b=True)  # fine once transposed


def test_rejects_bad_output():
    a, b = f32(3, 4), f32(4, 5)
    with pytest.raises(ValueError, match=r"'c' must have shape \(3, 5\), got \(5, 3\)"):
        kernels.gemm(a, b, f32(5, 3))
    with pytest.raises(TypeError, match="'c' must be float32"):
        kernels.gemm(a, b, np.ones((3, 5)))
    readonly = f32(3, 5)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="'c' is not writeable"):
        kernels.gemm(a, b, readonly)
    with pytest.raises(TypeError, match="'c'"):
        kernels.gemm(a, b, [[0.0] * 5] * 3)


def test_rejects_output_overlapping_an_input():
    buffer = np.ones((4, 8), np.float32)
    with pytest.raises(ValueError, match="overlaps input 'a'"):
        kernels.gemm(buffer[:, :4], f32(4, 4), buffer[:, 2:6])
    with pytest.raises(ValueError, match="overlaps input 'b'"):
        kernels.gemm(f32(4, 4), buffer[:, :4], buffer[:, :4], beta=1.0)
    kernels.gemm(buffer[:, :4], f32(4, 4), buffer[:, 4:])  # disjoint halves are fine


def test_concurrent_calls_from_python_threads(rng):
    problems = [(rng.standard_normal((150, 90), dtype=np.float32),
                 rng.standard_normal((90, 170), dtype=np.float32)) for _ in range(6)]
    results = [None] * len(problems)

    def work(i):
        for _ in range(5):
            results[i] = kernels.gemm(*problems[i])

    workers = [threading.Thread(target=work, args=(i,)) for i in range(len(problems))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for (a, b), result in zip(problems, results):
        np.testing.assert_allclose(result, a @ b, rtol=1e-4, atol=1e-4)

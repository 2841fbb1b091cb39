"""Depthwise 3x3 conv2d (groups == channels, MobileNet blocks) forward and forward+backward:
hpnn against PyTorch CPU, same threads, one run. A depthwise layer moves a few tens of MB for a
few tens of MFLOP, so the rate that matters is memory traffic: each case records GB/s (the
tensors' bytes read and written once, see tensor_bytes) in extra_info beside GFLOP/s.

Run: python -m pytest bench/test_conv_depthwise.py
"""
import numpy as np
import pytest

from conv_steps import hpnn_step, torch_step
from hpnn import kernels

# (name, (N, C, H, W), stride); 3x3 kernel, padding 1
SHAPES = [
    ("dw_32x32_c32_s1", (64, 32, 32, 32), 1),
    ("dw_32x32_c64_s2", (64, 64, 32, 32), 2),
    ("dw_16x16_c128_s1", (64, 128, 16, 16), 1),
    ("dw_8x8_c256_s2", (64, 256, 8, 8), 2),
]


def operands(shape, stride):
    rng = np.random.default_rng(0)
    n, c, h, w = shape
    x = rng.standard_normal(shape, dtype=np.float32)
    weight = rng.standard_normal((c, 1, 3, 3), dtype=np.float32) * 0.3
    bias = rng.standard_normal(c, dtype=np.float32)
    oh, ow = (h - 1) // stride + 1, (w - 1) // stride + 1
    grad_y = rng.standard_normal((n, c, oh, ow), dtype=np.float32)
    return x, weight, bias, grad_y


def tensor_bytes(x, grad_y, backward):
    """Forward: x read, y written. Backward: dy and x read, dx written (weights are tiny)."""
    return 4 * (2 * x.size + 2 * grad_y.size if backward else x.size + grad_y.size)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("impl", ["hpnn", "torch"])
@pytest.mark.parametrize("backward", [False, True], ids=["fwd", "fwd+bwd"])
@pytest.mark.parametrize("case", SHAPES, ids=[s[0] for s in SHAPES])
def test_conv2d_depthwise(benchmark, measure, case, backward, impl, threads):
    name, shape, stride = case
    x, weight, bias, grad_y = operands(shape, stride)
    geometry = dict(stride=stride, padding=1, groups=x.shape[1])
    run = (hpnn_step(kernels, x, weight, bias, grad_y, backward, **geometry) if impl == "hpnn"
           else torch_step(x, weight, bias, grad_y, backward, **geometry))
    flops = 2.0 * grad_y.size * 9 * (3 if backward else 1)
    group = f"depthwise {name} {'fwd+bwd' if backward else 'fwd'} threads={threads}"
    measure(run, group, impl, threads, rounds=20, flops=flops)
    benchmark.extra_info["gbps"] = round(
        tensor_bytes(x, grad_y, backward) / benchmark.stats.stats.median / 1e9, 1)

"""conv2d forward and forward+backward: hpnn against PyTorch CPU (and the numpy reference on
the small shapes), same threads, one run; and conv -> relu forward, hpnn's relu fused into the
convolution's output write beside the two kernels in turn and torch.

Run: python -m pytest bench/test_conv.py
The closing table gives milliseconds and how many times longer each anchor takes than hpnn.
"""
import numpy as np
import pytest

from conv_steps import hpnn_step, torch_step
from hpnn import kernels, reference

# (name, (N, C, H, W), K, kernel, padding)
SHAPES = [
    ("first_layer", (64, 1, 28, 28), 32, 3, 0),
    ("small_3x3", (64, 32, 13, 13), 64, 3, 0),
    ("mid_3x3_56", (32, 64, 56, 56), 64, 3, 1),
    ("mid_3x3_28", (32, 128, 28, 28), 128, 3, 1),
    ("mid_3x3_14", (32, 256, 14, 14), 256, 3, 1),
    ("pointwise", (32, 64, 56, 56), 256, 1, 0),
]


def operands(shape, k, ksize, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    w = rng.standard_normal((k, shape[1], ksize, ksize), dtype=np.float32) * 0.1
    b = rng.standard_normal(k, dtype=np.float32)
    oh = shape[2] + 2 * padding - ksize + 1
    grad_y = rng.standard_normal((shape[0], k, oh, oh), dtype=np.float32)
    return x, w, b, grad_y


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("impl", ["hpnn", "torch", "reference"])
@pytest.mark.parametrize("backward", [False, True], ids=["fwd", "fwd+bwd"])
@pytest.mark.parametrize("case", SHAPES, ids=[s[0] for s in SHAPES])
def test_conv2d(measure, case, backward, impl, threads):
    name, shape, k, ksize, padding = case
    if impl == "reference" and (backward or shape[1] > 32):
        pytest.skip("the numpy reference is only timed on the small forward shapes")
    x, w, b, grad_y = operands(shape, k, ksize, padding)
    if impl == "torch":
        run = torch_step(x, w, b, grad_y, backward, padding=padding)
    else:
        run = hpnn_step(kernels if impl == "hpnn" else reference, x, w, b, grad_y, backward,
                        padding=padding)
    flops = 2.0 * grad_y.size * shape[1] * ksize * ksize * (3 if backward else 1)
    group = f"conv {name} {'fwd+bwd' if backward else 'fwd'} threads={threads}"
    measure(run, group, impl, threads, rounds=5 if flops > 1e9 else 20, flops=flops,
            warmup_rounds=1)


def relu_step(impl, x, w, b, padding):
    """conv -> relu forward: hpnn fused into the output write, hpnn as two kernels, torch."""
    if impl == "hpnn":
        return lambda: kernels.conv2d_forward(x, w, b, padding=padding, relu=True)
    if impl == "hpnn_unfused":
        return lambda: kernels.relu_forward(kernels.conv2d_forward(x, w, b, padding=padding))
    torch = pytest.importorskip("torch")
    tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))
    return lambda: torch.relu(torch.nn.functional.conv2d(tx, tw, tb, padding=padding))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("impl", ["hpnn", "hpnn_unfused", "torch"])
@pytest.mark.parametrize("case", [SHAPES[2], SHAPES[5]], ids=[SHAPES[2][0], SHAPES[5][0]])
def test_conv2d_relu(measure, case, impl, threads):
    name, shape, k, ksize, padding = case
    x, w, b, grad_y = operands(shape, k, ksize, padding)
    flops = 2.0 * grad_y.size * shape[1] * ksize * ksize
    measure(relu_step(impl, x, w, b, padding), f"conv+relu {name} fwd threads={threads}", impl,
            threads, rounds=5, flops=flops, warmup_rounds=1)

"""Conv1d and ConvTranspose2d (both on the conv2d kernels), forward and forward+backward
through the nn modules: hpnn against PyTorch CPU with the same weights, same threads.

Run: python -m pytest bench/test_conv_extra.py
The closing table gives milliseconds and how many times longer each anchor takes than hpnn.
"""
import numpy as np
import pytest

import hpnn

# (name, module, constructor args, input shape)
CASES = [
    ("conv1d_text", "Conv1d", (128, 128, 5), dict(padding=2), (32, 128, 256)),
    ("conv1d_audio", "Conv1d", (32, 64, 9), dict(stride=2), (16, 32, 4000)),
    ("deconv_dcgan", "ConvTranspose2d", (128, 64, 4), dict(stride=2, padding=1),
     (32, 128, 16, 16)),
    ("deconv_unet", "ConvTranspose2d", (64, 32, 2), dict(stride=2), (16, 64, 32, 32)),
]


def _step(lib, layer, x, grad, backward):
    def run():
        y = layer(x)
        if backward:
            x.grad = None
            for p in layer.parameters():
                p.grad = None
            y.backward(grad)
        return y
    return run


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("impl", ["hpnn", "torch"])
@pytest.mark.parametrize("backward", [False, True], ids=["fwd", "fwd+bwd"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_conv_extra(measure, case, backward, impl, threads):
    torch = pytest.importorskip("torch")
    name, module, args, kwargs, shape = case
    theirs = getattr(torch.nn, module)(*args, **kwargs)
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    out_shape = tuple(theirs(torch.from_numpy(x)).shape)
    grad = np.random.default_rng(1).standard_normal(out_shape, dtype=np.float32)
    if impl == "torch":
        run = _step(torch, theirs, torch.from_numpy(x).requires_grad_(backward),
                    torch.from_numpy(grad), backward)
    else:
        ours = getattr(hpnn.nn, module)(*args, **kwargs)
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        run = _step(hpnn, ours, hpnn.tensor(x, requires_grad=backward), hpnn.tensor(grad),
                    backward)
    # a multiply-add per weight tap (weight.shape[1:]) and element of the convolution's output
    # (Conv1d) or input (the transposed one scatters each input element through its taps)
    elements = int(np.prod(out_shape if module == "Conv1d" else shape))
    flops = 2.0 * elements * int(np.prod(theirs.weight.shape[1:])) * (3 if backward else 1)
    group = f"{name} {'fwd+bwd' if backward else 'fwd'} threads={threads}"
    measure(run, group, impl, threads, rounds=5, flops=flops, warmup_rounds=1)

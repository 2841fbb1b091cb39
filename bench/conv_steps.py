"""One convolution step -- the forward, and with backward=True all three gradients as
nn.Conv2d's backward takes them -- for hpnn's kernels (or their reference) and for torch, so
that the conv benches time the same work on both sides."""
import pytest


def hpnn_step(lib, x, weight, bias, grad_y, backward, **geometry):
    def run():
        y = lib.conv2d_forward(x, weight, bias, **geometry)
        if backward:
            lib.conv2d_backward(grad_y, x, weight, **geometry)
        return y
    return run


def torch_step(x, weight, bias, grad_y, backward, **geometry):
    torch = pytest.importorskip("torch")
    tx, tw, tb = (torch.from_numpy(a).requires_grad_(backward) for a in (x, weight, bias))
    tg = torch.from_numpy(grad_y)

    def run():
        y = torch.nn.functional.conv2d(tx, tw, tb, **geometry)
        if backward:
            tx.grad = tw.grad = tb.grad = None
            y.backward(tg)
        return y
    return run

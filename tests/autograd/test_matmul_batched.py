"""Batched matmul (Tensor @, bmm, scaled_dot_product_attention) runs each product as one
gemm_batched call, forward and backward, and agrees with the numpy backend."""
import numpy as np
import pytest

import hpnn
from hpnn import backend, shape_ops

rng = np.random.default_rng(7)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def _matmul_grads(a, b):
    ta, tb = hpnn.tensor(a, requires_grad=True), hpnn.tensor(b, requires_grad=True)
    out = ta @ tb
    (out * hpnn.tensor(np.linspace(-1, 1, out.numel(), dtype=np.float32).reshape(out.shape))
     ).sum().backward()
    return out.numpy(), ta.grad.numpy(), tb.grad.numpy()


@pytest.mark.parametrize("shape_a,shape_b", [
    ((4, 5, 6), (4, 6, 3)), ((2, 1, 5, 6), (3, 6, 4)), ((5, 6), (2, 3, 6, 4)),
    ((1, 2, 1, 2, 1, 2, 3, 4), (2, 1, 2, 1, 2, 1, 4, 2)),  # past gemm_batched's 6 dims
])
def test_native_matches_numpy_backend(threads, shape_a, shape_b):
    a, b = f32(*shape_a), f32(*shape_b)
    native = _matmul_grads(a, b)
    with hpnn.use_backend("numpy"):
        reference = _matmul_grads(a, b)
    for got, want in zip(native, reference):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def _count_kernels(monkeypatch):
    calls = []

    def counting(name):
        fn = backend.kernel(name)
        return lambda *args, **kwargs: (calls.append(name), fn(*args, **kwargs))[1]
    monkeypatch.setattr(shape_ops, "kernel", counting)
    return calls


def test_one_native_call_per_product(monkeypatch):
    calls = _count_kernels(monkeypatch)
    a = hpnn.tensor(f32(8, 4, 16, 8), requires_grad=True)
    b = hpnn.tensor(f32(8, 4, 8, 16), requires_grad=True)
    (a @ b).sum().backward()
    assert calls == ["gemm_batched"] * 3  # forward, grad of a, grad of b


def test_attention_reads_strided_heads_in_one_call_each(monkeypatch):
    calls = _count_kernels(monkeypatch)
    x = f32(2, 16, 3, 4, 8)  # (N, L, 3, H, E), split into transposed q, k, v views
    q, k, v = (hpnn.tensor(np.ascontiguousarray(x[:, :, i]), requires_grad=True)
               for i in range(3))
    heads = [t.transpose(1, 2) for t in (q, k, v)]
    out = hpnn.nn.functional.scaled_dot_product_attention(*heads, is_causal=True)
    out.sum().backward()
    assert calls == ["gemm_batched"] * 6  # 2 forward, 4 backward
    with hpnn.use_backend("numpy"):
        want = hpnn.nn.functional.scaled_dot_product_attention(
            *[hpnn.tensor(h.numpy()) for h in heads], is_causal=True)
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)

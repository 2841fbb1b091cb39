"""The backward pass itself: accumulation, graph freeing, grad mode, errors."""
import numpy as np
import pytest

import hpnn


def test_gradients_accumulate_across_backward_calls():
    x = hpnn.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_diamond_graph_sums_both_paths():
    x = hpnn.tensor([2.0], requires_grad=True)
    y = x * x
    z = y + y * 3  # dz/dx = 4 * 2x
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [16.0])


def test_same_tensor_used_twice_in_one_op():
    x = hpnn.tensor([3.0], requires_grad=True)
    (x + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0])
    y = hpnn.tensor([1.0, 2.0], requires_grad=True)
    z = hpnn.tensor([5.0, 6.0], requires_grad=True)
    (y + z).sum().backward()
    y.grad.numpy()[...] += 1  # leaves must not share gradient memory
    np.testing.assert_allclose(z.grad.numpy(), [1.0, 1.0])


def test_second_backward_through_freed_graph_raises():
    x = hpnn.tensor([1.0, 2.0], requires_grad=True)
    loss = (x.exp() * 2).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_retain_graph_allows_second_backward():
    x = hpnn.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_no_grad_records_nothing():
    x = hpnn.tensor([1.0], requires_grad=True)
    with hpnn.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert (x * 2).requires_grad

    @hpnn.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert hpnn.is_grad_enabled()


def test_detach_shares_data_and_cuts_graph():
    x = hpnn.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad
    y = (x * d).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_backward_needs_scalar_or_grad():
    x = hpnn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        hpnn.tensor([1.0]).backward()


def test_intermediate_grads_not_kept_and_only_leaves_get_grad():
    x = hpnn.tensor([1.0], requires_grad=True)
    c = hpnn.tensor([2.0])
    y = x * c
    y.sum().backward()
    assert y.grad is None and c.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [2.0])


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="floating"):
        hpnn.tensor([1, 2], requires_grad=True)


def test_inplace_on_leaf_requires_no_grad():
    w = hpnn.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.fill_(1.0)
    with hpnn.no_grad():
        w.fill_(1.0)
    np.testing.assert_allclose(w.numpy(), 1.0)


def test_creation_helpers_and_dtypes():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = hpnn.from_numpy(a)
    a[0, 0] = 7
    assert t.numpy()[0, 0] == 7  # zero-copy
    assert hpnn.tensor(np.ones(2)).dtype == np.float64  # a numpy float keeps its dtype
    assert hpnn.tensor([1.5, 2.0]).dtype == np.float32  # Python floats: the default dtype
    assert hpnn.tensor([1, 2]).dtype == np.int64
    assert hpnn.zeros(2, 3).shape == (2, 3) and hpnn.ones((4,)).numpy().sum() == 4
    assert hpnn.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert hpnn.tensor([[2.5]]).item() == 2.5
    with pytest.raises(ValueError, match="exactly 1"):
        hpnn.ones(2).item()
    with pytest.raises(TypeError):
        hpnn.tensor(["a"])


def test_manual_seed_repeats_randn():
    hpnn.manual_seed(3)
    first = hpnn.randn(4).numpy().copy()
    hpnn.manual_seed(3)
    np.testing.assert_array_equal(hpnn.randn(4).numpy(), first)
    assert not np.array_equal(hpnn.randn(4).numpy(), first)


def test_comparisons_and_argmax():
    x = hpnn.tensor([[1.0, 5.0], [7.0, 2.0]])
    assert (x > 2).tolist() == [[False, True], [True, False]]
    assert x.argmax(1).tolist() == [1, 0]


def test_backend_switching():
    assert hpnn.get_backend() == "native"
    with hpnn.use_backend("numpy"):
        assert hpnn.get_backend() == "numpy"
        from hpnn.backend import kernel
        assert kernel("gemm") is hpnn.reference.gemm
    from hpnn.backend import kernel
    assert kernel("gemm") is hpnn.kernels.gemm
    with pytest.raises(ValueError, match="native"):
        hpnn.set_backend("cuda")


def test_backend_is_the_module():
    assert hpnn.backend.kernel("gemm") is hpnn.kernels.gemm
    hpnn.backend.clear_cache()
    assert hpnn.backend.kernel("gemm") is hpnn.kernels.gemm
    from hpnn.backend import backend  # the context manager's former name still imports
    assert backend is hpnn.use_backend
    hpnn.set_backend("numpy")
    try:
        assert hpnn.get_backend() == "numpy"
        with hpnn.use_backend("native"):
            assert hpnn.backend.kernel("gemm") is hpnn.kernels.gemm
        assert hpnn.backend.kernel("gemm") is hpnn.reference.gemm
    finally:
        hpnn.set_backend("native")

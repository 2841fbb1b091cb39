"""Central finite differences, shared by every backward test."""
import numpy as np


def numeric_grad(f, x, eps=1e-6):
    """Central-difference gradient of the scalar ``f()`` with respect to the array ``x``.

    ``x`` is perturbed in place (and restored), so ``f`` must read it through a closure.
    """
    flat_x = x.reshape(-1)
    assert np.shares_memory(flat_x, x), "x must be contiguous to be perturbed in place"
    grad = np.zeros(x.size)
    for i in range(x.size):
        original = flat_x[i]
        flat_x[i] = original + eps
        plus = float(f())
        flat_x[i] = original - eps
        minus = float(f())
        flat_x[i] = original
        grad[i] = (plus - minus) / (2 * eps)
    return grad.reshape(x.shape)


def check_vjp(forward, backward, x, rng, eps=1e-6, rtol=1e-5, atol=1e-7):
    """Check ``backward(grad_y)`` against finite differences of sum(forward() * grad_y).

    forward: callable() -> array, reading the float64 array ``x`` through a closure.
    backward: callable(grad_y) -> gradient with respect to ``x``.
    A random upstream gradient makes every output element count.
    """
    grad_y = rng.standard_normal(np.shape(forward()))
    expected = numeric_grad(lambda: np.sum(forward() * grad_y), x, eps)
    actual = backward(grad_y)
    assert actual.shape == x.shape
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)

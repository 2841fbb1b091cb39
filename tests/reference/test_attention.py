"""hpnn.reference.masked_softmax_backward against finite differences of the forward, in
float64: the gradient with respect to the scores (and, divided by scale, the mask)."""
import numpy as np
import pytest

from hpnn import reference

from .gradcheck import check_vjp


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", [(1, 1), (3, 4), (2, 3, 5), (2, 2, 4, 3)], ids=str)
def test_backward_is_the_forwards_gradient(rng, shape, causal):
    x = rng.standard_normal(shape)
    mask = rng.standard_normal(shape[-2:])
    mask[0, -1] = -np.inf
    scale = 0.8
    forward = lambda: reference.masked_softmax_forward(x, mask, scale, causal)  # noqa: E731
    y = forward()
    check_vjp(forward, lambda g: reference.masked_softmax_backward(g, y, scale), x, rng)


def test_mask_gradient_is_the_scores_gradient_over_scale(rng):
    x, mask = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4))
    forward = lambda: reference.masked_softmax_forward(x, mask, 2.0)  # noqa: E731
    y = forward()
    check_vjp(forward, lambda g: (reference.masked_softmax_backward(g, y, 2.0) / 2.0).sum(0),
              mask, rng)

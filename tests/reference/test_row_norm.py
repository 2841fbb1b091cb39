"""hpnn.reference layer and group norm: gradients against finite differences in float64, and
the forward against its definition written out per row."""
import numpy as np
import pytest

from hpnn import reference as ref

from .gradcheck import check_vjp

LAYER_CASES = [((5, 3), (3,)), ((2, 3, 4), (3, 4)), ((1, 7), (7,)), ((4, 1), (1,)),
               ((2, 2, 5), (5,))]
GROUP_CASES = [((2, 6, 3), 3), ((3, 4, 2, 2), 2), ((1, 4), 4), ((2, 3, 5), 1), ((2, 4, 1, 3), 4)]


def _affine(rng, shape, affine):
    if not affine:
        return None, None
    return rng.standard_normal(shape), rng.standard_normal(shape)


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("shape,normalized", LAYER_CASES, ids=str)
def test_layer_norm_backward_matches_finite_differences(shape, normalized, affine):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 2 + 1
    weight, bias = _affine(rng, normalized, affine)

    def forward():
        return ref.layer_norm_forward(x, normalized, weight, bias)[0]

    def gradients(grad_y):
        _, mean, rstd = ref.layer_norm_forward(x, normalized, weight, bias)
        return ref.layer_norm_backward(grad_y, x, normalized, weight, mean, rstd)

    if shape[-1] > 1:  # one value per row: y == bias whatever x, the gradient is zero
        check_vjp(forward, lambda g: gradients(g)[0], x, rng)
    if affine:
        check_vjp(forward, lambda g: gradients(g)[1], weight, rng)
        check_vjp(forward, lambda g: gradients(g)[2], bias, rng)


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("shape,groups", GROUP_CASES, ids=str)
def test_group_norm_backward_matches_finite_differences(shape, groups, affine):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape) * 2 + 1
    weight, bias = _affine(rng, (shape[1],), affine)

    def forward():
        return ref.group_norm_forward(x, groups, weight, bias)[0]

    def gradients(grad_y):
        _, mean, rstd = ref.group_norm_forward(x, groups, weight, bias)
        return ref.group_norm_backward(grad_y, x, groups, weight, mean, rstd)

    check_vjp(forward, lambda g: gradients(g)[0], x, rng)
    if affine:
        check_vjp(forward, lambda g: gradients(g)[1], weight, rng)
        check_vjp(forward, lambda g: gradients(g)[2], bias, rng)


def test_layer_norm_forward_matches_its_definition_per_row():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 5))
    weight, bias = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    y, mean, rstd = ref.layer_norm_forward(x, (4, 5), weight, bias, eps=1e-3)
    assert mean.shape == rstd.shape == (3,)
    for i in range(3):
        row = x[i]
        expected = (row - row.mean()) / np.sqrt(row.var() + 1e-3) * weight + bias
        np.testing.assert_allclose(y[i], expected, rtol=1e-12)


def test_group_norm_forward_matches_its_definition_per_group():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 3, 2))
    weight, bias = rng.standard_normal(6), rng.standard_normal(6)
    y, mean, rstd = ref.group_norm_forward(x, 3, weight, bias)
    assert mean.shape == rstd.shape == (2, 3)
    for n in range(2):
        for g in range(3):
            block = x[n, 2 * g:2 * g + 2]
            x_hat = (block - block.mean()) / np.sqrt(block.var() + 1e-5)
            expected = x_hat * weight[2 * g:2 * g + 2, None, None] + bias[2 * g:2 * g + 2, None,
                                                                           None]
            np.testing.assert_allclose(y[n, 2 * g:2 * g + 2], expected, rtol=1e-12)


def test_bad_arguments_raise():
    x = np.zeros((2, 6, 3))
    with pytest.raises(ValueError, match="normalized_shape"):
        ref.layer_norm_forward(x, (4,))
    with pytest.raises(ValueError, match="weight"):
        ref.layer_norm_forward(x, (3,), np.ones(4))
    with pytest.raises(ValueError, match="num_groups"):
        ref.group_norm_forward(x, 4)
    with pytest.raises(ValueError, match="eps"):
        ref.group_norm_forward(x, 3, eps=0.0)
    with pytest.raises(TypeError, match="x"):
        ref.layer_norm_forward(np.zeros((2, 3), np.int64), (3,))

"""hpnn.reference embedding: the gradient against finite differences in float64, padding,
scale_grad_by_freq and index validation."""
import numpy as np
import pytest

from hpnn import reference as ref

from .gradcheck import check_vjp


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("scale", [False, True], ids=["plain", "freq"])
def test_backward_matches_finite_differences(padding_idx, scale):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((6, 3))
    indices = np.array([[0, 2, 2], [5, 1, 2]])

    def forward():
        y = ref.embedding_forward(weight, indices)
        if padding_idx is None:
            return y
        # padding rows get no gradient: their lookups act as constants
        mask = (indices != padding_idx % 6)[..., None]
        return np.where(mask, y, 0.0)

    def backward(grad_y):
        grad = ref.embedding_backward(grad_y, indices, 6, padding_idx, scale)
        if scale:  # undo the frequency scaling to compare with the plain derivative
            grad = grad * np.bincount(indices.reshape(-1), minlength=6)[:, None]
        return grad

    check_vjp(forward, backward, weight, rng)


def test_forward_gathers_rows():
    weight = np.arange(12.0).reshape(4, 3)
    y = ref.embedding_forward(weight, np.array([[3], [0]], np.int32))
    np.testing.assert_array_equal(y, [[[9, 10, 11]], [[0, 1, 2]]])


@pytest.mark.parametrize("bad", [-1, 4, 100])
def test_out_of_range_indices_raise_index_error(bad):
    with pytest.raises(IndexError, match="indices"):
        ref.embedding_forward(np.zeros((4, 2)), np.array([0, bad]))
    with pytest.raises(IndexError, match="indices"):
        ref.embedding_backward(np.zeros((2, 2)), np.array([0, bad]), 4)


def test_float_indices_raise_type_error():
    with pytest.raises(TypeError, match="indices"):
        ref.embedding_forward(np.zeros((4, 2)), np.array([0.0, 1.0]))

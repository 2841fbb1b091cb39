"""hpnn.nn.functional ops against finite differences (and a few forward values)."""
import numpy as np
import pytest

import hpnn
import hpnn.nn.functional as F

rng = np.random.default_rng(7)


def randn(*shape):
    return rng.standard_normal(shape)


def away_from_zero(*shape):
    return rng.choice([-1, 1], shape) * rng.uniform(0.2, 2.0, shape)


def test_linear(gradcheck):
    gradcheck(F.linear, randn(4, 3), randn(5, 3), randn(5))
    gradcheck(lambda x, w: F.linear(x, w), randn(2, 4, 3), randn(5, 3))


def test_linear_rejects_wrong_input_width():
    with pytest.raises(ValueError, match="in_features=3"):
        F.linear(hpnn.randn(4, 2), hpnn.randn(5, 3))


@pytest.mark.parametrize("name,op", [
    ("relu", F.relu),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.1)),
    ("sigmoid", F.sigmoid),
    ("tanh", F.tanh),
    ("gelu", F.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh")),
    ("softmax", lambda x: F.softmax(x, dim=1)),
    ("log_softmax", lambda x: F.log_softmax(x, dim=-1)),
    ("softmax0", lambda x: F.softmax(x, dim=0)),
])
def test_activations(gradcheck, name, op):
    gradcheck(op, away_from_zero(3, 4))


def test_activation_values():
    x = hpnn.tensor([-1.0, 0.5])
    np.testing.assert_allclose(F.relu(x).numpy(), [0, 0.5])
    np.testing.assert_allclose(F.sigmoid(x).numpy(), 1 / (1 + np.exp([1.0, -0.5])), rtol=1e-6)
    np.testing.assert_allclose(F.softmax(hpnn.tensor([[1.0, 1.0]])).numpy(), [[0.5, 0.5]])


LABELS = np.array([2, 0, 1, 2])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy(gradcheck, reduction):
    gradcheck(lambda x: F.cross_entropy(x, LABELS, reduction=reduction), randn(4, 3))


def test_cross_entropy_with_smoothing_and_ignore_index(gradcheck):
    labels = np.array([2, -100, 1, 0])
    gradcheck(lambda x: F.cross_entropy(x, labels, label_smoothing=0.1), randn(4, 3))


def test_cross_entropy_spatial_targets(gradcheck):
    labels = rng.integers(0, 3, (2, 4, 5))
    gradcheck(lambda x: F.cross_entropy(x, labels), randn(2, 3, 4, 5), atol=3e-3)


def test_cross_entropy_value():
    logits = np.array([[2.0, 0.5, -1.0]], np.float32)
    expected = -np.log(np.exp(2.0) / np.exp(logits).sum())
    assert F.cross_entropy(hpnn.tensor(logits), [0]).item() == pytest.approx(expected, rel=1e-6)


def test_nll_loss(gradcheck):
    gradcheck(lambda x: F.nll_loss(F.log_softmax(x, 1), LABELS), randn(4, 3))


def test_class_losses_reject_bad_labels():
    logits = hpnn.randn(4, 3)
    with pytest.raises(ValueError, match="0..2"):
        F.cross_entropy(logits, [0, 1, 3, 0])
    with pytest.raises(ValueError, match="target"):
        F.cross_entropy(logits, [0, 1])
    with pytest.raises(TypeError, match="integer"):
        F.nll_loss(logits, np.zeros(4))


def test_binary_losses(gradcheck):
    target = rng.integers(0, 2, (5, 1)).astype(np.float64)
    gradcheck(lambda x: F.binary_cross_entropy(F.sigmoid(x), target), randn(5, 1))
    gradcheck(lambda x: F.binary_cross_entropy_with_logits(x, target), randn(5, 1))
    gradcheck(lambda x: F.binary_cross_entropy_with_logits(x, target, pos_weight=[2.0]),
              randn(5, 1))
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(hpnn.tensor([[1.5]]), [[1.0]])


def test_mse_loss(gradcheck):
    gradcheck(F.mse_loss, randn(3, 2), randn(3, 2))
    gradcheck(lambda x, t: F.mse_loss(x, t, reduction="sum"), randn(4), randn(4), constant=(1,))
    with pytest.raises(ValueError, match="shape"):
        F.mse_loss(hpnn.randn(3, 2), hpnn.randn(3))

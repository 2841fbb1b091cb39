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
    np.testing.assert_allclose(F.softmax(hpnn.tensor([[1.0, 1.0]]), dim=-1).numpy(), [[0.5, 0.5]])


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


def test_weighted_class_losses(gradcheck):
    weight = np.array([0.5, 2.0, 3.0], np.float32)
    labels = np.array([2, -100, 1, 0])
    gradcheck(lambda x: F.cross_entropy(x, labels, weight, label_smoothing=0.1), randn(4, 3))
    gradcheck(lambda x: F.nll_loss(x, labels, weight=weight, reduction="sum"), randn(4, 3))
    with pytest.raises(ValueError, match="'weight'"):
        F.cross_entropy(hpnn.randn(4, 3), labels, weight[:2])


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
    weight = np.array([[0.5], [2.0], [1.0], [3.0], [1.5]], np.float32)
    gradcheck(lambda x: F.binary_cross_entropy(F.sigmoid(x), target, weight), randn(5, 1))
    gradcheck(lambda x: F.binary_cross_entropy_with_logits(x, target, weight, pos_weight=[2.0]),
              randn(5, 1))
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(hpnn.tensor([[1.5]]), [[1.0]])
    with pytest.raises(ValueError, match="'pos_weight'"):
        F.binary_cross_entropy_with_logits(hpnn.randn(5, 1), target, pos_weight=[1.0, 2.0])


def test_mse_loss(gradcheck):
    gradcheck(F.mse_loss, randn(3, 2), randn(3, 2))
    gradcheck(lambda x, t: F.mse_loss(x, t, reduction="sum"), randn(4), randn(4), constant=(1,))
    with pytest.raises(ValueError, match="target"):
        F.mse_loss(hpnn.randn(3, 2), hpnn.randn(3))


@pytest.mark.parametrize("options", [{}, {"stride": 2, "padding": 1}, {"dilation": 2},
                                     {"groups": 2, "padding": 1}])
def test_conv2d(gradcheck, options):
    groups = options.get("groups", 1)
    gradcheck(lambda x, w, b: F.conv2d(x, w, b, **options),
              randn(2, 4, 6, 5), randn(3 * groups, 4 // groups, 3, 3), randn(3 * groups))


def test_conv2d_without_bias_and_bad_channels(gradcheck):
    gradcheck(lambda x, w: F.conv2d(x, w), randn(1, 2, 4, 4), randn(2, 2, 2, 2))
    with pytest.raises(ValueError, match="channels"):
        F.conv2d(hpnn.randn(1, 3, 4, 4), hpnn.randn(2, 2, 2, 2))


@pytest.mark.parametrize("pool", [
    lambda x: F.max_pool2d(x, 2),
    lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
    lambda x: F.avg_pool2d(x, 2),
    lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
    lambda x: F.adaptive_avg_pool2d(x, 1),
    lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
    lambda x: F.adaptive_avg_pool2d(x, (3, 4)),
    lambda x: F.adaptive_avg_pool2d(x[0], (3, None)),
    lambda x: F.adaptive_max_pool2d(x, (3, 4)),
    lambda x: F.adaptive_max_pool2d(x, (2, 3)),
    lambda x: F.adaptive_max_pool2d(x[1], 5, return_indices=True)[0],
])
def test_pooling(gradcheck, pool):
    x = rng.permutation(2 * 3 * 4 * 6).reshape(2, 3, 4, 6) / 10.0  # distinct: no max ties
    gradcheck(pool, x)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batch_norm_training(gradcheck, shape):
    running = [hpnn.zeros(3), hpnn.ones(3)]
    gradcheck(lambda x, w, b: F.batch_norm(x, *running, w, b, training=True),
              randn(*shape), randn(3), randn(3))
    assert np.all(running[0].numpy() != 0)


def test_batch_norm_eval(gradcheck):
    mean, var = hpnn.tensor(randn(3)), hpnn.tensor(np.abs(randn(3)) + 0.5)
    out = gradcheck(lambda x, w, b: F.batch_norm(x, mean, var, w, b, training=False),
                    randn(4, 3, 2, 2), randn(3), randn(3))
    assert out.shape == (4, 3, 2, 2)


def test_batch_norm_eval_skips_gradients_nobody_needs(gradcheck):
    mean, var = hpnn.tensor(randn(3)), hpnn.tensor(np.abs(randn(3)) + 0.5)
    gradcheck(lambda x, w, b: F.batch_norm(x, mean, var, w, b, training=False),
              randn(4, 3, 2, 2), randn(3), randn(3), constant=(1, 2))
    gradcheck(lambda x, w, b: F.batch_norm(x, mean, var, w, b, training=False),
              randn(4, 3), randn(3), randn(3), constant=(0,))


def test_dropout(gradcheck):
    def seeded_dropout(x):  # the same mask on every call
        hpnn.manual_seed(0)
        return F.dropout(x, 0.3, training=True)

    out = gradcheck(seeded_dropout, randn(10, 10))
    zeros = np.mean(out.numpy() == 0)
    assert 0.1 < zeros < 0.5
    x = hpnn.randn(4, 4)
    assert F.dropout(x, 0.5, training=False) is x


@pytest.mark.parametrize("kind,gates", [("rnn", 1), ("gru", 3), ("lstm", 4)])
@pytest.mark.parametrize("reverse", [False, True])
def test_recurrence(gradcheck, kind, gates, reverse):
    from hpnn.nn.rnn import FinalCell, Recurrence

    hidden, states = 3, 2 if kind == "lstm" else 1

    def run(x, *rest):
        handle = []
        y = Recurrence.apply(x, *rest, kind=kind, reverse=reverse, handle=handle)
        if kind != "lstm":
            return y
        cell_n = FinalCell.apply(y, recurrence=handle[0])  # the only cell value a caller sees
        return hpnn.cat([y.flatten(), cell_n.flatten()])

    weights = [randn(gates * hidden, 2) * 0.5, randn(gates * hidden, hidden) * 0.5,
               randn(gates * hidden) * 0.5, randn(gates * hidden) * 0.5]
    gradcheck(run, randn(4, 2, 2), *[randn(2, hidden) for _ in range(states)], *weights)

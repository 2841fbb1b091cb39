"""hpnn.keras.losses against Keras' documented values and hand-computed Keras formulas.
(TensorFlow is not a test dependency: the expected numbers are the ones Keras' docs print.)"""
import numpy as np
import pytest

import hpnn
from hpnn.keras import losses

PRED_3 = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]


@pytest.mark.parametrize("loss, y_true, y_pred, expected", [
    # the examples of Keras' API reference for each class, with their printed results
    (losses.MeanSquaredError(), [[0., 1.], [0., 0.]], [[1., 1.], [1., 0.]], 0.5),
    (losses.MeanAbsoluteError(), [[0., 1.], [0., 0.]], [[1., 1.], [1., 0.]], 0.5),
    (losses.BinaryCrossentropy(), [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], 0.815),
    (losses.BinaryCrossentropy(from_logits=True), [0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8],
     0.865),
    (losses.CategoricalCrossentropy(), [[0, 1, 0], [0, 0, 1]], PRED_3, 1.177),
    (losses.SparseCategoricalCrossentropy(), [1, 2], PRED_3, 1.177),
])
def test_keras_documented_values(loss, y_true, y_pred, expected):
    assert loss(y_true, y_pred).item() == pytest.approx(expected, abs=1e-3)


def test_rank_one_target_against_column_prediction():
    """Keras expands y (N,) to (N, 1) against predictions (N, 1): no (N, N) broadcast."""
    y = np.array([0, 1, 1, 0])
    p = np.array([[0.2], [0.7], [0.9], [0.4]], np.float32)
    assert losses.MeanSquaredError()(y, p).item() == pytest.approx(np.mean((y - p[:, 0]) ** 2))
    assert losses.MeanAbsoluteError()(y, p).item() == pytest.approx(np.mean(np.abs(y - p[:, 0])))
    eps = 1e-7
    q = np.clip(p[:, 0].astype(np.float64), eps, 1 - eps)
    bce = -(y * np.log(q + eps) + (1 - y) * np.log(1 - q + eps))
    assert losses.BinaryCrossentropy()(y, p).item() == pytest.approx(bce.mean(), rel=1e-5)
    per_sample = losses.BinaryCrossentropy(reduction="none")(y, p)
    assert per_sample.shape == (4,)
    np.testing.assert_allclose(per_sample.numpy(), bce, rtol=1e-5)


def test_bce_clips_probabilities_of_zero_and_one():
    value = losses.BinaryCrossentropy()([1.0, 0.0], [0.0, 1.0]).item()
    assert np.isfinite(value)
    # in float32, as Keras computes it: 1 - (1 - 1e-7) rounds to 1.19e-7
    clipped_far_side = np.float32(1) - np.float32(1 - 1e-7)
    expected = (-np.log(1e-7 + 1e-7) - np.log(clipped_far_side + 1e-7)) / 2
    assert value == pytest.approx(expected, rel=1e-4)


def test_reductions_and_sample_weight():
    y, p = [[0., 1.], [0., 0.]], [[1., 1.], [1., 0.]]  # per-sample MSE: 0.5, 0.5
    assert losses.MeanSquaredError(reduction="sum")(y, p).item() == pytest.approx(1.0)
    np.testing.assert_allclose(losses.MeanSquaredError(reduction="none")(y, p).numpy(),
                               [0.5, 0.5])
    weighted = losses.MeanSquaredError()(y, p, sample_weight=[0.8, 0.2])
    assert weighted.item() == pytest.approx((0.5 * 0.8 + 0.5 * 0.2) / 2)


def test_categorical_renormalises_probabilities_and_smooths_labels():
    y, p = np.array([[0., 1.]]), np.array([[0.2, 0.6]], np.float32)  # sums to 0.8
    assert losses.CategoricalCrossentropy()(y, p).item() == pytest.approx(-np.log(0.75), rel=1e-5)
    smoothed = losses.CategoricalCrossentropy(label_smoothing=0.2)(y, p).item()
    expected = -(0.1 * np.log(0.25) + 0.9 * np.log(0.75))
    assert smoothed == pytest.approx(expected, rel=1e-5)


def test_sparse_from_logits_and_column_labels():
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]], np.float32)
    labels = np.array([[0], [2]])  # (N, 1) labels are squeezed, as Keras does
    shifted = logits - logits.max(1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    expected = -(log_probs[0, 0] + log_probs[1, 2]) / 2
    value = losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits).item()
    assert value == pytest.approx(expected, rel=1e-5)


def test_gradient_flows_to_the_prediction():
    pred = hpnn.tensor(np.array([[0.3], [0.8]], np.float32), requires_grad=True)
    losses.MeanSquaredError()(np.array([0.0, 1.0]), pred).backward()
    np.testing.assert_allclose(pred.grad.numpy(), [[0.3], [-0.2]], rtol=1e-5)  # 2 (p - y) / N


@pytest.mark.parametrize("call, message", [
    (lambda: losses.MeanSquaredError()([[1., 2., 3.]], [[1., 2.]]), "does not match"),
    (lambda: losses.CategoricalCrossentropy()([1, 2], PRED_3), "SparseCategorical"),
    (lambda: losses.SparseCategoricalCrossentropy()([1, 3], PRED_3), r"\[0, 3\)"),
    (lambda: losses.MeanSquaredError(reduction="mean"), "reduction"),
    (lambda: losses.get("hinge_loss"), "unknown loss"),
    (lambda: losses.BinaryCrossentropy(from_logit=True), "unexpected"),
])
def test_bad_arguments_raise_clearly(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_get_names_and_functions():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("sparse_categorical_crossentropy"),
                      losses.SparseCategoricalCrossentropy)
    wrapped = losses.get(losses.mean_absolute_error)
    assert wrapped([[0., 1.]], [[1., 1.]]).item() == pytest.approx(0.5)


def test_module_compile_swaps_keras_loss_arguments():
    """hpnn.nn.Module.compile calls losses as loss(output, target); a Keras loss must get
    (target, output). With the order wrong, BCE on the 0/1 labels would be clipped garbage."""
    hpnn.manual_seed(0)
    model = hpnn.nn.Sequential(hpnn.nn.Linear(2, 1), hpnn.nn.Sigmoid())
    model.compile(optimizer=hpnn.optim.SGD(lr=0.5), loss=losses.BinaryCrossentropy(),
                  metrics=["accuracy"])
    x = np.array([[0., 0.], [1., 1.], [0., 1.], [1., 0.]] * 8, np.float32)
    y = (x.sum(1) > 0.5).astype(np.float32)
    out = model(hpnn.tensor(x)).numpy()[:, 0]
    expected = -np.mean(y * np.log(out) + (1 - y) * np.log(1 - out))
    assert model.evaluate(x, y)[0] == pytest.approx(expected, rel=1e-4)

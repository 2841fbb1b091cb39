"""hpnn.keras.optimizers: Keras' argument names and defaults, Keras' update rules (written out
by hand from Keras' documentation), apply_gradients and binding at compile."""
import math

import numpy as np
import pytest

import hpnn
from hpnn.keras import optimizers

KERAS_DEFAULTS = [  # (class, {hpnn group option: Keras' default})
    (optimizers.SGD, {"lr": 0.01, "momentum": 0.0, "nesterov": False}),
    (optimizers.Adam, {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7, "amsgrad": False}),
    (optimizers.AdamW, {"lr": 0.001, "weight_decay": 0.004, "eps": 1e-7}),
    (optimizers.RMSprop, {"lr": 0.001, "alpha": 0.9, "eps": 1e-7, "momentum": 0.0}),
    (optimizers.Adagrad, {"lr": 0.001, "initial_accumulator_value": 0.1, "eps": 1e-7}),
    (optimizers.Adadelta, {"lr": 0.001, "rho": 0.95, "eps": 1e-7}),
    (optimizers.Adamax, {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7}),
    (optimizers.Nadam, {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7,
                        "momentum_decay": 0.004}),
]


@pytest.mark.parametrize("cls, expected", KERAS_DEFAULTS, ids=lambda v: getattr(v, "__name__", ""))
def test_keras_defaults(cls, expected):
    opt = cls()
    for name, value in expected.items():
        assert opt.defaults[name] == pytest.approx(value), name
    assert opt.learning_rate == pytest.approx(expected["lr"])


def test_keras_argument_names():
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    assert (opt.defaults["lr"], opt.defaults["momentum"], opt.defaults["nesterov"]) == (0.1, 0.9,
                                                                                        True)
    opt = optimizers.Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6)
    assert opt.defaults["betas"] == (0.8, 0.99) and opt.epsilon == 1e-6
    assert optimizers.RMSprop(rho=0.5).defaults["alpha"] == 0.5
    with pytest.raises(TypeError, match="unexpected"):
        optimizers.Adam(lr_decay=0.1)


def _run(opt, grads, start):
    var = hpnn.keras.Variable(np.array(start, np.float32))
    for g in grads:
        opt.apply_gradients([(hpnn.tensor(np.array(g, np.float32)), var)])
    return var.numpy()


GRADS = [[0.5, -1.0], [0.2, 0.3], [-0.4, 0.1]]


def test_adam_matches_keras_epsilon_hat():
    """Keras: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); w -= lr_t m / (sqrt(v) + eps). With a
    large epsilon the placement matters, so this fails for PyTorch's rule."""
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 0.1
    w, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
    for t, g in enumerate(np.array(GRADS), start=1):
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        w = w - lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    got = _run(optimizers.Adam(learning_rate=lr, epsilon=eps), GRADS, [1.0, -2.0])
    np.testing.assert_allclose(got, w, rtol=1e-5)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_matches_keras(nesterov):
    """Keras: v = momentum v - lr g; w += v (nesterov: w += momentum v - lr g)."""
    lr, mom = 0.1, 0.9
    w, velocity = np.array([1.0, -2.0]), np.zeros(2)
    for g in np.array(GRADS):
        velocity = mom * velocity - lr * g
        w = w + (mom * velocity - lr * g if nesterov else velocity)
    opt = optimizers.SGD(learning_rate=lr, momentum=mom, nesterov=nesterov)
    np.testing.assert_allclose(_run(opt, GRADS, [1.0, -2.0]), w, rtol=1e-5)


def test_adagrad_starts_from_keras_accumulator():
    """Keras' accumulator starts at 0.1: the first step is lr g / sqrt(0.1 + g^2)."""
    got = _run(optimizers.Adagrad(learning_rate=0.1), GRADS[:1], [1.0, -2.0])
    g = np.array(GRADS[0])
    np.testing.assert_allclose(got, np.array([1.0, -2.0]) - 0.1 * g / np.sqrt(0.1 + g * g),
                               rtol=1e-5)


def test_apply_gradients_binds_then_rejects_strangers():
    a, b = hpnn.keras.Variable([1.0]), hpnn.keras.Variable([2.0])
    opt = optimizers.SGD(learning_rate=1.0)
    opt.apply_gradients(zip([hpnn.tensor([0.5]), None], [a, b]))  # None: b left as it is
    assert a.numpy()[0] == pytest.approx(0.5) and b.numpy()[0] == pytest.approx(2.0)
    assert opt.iterations == 1 and a.grad is None
    with pytest.raises(ValueError, match="not built with"):
        opt.apply_gradients([(hpnn.tensor([1.0]), hpnn.keras.Variable([0.0]))])


def test_clipnorm_and_clipvalue():
    got = _run(optimizers.SGD(learning_rate=1.0, clipnorm=1.0), [[3.0, 4.0]], [0.0, 0.0])
    np.testing.assert_allclose(got, [-0.6, -0.8], rtol=1e-6)
    got = _run(optimizers.SGD(learning_rate=1.0, clipvalue=0.5), [[3.0, -0.2]], [0.0, 0.0])
    np.testing.assert_allclose(got, [-0.5, 0.2], rtol=1e-6)


def test_learning_rate_is_settable():
    opt = optimizers.Adam()
    opt.build([hpnn.keras.Variable([1.0])])
    opt.learning_rate = 0.5
    assert opt.param_groups[0]["lr"] == 0.5 and opt.learning_rate == 0.5


def test_compile_by_name_uses_keras_defaults():
    model = hpnn.keras.Sequential([hpnn.keras.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="adam", loss="mse")
    assert isinstance(model.optimizer, optimizers.Adam)
    assert model.optimizer.defaults["eps"] == 1e-7
    model.compile(optimizer="sgd", loss="mse")
    assert model.optimizer.learning_rate == 0.01
    assert model.optimizer.param_groups  # bound at once: the weights exist
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile(optimizer="adamz", loss="mse")

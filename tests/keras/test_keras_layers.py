"""hpnn.keras.layers against numpy references written from Keras' definitions (Keras'
kernel layouts: Dense (in, units), Conv2D (kh, kw, in, filters); channels_last images)."""
import numpy as np
import pytest

import hpnn
from hpnn.keras import layers

RNG = np.random.default_rng(0)


def _conv_nhwc(x, kernel, bias, stride, pads):
    """Direct convolution (cross-correlation, as Keras) on (N, H, W, C) with explicit pads
    ((top, bottom), (left, right))."""
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw, _, out = kernel.shape
    rows = (x.shape[1] - kh) // stride[0] + 1
    cols = (x.shape[2] - kw) // stride[1] + 1
    y = np.zeros((x.shape[0], rows, cols, out))
    for i in range(rows):
        for j in range(cols):
            patch = x[:, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw, :]
            y[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return y + bias


def test_dense_is_x_times_kernel_plus_bias():
    layer = layers.Dense(4, activation="relu")
    x = RNG.normal(size=(5, 3))  # float64, cast to float32 as Keras does
    y = layer(x)
    assert layer.kernel.shape == (3, 4) and layer.bias.shape == (4,)
    np.testing.assert_array_equal(layer.bias.numpy(), 0)  # Keras' zero bias
    limit = np.sqrt(6 / (3 + 4))  # glorot_uniform
    assert np.abs(layer.kernel.numpy()).max() <= limit
    layer.bias.numpy()[...] = [0.1, -0.2, 0.3, 0.0]
    expected = np.maximum(x @ layer.kernel.numpy() + layer.bias.numpy(), 0)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert y.shape == (5, 4)


def test_dense_on_the_last_axis_of_3d_input():
    layer = layers.Dense(2, use_bias=False)
    x = RNG.normal(size=(2, 3, 5)).astype(np.float32)
    np.testing.assert_allclose(layer(x).numpy(), x @ layer.kernel.numpy(), rtol=1e-5, atol=1e-6)
    assert layer.bias is None


@pytest.mark.parametrize("padding, strides, size", [
    ("valid", (1, 1), 6), ("same", (1, 1), 6), ("same", (2, 2), 7), ("valid", (2, 1), 7),
    ("same", (2, 2), 6),  # TensorFlow pads the extra row/column at the end
])
def test_conv2d_channels_last_against_numpy(padding, strides, size):
    layer = layers.Conv2D(4, (3, 2) if padding == "valid" else 3, strides=strides,
                          padding=padding)
    x = RNG.normal(size=(2, size, size, 3)).astype(np.float32)
    y = layer(x).numpy()
    kernel = layer.kernel.numpy()
    assert kernel.shape[2:] == (3, 4)
    bias = RNG.normal(size=4).astype(np.float32)
    layer.bias.numpy()[...] = bias
    pads = ((0, 0), (0, 0))
    if padding == "same":
        pads = tuple(layers.same_padding(size, kernel.shape[i], strides[i]) for i in (0, 1))
    expected = _conv_nhwc(x, kernel, bias, strides, pads)
    assert y.shape == expected.shape
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-4, atol=1e-5)
    if padding == "same":
        assert y.shape[1] == -(-size // strides[0])


def test_same_padding_is_tensorflows():
    assert layers.same_padding(6, 3, 2) == (0, 1)  # out 3: total pad 1, at the end
    assert layers.same_padding(7, 3, 2) == (1, 1)
    assert layers.same_padding(5, 4, 1) == (1, 2)


def test_conv2d_channels_first_and_bad_input():
    layer = layers.Conv2D(2, 3, data_format="channels_first")
    assert layer(np.zeros((1, 3, 5, 5), np.float32)).shape == (1, 2, 3, 3)
    with pytest.raises(ValueError, match="4-d input"):
        layer(np.zeros((3, 5, 5), np.float32))
    with pytest.raises(ValueError, match="data_format"):
        layers.Conv2D(2, 3, data_format="NHWC")


def test_pooling_channels_last():
    x = RNG.normal(size=(2, 4, 6, 3)).astype(np.float32)
    windows = x.reshape(2, 2, 2, 3, 2, 3)
    np.testing.assert_allclose(layers.MaxPooling2D()(x).numpy(), windows.max(axis=(2, 4)))
    np.testing.assert_allclose(layers.AveragePooling2D()(x).numpy(), windows.mean(axis=(2, 4)),
                               rtol=1e-6)
    np.testing.assert_allclose(layers.GlobalAveragePooling2D()(x).numpy(), x.mean(axis=(1, 2)),
                               rtol=1e-5)
    np.testing.assert_allclose(layers.GlobalMaxPooling2D()(x).numpy(), x.max(axis=(1, 2)))


def test_same_pooling_ignores_padding():
    x = RNG.normal(size=(1, 3, 3, 1)).astype(np.float32) - 5  # all negative: pads must lose
    y = layers.MaxPooling2D(padding="same")(x).numpy()
    assert y.shape == (1, 2, 2, 1)
    assert y[0, 1, 1, 0] == x[0, 2, 2, 0]
    avg = layers.AveragePooling2D(padding="same")(x).numpy()
    assert avg[0, 1, 1, 0] == pytest.approx(x[0, 2, 2, 0])  # one real cell in that window
    assert avg[0, 0, 1, 0] == pytest.approx(x[0, 0:2, 2, 0].mean())


def test_batch_normalization_channels_last():
    layer = layers.BatchNormalization()
    x = RNG.normal(2.0, 3.0, size=(8, 2, 2, 3)).astype(np.float32)
    y = layer(x, training=True).numpy()
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-4)
    # moving = 0.99 moving + 0.01 batch (the variance unbiased, as hpnn's batch_norm)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.01 * mean, rtol=1e-4)
    n = 8 * 2 * 2
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.99 + 0.01 * var * n / (n - 1),
                               rtol=1e-4)
    layer.eval()
    expected = (x - layer.moving_mean.numpy()) / np.sqrt(layer.moving_variance.numpy() + 1e-3)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-4, atol=1e-4)


def test_dropout_follows_training_flag():
    layer = layers.Dropout(0.5)
    x = np.ones((100, 10), np.float32)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    dropped = layer(x, training=True).numpy()
    assert set(np.unique(dropped)) <= {0.0, 2.0} and (dropped == 0).any()


def test_embedding_rows_and_bad_ids():
    layer = layers.Embedding(10, 3)
    ids = np.array([[1, 4], [9, 0]])
    out = layer(ids)
    np.testing.assert_array_equal(out.numpy(), layer.embeddings.numpy()[ids])
    assert np.abs(layer.embeddings.numpy()).max() <= 0.05  # Keras' 'uniform' initializer
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        layer(np.array([10]))


def test_activations_by_name():
    x = np.array([[-1.0, 0.0, 2.0]], np.float32)
    sig = 1 / (1 + np.exp(-x))
    cases = {"relu": np.maximum(x, 0), "sigmoid": sig, "tanh": np.tanh(x), "linear": x,
             "softmax": np.exp(x) / np.exp(x).sum(), "swish": x * sig}
    for name, expected in cases.items():
        np.testing.assert_allclose(layers.Activation(name)(x).numpy(), expected, rtol=1e-5,
                                   atol=1e-7, err_msg=name)
    np.testing.assert_allclose(layers.ReLU(max_value=1.0)(x).numpy(), [[0, 0, 1]])
    with pytest.raises(ValueError, match="unknown activation"):
        layers.Dense(2, activation="relu7")


def _simple_rnn_numpy(x, w_ih, w_hh, b):
    h = np.zeros((x.shape[0], w_ih.shape[0]))
    outputs = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ w_ih.T + h @ w_hh.T + b)
        outputs.append(h)
    return np.stack(outputs, 1)


def test_simple_rnn_batch_major_against_numpy():
    layer = layers.SimpleRNN(4, return_sequences=True, return_state=True)
    x = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    seq, h = layer(x)
    cell = layer.cell
    expected = _simple_rnn_numpy(x, cell.weight_ih_l0.numpy(), cell.weight_hh_l0.numpy(),
                                 cell.bias_ih_l0.numpy())
    np.testing.assert_allclose(seq.numpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h.numpy(), expected[:, -1], rtol=1e-4, atol=1e-5)
    w_hh = cell.weight_hh_l0.numpy()
    np.testing.assert_allclose(w_hh @ w_hh.T, np.eye(4), atol=1e-5)  # orthogonal recurrent


def test_lstm_and_gru_shapes_and_keras_init():
    x = RNG.normal(size=(3, 6, 2)).astype(np.float32)
    lstm = layers.LSTM(5, return_state=True)
    out, h, c = lstm(x)
    assert out.shape == h.shape == c.shape == (3, 5)
    np.testing.assert_array_equal(out.numpy(), h.numpy())
    bias = lstm.cell.bias_ih_l0.numpy()
    np.testing.assert_array_equal(bias[5:10], 1.0)  # unit_forget_bias
    assert not lstm.cell.bias_hh_l0.requires_grad  # Keras' single bias
    assert all(w is not lstm.cell.bias_hh_l0 for w in lstm.trainable_weights)
    gru = layers.GRU(4, return_sequences=True)
    assert gru(x).shape == (3, 6, 4)
    with pytest.raises(NotImplementedError, match="recurrent_dropout"):
        layers.LSTM(4, recurrent_dropout=0.2)


def test_simple_rnn_cell_keras_call():
    cell = layers.SimpleRNNCell(3)
    x, h0 = RNG.normal(size=(2, 4)).astype(np.float32), np.zeros((2, 3), np.float32)
    out, states = cell(x, [hpnn.tensor(h0)])
    expected = np.tanh(x @ cell.kernel.numpy() + h0 @ cell.recurrent_kernel.numpy())
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert states[0] is out


def test_gradients_reach_lazily_built_weights():
    layer = layers.Conv2D(2, 3, padding="same", activation="relu")
    y = layer(RNG.normal(size=(1, 4, 4, 1)).astype(np.float32))
    y.sum().backward()
    assert layer.kernel.grad is not None and layer.kernel.grad.shape == (3, 3, 1, 2)

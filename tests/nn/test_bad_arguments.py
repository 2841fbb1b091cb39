"""Bad arguments to nn modules raise TypeError (wrong type) or ValueError (bad value) naming
the argument: never ZeroDivisionError, AttributeError, or a silently wrong result. Shape
mismatches raise hpnn.ShapeError, which is both a ValueError and PyTorch's RuntimeError."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn


def T(*shape):
    return hpnn.randn(*shape)


def labels(*values):
    return hpnn.tensor(np.array(values, np.int64))


# (id, callable, expected exception class, text the message must contain)
CONSTRUCTORS = [
    ("conv-kernel-0", lambda: nn.Conv2d(3, 3, kernel_size=0), ValueError, "kernel_size"),
    ("conv-kernel-neg", lambda: nn.Conv2d(3, 3, kernel_size=(3, -1)), ValueError, "kernel_size"),
    ("conv-kernel-float", lambda: nn.Conv2d(3, 3, kernel_size=2.5), TypeError, "kernel_size"),
    ("conv-kernel-triple", lambda: nn.Conv2d(3, 3, kernel_size=(1, 2, 3)), ValueError,
     "kernel_size"),
    ("conv-stride-0", lambda: nn.Conv2d(3, 3, 3, stride=0), ValueError, "stride"),
    ("conv-padding-neg", lambda: nn.Conv2d(3, 3, 3, padding=-1), ValueError, "padding"),
    ("conv-padding-word", lambda: nn.Conv2d(3, 3, 3, padding="full"), ValueError, "padding"),
    ("conv-dilation-0", lambda: nn.Conv2d(3, 3, 3, dilation=0), ValueError, "dilation"),
    ("conv-in-0", lambda: nn.Conv2d(0, 3, 3), ValueError, "in_channels"),
    ("conv-out-str", lambda: nn.Conv2d(3, "3", 3), TypeError, "out_channels"),
    ("conv-groups", lambda: nn.Conv2d(3, 3, 3, groups=2), ValueError, "groups"),
    ("conv-padding-mode", lambda: nn.Conv2d(3, 3, 3, padding_mode="x"), ValueError,
     "padding_mode"),
    ("linear-in-0", lambda: nn.Linear(0, 3), ValueError, "in_features"),
    ("linear-in-float", lambda: nn.Linear(3.0, 3), TypeError, "in_features"),
    ("linear-out-bool", lambda: nn.Linear(3, True), TypeError, "out_features"),
    ("maxpool-kernel-0", lambda: nn.MaxPool2d(0), ValueError, "kernel_size"),
    ("maxpool-stride-0", lambda: nn.MaxPool2d(2, stride=0), ValueError, "stride"),
    ("maxpool-padding-neg", lambda: nn.MaxPool2d(2, padding=-1), ValueError, "padding"),
    ("maxpool-padding-big", lambda: nn.MaxPool2d(2, padding=2), ValueError, "padding"),
    ("maxpool-dilation-0", lambda: nn.MaxPool2d(2, dilation=0), ValueError, "dilation"),
    ("maxpool-kernel-str", lambda: nn.MaxPool2d("2"), TypeError, "kernel_size"),
    ("avgpool-kernel-0", lambda: nn.AvgPool2d(0), ValueError, "kernel_size"),
    ("avgpool-divisor-0", lambda: nn.AvgPool2d(2, divisor_override=0), ValueError,
     "divisor_override"),
    ("adaptive-avg-0", lambda: nn.AdaptiveAvgPool2d(0), ValueError, "output_size"),
    ("adaptive-max-neg", lambda: nn.AdaptiveMaxPool2d((2, -1)), ValueError, "output_size"),
    ("adaptive-triple", lambda: nn.AdaptiveAvgPool2d((1, 2, 3)), ValueError, "output_size"),
    ("batchnorm-0", lambda: nn.BatchNorm2d(0), ValueError, "num_features"),
    ("batchnorm-float", lambda: nn.BatchNorm1d(3.5), TypeError, "num_features"),
    ("batchnorm-eps-neg", lambda: nn.BatchNorm2d(3, eps=-1e-5), ValueError, "eps"),
    ("batchnorm-eps-0", lambda: nn.BatchNorm2d(3, eps=0), ValueError, "eps"),
    ("batchnorm-momentum", lambda: nn.BatchNorm2d(3, momentum=1.5), ValueError, "momentum"),
    ("batchnorm-momentum-str", lambda: nn.BatchNorm2d(3, momentum="x"), TypeError, "momentum"),
    ("dropout-p-big", lambda: nn.Dropout(1.5), ValueError, "'p'"),
    ("dropout-p-nan", lambda: nn.Dropout(float("nan")), ValueError, "'p'"),
    ("dropout-p-str", lambda: nn.Dropout("half"), TypeError, "'p'"),
    ("flatten-float", lambda: nn.Flatten(1.5), TypeError, "start_dim"),
    ("leaky-slope-str", lambda: nn.LeakyReLU("a"), TypeError, "negative_slope"),
    ("gelu-approximate", lambda: nn.GELU("x"), ValueError, "approximate"),
    ("softmax-dim-str", lambda: nn.Softmax(dim="1"), TypeError, "dim"),
    ("rnn-hidden-0", lambda: nn.RNN(3, 0), ValueError, "hidden_size"),
    ("rnn-input-float", lambda: nn.LSTM(3.0, 4), TypeError, "input_size"),
    ("rnn-layers-0", lambda: nn.GRU(3, 4, num_layers=0), ValueError, "num_layers"),
    ("rnn-layers-float", lambda: nn.RNN(3, 4, num_layers=1.5), TypeError, "num_layers"),
    ("rnn-layers-str", lambda: nn.RNN(3, 4, num_layers="2"), TypeError, "num_layers"),
    ("rnn-dropout-str", lambda: nn.LSTM(3, 4, dropout="a"), TypeError, "dropout"),
    ("rnn-dropout-big", lambda: nn.LSTM(3, 4, dropout=2.0), ValueError, "dropout"),
    ("rnn-nonlinearity", lambda: nn.RNN(3, 4, nonlinearity="x"), ValueError, "nonlinearity"),
    ("rnncell-nonlinearity", lambda: nn.RNNCell(3, 4, nonlinearity="x"), ValueError,
     "nonlinearity"),
    ("cell-hidden-0", lambda: nn.GRUCell(3, 0), ValueError, "hidden_size"),
    ("loss-reduction", lambda: nn.CrossEntropyLoss(reduction="x"), ValueError, "reduction"),
    ("mse-reduction", lambda: nn.MSELoss(reduction="avg"), ValueError, "reduction"),
]

NUMPY_X = np.zeros((2, 3, 5, 5), np.float32)

FORWARDS = [
    # a numpy array, list or None where a Tensor is needed: TypeError saying to wrap it
    ("conv-numpy", lambda: nn.Conv2d(3, 3, 3)(NUMPY_X), TypeError, "hpnn.tensor"),
    ("linear-numpy", lambda: nn.Linear(3, 3)(np.zeros((2, 3), np.float32)), TypeError,
     "hpnn.tensor"),
    ("linear-list", lambda: nn.Linear(3, 3)([[1.0, 2.0, 3.0]]), TypeError, "hpnn.tensor"),
    ("linear-none", lambda: nn.Linear(3, 3)(None), TypeError, "input"),
    ("relu-numpy", lambda: nn.ReLU()(NUMPY_X), TypeError, "hpnn.tensor"),
    ("relu-inplace-numpy", lambda: nn.ReLU(inplace=True)(NUMPY_X), TypeError, "hpnn.tensor"),
    ("maxpool-numpy", lambda: nn.MaxPool2d(2)(NUMPY_X), TypeError, "hpnn.tensor"),
    ("batchnorm-numpy", lambda: nn.BatchNorm2d(3)(NUMPY_X), TypeError, "hpnn.tensor"),
    ("dropout-numpy", lambda: nn.Dropout()(NUMPY_X), TypeError, "hpnn.tensor"),
    ("flatten-numpy", lambda: nn.Flatten()(NUMPY_X), TypeError, "hpnn.tensor"),
    ("sequential-numpy", lambda: nn.Sequential(nn.Linear(3, 3), nn.ReLU())(
        np.zeros((2, 3), np.float32)), TypeError, "hpnn.tensor"),
    ("sequential-fused-numpy", lambda: nn.Sequential(nn.Conv2d(3, 3, 3), nn.ReLU(),
                                                     nn.MaxPool2d(2))(NUMPY_X), TypeError,
     "hpnn.tensor"),
    ("gru-numpy", lambda: nn.GRU(3, 4)(np.zeros((5, 2, 3), np.float32)), TypeError,
     "hpnn.tensor"),
    ("gru-numpy-state", lambda: nn.GRU(3, 4)(T(5, 2, 3), np.zeros((1, 2, 4), np.float32)),
     TypeError, "hx"),
    ("loss-numpy-input", lambda: nn.MSELoss()(np.zeros(3, np.float32), T(3)), TypeError,
     "input"),
    ("loss-numpy-target", lambda: nn.CrossEntropyLoss()(T(2, 3), np.zeros(2, np.int64)),
     TypeError, "target"),
    ("loss-none-target", lambda: nn.MSELoss()(T(3), None), TypeError, "target"),
    # hidden-state structure
    ("gru-state-tuple", lambda: nn.GRU(3, 4)(T(5, 2, 3), (hpnn.zeros(1, 2, 4),)), TypeError,
     "hx"),
    ("rnn-state-list", lambda: nn.RNN(3, 4)(T(5, 2, 3), [hpnn.zeros(1, 2, 4)]), TypeError,
     "hx"),
    ("lstm-state-single", lambda: nn.LSTM(3, 4)(T(5, 2, 3), hpnn.zeros(1, 2, 4)), TypeError,
     "hx"),
    ("lstm-state-three", lambda: nn.LSTM(3, 4)(T(5, 2, 3), (hpnn.zeros(1, 2, 4),) * 3),
     hpnn.ShapeError, "hx"),
    ("gru-cell-state-tuple", lambda: nn.GRUCell(3, 4)(T(2, 3), (hpnn.zeros(2, 4),)),
     TypeError, "hx"),
    ("lstm-cell-state-single", lambda: nn.LSTMCell(3, 4)(T(2, 3), hpnn.zeros(2, 4)),
     TypeError, "hx"),
    # shapes
    ("gru-state-shape", lambda: nn.GRU(3, 4)(T(5, 2, 3), hpnn.zeros(1, 3, 4)),
     hpnn.ShapeError, "hx"),
    ("gru-unbatched-state-shape", lambda: nn.GRU(3, 4)(T(5, 3), hpnn.zeros(1, 2, 4)),
     hpnn.ShapeError, "hx"),
    ("lstm-cell-state-shape", lambda: nn.LSTM(3, 4, num_layers=2)(
        T(5, 2, 3), (hpnn.zeros(2, 2, 4), hpnn.zeros(1, 2, 4))), hpnn.ShapeError, "c0"),
    ("lstm-features", lambda: nn.LSTM(3, 4)(T(5, 2, 4)), hpnn.ShapeError, "input"),
    ("rnn-rank", lambda: nn.RNN(3, 4)(T(5, 2, 3, 1)), hpnn.ShapeError, "input"),
    ("cell-features", lambda: nn.RNNCell(3, 4)(T(2, 4)), hpnn.ShapeError, "input"),
    ("cell-state-shape", lambda: nn.GRUCell(3, 4)(T(2, 3), hpnn.zeros(3, 4)), hpnn.ShapeError,
     "hx"),
    ("lstm-cell-c-shape", lambda: nn.LSTMCell(3, 4)(T(2, 3), (hpnn.zeros(2, 4),
                                                              hpnn.zeros(2, 5))),
     hpnn.ShapeError, "c0"),
    ("batchnorm-channels", lambda: nn.BatchNorm2d(3)(T(2, 4, 3, 3)), hpnn.ShapeError,
     "channels"),
    ("batchnorm1d-rank", lambda: nn.BatchNorm1d(3)(T(2, 3, 3, 3)), hpnn.ShapeError, "dims"),
    ("flatten-start-range", lambda: nn.Flatten(5)(T(2, 3)), hpnn.DimensionError,
     "start_dim"),
    ("flatten-end-range", lambda: nn.Flatten(0, -4)(T(2, 3)), hpnn.DimensionError, "end_dim"),
    ("tensor-flatten-range", lambda: T(2, 3).flatten(2), hpnn.DimensionError, "start_dim"),
    ("linear-features", lambda: nn.Linear(3, 3)(T(2, 4)), ValueError, "in_features"),
    ("conv-channels", lambda: nn.Conv2d(3, 3, 3)(T(1, 4, 5, 5)), ValueError, "channels"),
    ("conv-rank", lambda: nn.Conv2d(3, 3, 3)(T(3, 5)), ValueError, "input"),
    ("cross-entropy-target-shape", lambda: nn.CrossEntropyLoss()(T(2, 3), labels(0, 1, 2)),
     ValueError, "target"),
]


def _check(call, error, text):
    with pytest.raises(error) as caught:
        call()
    assert text in str(caught.value)
    return caught.value


@pytest.mark.parametrize("call, error, text", [c[1:] for c in CONSTRUCTORS],
                         ids=[c[0] for c in CONSTRUCTORS])
def test_constructor_rejects(call, error, text):
    _check(call, error, text)


@pytest.mark.parametrize("call, error, text", [c[1:] for c in FORWARDS],
                         ids=[c[0] for c in FORWARDS])
def test_forward_rejects(call, error, text):
    _check(call, error, text)


def test_shape_error_is_value_and_runtime_error():
    assert issubclass(hpnn.ShapeError, ValueError) and issubclass(hpnn.ShapeError, RuntimeError)
    assert issubclass(hpnn.DimensionError, IndexError)
    assert issubclass(hpnn.DimensionError, ValueError)


def test_numpy_input_is_left_unchanged_by_inplace_relu_refusal():
    array = -np.ones(3, np.float32)
    with pytest.raises(TypeError):
        nn.ReLU(inplace=True)(array)
    np.testing.assert_array_equal(array, -1)


def test_user_module_may_take_numpy_arguments():
    """Only hpnn's own layers insist on Tensors: a user's forward may take anything."""

    class Lookup(nn.Module):
        def forward(self, indices, table):
            return hpnn.tensor(table[indices])

    out = Lookup()(np.array([1, 0]), np.array([[1.0], [2.0]], np.float32))
    np.testing.assert_array_equal(out.numpy(), [[2.0], [1.0]])

    class MaskedLinear(nn.Linear):  # a user's forward overriding a layer's
        def forward(self, input, mask):
            return super().forward(input * hpnn.tensor(mask))

    layer = MaskedLinear(2, 1)
    out = layer(hpnn.ones(1, 2), np.array([1.0, 0.0], np.float32))
    expected = layer.weight.numpy()[0, 0] + layer.bias.numpy()[0]
    np.testing.assert_allclose(out.numpy(), [[expected]], rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: nn.GRU(3, 4), lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True),
    lambda: nn.RNNCell(3, 4), lambda: nn.LSTMCell(3, 4)], ids=["gru", "lstm", "rnncell",
                                                              "lstmcell"])
def test_valid_states_still_accepted(make):
    module = make()
    cell = isinstance(module, (nn.RNNCell, nn.LSTMCell))
    layers = 1 if cell else module.num_layers * module.num_directions
    shape = (2, 4) if cell else (layers, 2, 4)
    h = hpnn.zeros(*shape)
    hx = (h, hpnn.zeros(*shape)) if isinstance(module, (nn.LSTM, nn.LSTMCell)) else h
    x = T(2, 3) if cell else T(5, 2, 3)
    batched = module(x, hx)
    # unbatched input: cells take (H,) states, sequence modules (L*D, H)
    pick = (lambda s: s[0]) if cell else (lambda s: s[:, 0])
    unbatched = module(x[0] if cell else x[:, 0],
                       tuple(pick(s) for s in hx) if isinstance(hx, tuple) else pick(hx))
    output = batched[0] if isinstance(batched, tuple) else batched
    output_unbatched = unbatched[0] if isinstance(unbatched, tuple) else unbatched
    np.testing.assert_allclose(output_unbatched.numpy(), pick(output).numpy(), rtol=1e-5,
                               atol=1e-6)


def test_valid_pool_and_conv_arguments_still_accepted():
    x = T(1, 2, 6, 6)
    assert nn.MaxPool2d((2, 3), stride=(1, 2), padding=(1, 1))(x).shape[1] == 2
    assert nn.AvgPool2d(3, padding=1, divisor_override=2)(x).shape == (1, 2, 2, 2)
    assert nn.AdaptiveAvgPool2d((None, 2))(x).shape == (1, 2, 6, 2)
    assert nn.Conv2d(2, 4, (1, 3), padding="same")(x).shape == (1, 4, 6, 6)
    assert nn.BatchNorm2d(2, momentum=None, eps=1e-3)(x).shape == x.shape
    assert nn.Flatten(-3, -1)(x).shape == (1, 72)


def test_recurrent_layers_beyond_memory_raise_before_allocating():
    """nn.GRU(3, 4, num_layers=2**62) looped for ever, one small layer at a time (found by the
    fuzz stage). Run in a subprocess so that the old behaviour fails by timeout, not a hang."""
    import subprocess
    import sys
    code = ("import hpnn.nn as nn\n"
            "for cls in (nn.GRU, nn.LSTM, nn.RNN):\n"
            "    try:\n"
            "        cls(3, 4, num_layers=2**62)\n"
            "    except MemoryError as error:\n"
            "        assert cls.__name__ in str(error), error\n"
            "    else:\n"
            "        raise SystemExit(cls.__name__ + ' accepted 2**62 layers')\n")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("nn.GRU(3, 4, num_layers=2**62) did not return")
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("kwargs", [{}, {"num_layers": 3, "bidirectional": True},
                                    {"num_layers": 2, "bias": False}])
@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_parameter_count_estimate_matches_the_parameters(cls, kwargs):
    module = cls(3, 5, **kwargs)
    assert module._parameter_count() == sum(p.numel() for p in module.parameters())


def test_batch_norm_without_channels_raises_value_error_naming_input():
    """Was ZeroDivisionError (the values per channel were counted as size // channels)."""
    with pytest.raises(ValueError, match="'input' has no channels"):
        hpnn.nn.functional.batch_norm(hpnn.randn(2, 0, 3), None, None, training=True)
    x = np.zeros((2, 0, 3), np.float32)
    y, mean, invstd = hpnn.reference.batch_norm_forward_train(
        x, None, None, np.zeros(0, np.float32), np.ones(0, np.float32))
    assert y.shape == (2, 0, 3) and mean.shape == invstd.shape == (0,)


def test_batch_norm_default_affine_keeps_a_float64_input_float64():
    x = hpnn.randn(4, 3, dtype=hpnn.float64)
    assert hpnn.nn.functional.batch_norm(x, None, None, training=True).dtype == hpnn.float64

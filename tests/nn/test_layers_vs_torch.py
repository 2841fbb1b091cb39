"""nn layers against torch.nn: constructor defaults, attributes, parameter names and shapes,
reprs, padding modes, and load_state_dict's checks."""
import numpy as np
import pytest

import hpnn
import hpnn.nn as nn

torch = pytest.importorskip("torch")

LAYERS = [
    ("Linear", (3, 4), {}), ("Linear", (3, 4), {"bias": False}), ("Conv2d", (2, 4, 3), {}),
    ("Conv2d", (2, 4, (3, 2)), dict(stride=2, padding=1, dilation=2, groups=2, bias=False)),
    ("Conv2d", (2, 4, 3), dict(padding="same", padding_mode="reflect")),
    ("Conv2d", (2, 4, 3), dict(padding="valid")), ("Conv2d", (2, 4, 3), dict(padding=(1, 0))),
    ("MaxPool2d", (2,), {}), ("MaxPool2d", (3, 2, 1, 1, True, True), {}),
    ("AvgPool2d", (2,), {}), ("AvgPool2d", (3, 2, 1, True, False, 2), {}),
    ("AdaptiveAvgPool2d", ((2, 3),), {}), ("AdaptiveMaxPool2d", (1, True), {}),
    ("BatchNorm1d", (4,), {}), ("BatchNorm2d", (4, 1e-3, None, False), {}),
    ("BatchNorm2d", (4,), {"bias": False}), ("BatchNorm1d", (4,), dict(track_running_stats=False)),
    ("Dropout", (), {}), ("Dropout", (0.2, True), {}), ("Flatten", (), {}), ("Flatten", (0, 2), {}),
    ("ReLU", (), {}), ("ReLU", (True,), {}), ("LeakyReLU", (), {}), ("LeakyReLU", (0.2, True), {}),
    ("Sigmoid", (), {}), ("Tanh", (), {}), ("GELU", (), {}), ("GELU", ("tanh",), {}),
    ("Softmax", (), {}), ("Softmax", (1,), {}), ("LogSoftmax", (), {"dim": -1}),
    ("Identity", (3,), {"unused": 1}),
    ("CrossEntropyLoss", (), {}),
    ("CrossEntropyLoss", (), dict(ignore_index=3, label_smoothing=0.1)),
    ("NLLLoss", (), {"reduction": "sum"}), ("BCELoss", (), {}), ("BCEWithLogitsLoss", (), {}),
    ("MSELoss", (), {}), ("MSELoss", (None, False), {}),
    ("LayerNorm", (5,), {}), ("LayerNorm", ((3, 4), 1e-3, False), {}),
    ("LayerNorm", (5,), {"bias": False}), ("GroupNorm", (2, 6), {}),
    ("GroupNorm", (3, 6, 1e-3, False), {}), ("GroupNorm", (3, 6), {"bias": False}),
    ("InstanceNorm2d", (4,), {}), ("InstanceNorm2d", (4,), dict(affine=True, bias=False)),
    ("InstanceNorm2d", (4, 1e-3, 0.2, True, True), {}), ("InstanceNorm1d", (4,), {}),
    ("Embedding", (10, 3), {}), ("Embedding", (10, 3, 2, 1.0, 1.0, True, True), {}),
]
ATTRIBUTES = ["in_features", "out_features", "in_channels", "out_channels", "kernel_size",
              "stride", "padding", "dilation", "groups", "padding_mode", "transposed",
              "output_padding", "output_size", "return_indices", "ceil_mode",
              "count_include_pad", "divisor_override", "num_features", "eps", "momentum",
              "affine", "track_running_stats", "p", "inplace", "negative_slope", "approximate",
              "dim", "start_dim", "end_dim", "reduction", "ignore_index", "label_smoothing",
              "training", "normalized_shape", "elementwise_affine", "num_groups",
              "num_channels", "num_embeddings", "embedding_dim", "padding_idx", "max_norm",
              "norm_type", "scale_grad_by_freq", "sparse"]


@pytest.mark.parametrize("name,args,kwargs", LAYERS)
def test_constructor_defaults_state_and_repr_match_torch(name, args, kwargs):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    for attribute in ATTRIBUTES:
        if hasattr(theirs, attribute):
            assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours).split("  # ")[0] == repr(theirs)  # ours adds a parameter count


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"])
def test_conv2d_padding_modes_match_torch(padding_mode, padding):
    torch.manual_seed(0)
    theirs = torch.nn.Conv2d(3, 4, (3, 2), padding=padding, padding_mode=padding_mode)
    ours = nn.Conv2d(3, 4, (3, 2), padding=padding, padding_mode=padding_mode)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 7)).astype(np.float32)
    xt, xh = torch.tensor(x, requires_grad=True), hpnn.tensor(x, requires_grad=True)
    yt, yh = theirs(xt), ours(xh)
    np.testing.assert_allclose(yh.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    (yt * yt).sum().backward()
    (yh * yh).sum().backward()
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-3,
                               atol=1e-3)


def test_pool_and_activation_modules_forward_like_torch():
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 7)).astype(np.float32)
    for name, args in [("MaxPool2d", (3, 2, 1, 1, True, True)),
                       ("AvgPool2d", (3, 2, 1, True, False, 2)), ("Softmax", ()),
                       ("LogSoftmax", (2,)), ("LeakyReLU", (0.3,))]:
        with pytest.warns(UserWarning) if not args else _nothing():
            expected = getattr(torch.nn, name)(*args)(torch.tensor(x))
            got = getattr(nn, name)(*args)(hpnn.tensor(x))
        for g, e in zip(got if isinstance(got, tuple) else (got,),
                        expected if isinstance(expected, tuple) else (expected,)):
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_batch_norm_without_bias_and_cumulative_momentum_match_torch():
    torch.manual_seed(0)
    theirs = torch.nn.BatchNorm2d(3, momentum=None, bias=False)
    ours = nn.BatchNorm2d(3, momentum=None, bias=False)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x = rng.normal(2.0, 3.0, (4, 3, 2, 2)).astype(np.float32)
        np.testing.assert_allclose(ours(hpnn.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-5,
                                   err_msg=key)


def test_load_state_dict_errors_are_runtime_errors_and_change_nothing():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    state = {k: np.ones_like(v) for k, v in before.items()}
    state["1.running_var"] = np.ones(5, np.float32)  # the last key is the bad one
    with pytest.raises(RuntimeError, match="1.running_var"):
        model.load_state_dict(state, strict=False)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])
    del state["1.running_var"]
    with pytest.raises(RuntimeError, match="Missing|missing"):
        model.load_state_dict(state)
    result = model.load_state_dict({**state, "extra": np.zeros(1)}, strict=False)
    assert result.missing_keys == ["1.running_var"] and result.unexpected_keys == ["extra"]
    assert model.state_dict()["0.weight"].numpy().min() == 1.0


def test_torch_state_dict_loads_into_every_parameterised_layer():
    torch.manual_seed(0)
    build = lambda lib: lib.nn.Sequential(  # noqa: E731
        lib.nn.Conv2d(1, 4, 3, padding="same", bias=False), lib.nn.BatchNorm2d(4, bias=False),
        lib.nn.ReLU(True), lib.nn.MaxPool2d(2, return_indices=False), lib.nn.Flatten(),
        lib.nn.Linear(36, 5), lib.nn.Softmax(dim=1))
    theirs, ours = build(torch), build(hpnn)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    theirs.eval(), ours.eval()
    x = np.random.default_rng(3).standard_normal((2, 1, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(ours(hpnn.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv_transpose2d", None), ("sigmoid", None), ("tanh", None),
    ("relu", None), ("selu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param))

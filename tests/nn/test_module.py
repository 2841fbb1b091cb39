"""Module bookkeeping: registration, traversal, modes, state dicts, repr, init."""
import math

import numpy as np
import pytest

import hpnn
import hpnn.nn as nn


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.1), nn.Linear(4 * 4 * 4, 10))


def test_parameter_and_buffer_names():
    model = small_cnn()
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "1.weight", "1.bias", "6.weight", "6.bias"]
    assert [name for name, _ in model.named_buffers()] == [
        "1.running_mean", "1.running_var", "1.num_batches_tracked"]
    assert list(model.state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked", "6.weight", "6.bias"]
    assert len(list(model.children())) == 7 and len(list(model.modules())) == 8


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(3, 4)
        self.scale = nn.Parameter(np.ones(1))
        self.register_buffer("steps", np.zeros(1))
        self.shared = self.encoder  # same module twice: parameters listed once

    def forward(self, x):
        return self.encoder(x) * self.scale


def test_custom_module_registration():
    model = Custom()
    assert sorted(n for n, _ in model.named_parameters()) == [
        "encoder.bias", "encoder.weight", "scale"]
    assert model.num_parameters() == 3 * 4 + 4 + 1
    out = model(hpnn.randn(2, 3))
    out.sum().backward()
    assert model.scale.grad is not None
    model.zero_grad()
    assert model.scale.grad is None
    with pytest.raises(TypeError, match="Parameter"):
        model.scale = np.ones(1)
    with pytest.raises(AttributeError, match="nope"):
        model.nope


def test_train_eval_propagate():
    model = small_cnn()
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_state_dict_round_trip_and_checks():
    hpnn.manual_seed(0)
    source, target = small_cnn(), small_cnn()
    target.load_state_dict(source.state_dict())
    x = hpnn.randn(3, 1, 8, 8)
    source.eval(), target.eval()
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())
    state = {k: v.numpy().copy() for k, v in source.state_dict().items()}
    del state["6.bias"]
    with pytest.raises(KeyError, match="6.bias"):
        target.load_state_dict(state)
    result = target.load_state_dict(state, strict=False)
    assert result.missing_keys == ["6.bias"]
    state["6.bias"] = np.zeros(11)
    with pytest.raises(ValueError, match="6.bias"):
        target.load_state_dict(state)
    state["6.bias"], state["extra"] = np.zeros(10), np.zeros(1)
    with pytest.raises(KeyError, match="extra"):
        target.load_state_dict(state)


def test_load_state_dict_copies_in_place():
    layer = nn.Linear(2, 2)
    weight = layer.weight
    layer.load_state_dict({"weight": np.eye(2), "bias": np.zeros(2)})
    assert layer.weight is weight
    np.testing.assert_array_equal(weight.numpy(), np.eye(2))


def test_repr_shows_layers_and_counts():
    text = repr(nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1)))
    assert "Linear(in_features=64, out_features=32, bias=True)  # 2,080 params" in text
    assert text.startswith("Sequential(  # 2,113 params")


def test_default_init_bounds():
    hpnn.manual_seed(1)
    layer = nn.Linear(50, 40)
    bound = 1 / math.sqrt(50)  # kaiming_uniform(a=sqrt(5)) gives the same bound as the bias
    assert np.abs(layer.weight.numpy()).max() <= bound
    assert np.abs(layer.weight.numpy()).max() > 0.9 * bound
    assert np.abs(layer.bias.numpy()).max() <= bound
    conv = nn.Conv2d(3, 8, 3)
    assert np.abs(conv.weight.numpy()).max() <= 1 / math.sqrt(27)


def test_init_functions():
    w = nn.Parameter(np.zeros((300, 200)))
    nn.init.xavier_uniform_(w)
    assert np.abs(w.numpy()).max() <= math.sqrt(6 / 500)
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 200), rel=0.05)
    nn.init.xavier_normal_(w)
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 500), rel=0.05)
    nn.init.zeros_(w)
    assert not w.numpy().any()
    nn.init.ones_(w)
    assert w.numpy().min() == 1
    with pytest.raises(ValueError, match="2 dims"):
        nn.init.kaiming_uniform_(nn.Parameter(np.empty(3)))


def test_bad_constructor_and_input_arguments():
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match="in_features=3"):
        nn.Linear(3, 2)(hpnn.randn(4, 5))
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="channels"):
        nn.BatchNorm2d(3)(hpnn.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="'p'"):
        nn.Dropout(1.5)


def test_batch_norm_running_stats_and_eval():
    bn = nn.BatchNorm1d(3)
    x = hpnn.tensor(np.random.default_rng(0).normal(5.0, 2.0, (64, 3)).astype(np.float32))
    for _ in range(50):
        bn(x)
    assert int(bn.num_batches_tracked.item()) == 50
    expected = x.numpy().mean(0) * (1 - 0.9**50)  # momentum 0.1 from 0
    np.testing.assert_allclose(bn.running_mean.numpy(), expected, rtol=1e-4)
    bn.eval()
    out = bn(x).numpy()
    np.testing.assert_allclose(out.mean(0), 0, atol=0.05)


def test_dropout_is_identity_in_eval_and_repeatable_with_seed():
    layer = nn.Dropout(0.5)
    x = hpnn.ones(100)
    hpnn.manual_seed(5)
    first = layer(x).numpy()
    hpnn.manual_seed(5)
    np.testing.assert_array_equal(layer(x).numpy(), first)
    assert set(np.unique(first)) == {0.0, 2.0}
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


def test_functional_alias():
    import hpnn.nn.functional as F
    assert F is hpnn.functional and F.relu is nn.functional.relu

"""hpnn.save(module) / hpnn.load: whole models saved as data (never pickled), rebuilt only from
hpnn's classes and allowlisted ones, to file objects as well as paths."""
import io
import json
import os
import sys
import zipfile

import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
import hpnn.nn.functional as F
from hpnn import CheckpointError
from hpnn.serialization import add_safe_globals, clear_safe_globals, safe_globals


class TiedLM(nn.Module):
    """Embedding, LSTM and a decoder tied to the embedding (as word_language_model's)."""

    def __init__(self, vocab=11, width=6):
        super().__init__()
        self.encoder = nn.Embedding(vocab, width)
        self.rnn = nn.LSTM(width, width, 2)
        self.decoder = nn.Linear(width, vocab)
        self.decoder.weight = self.encoder.weight
        self.register_buffer("scale", hpnn.ones(1) * 0.5)
        self.register_buffer("scratch", hpnn.zeros(2), persistent=False)
        self.kind, self.sizes, self.act = "lstm", (vocab, width), F.tanh
        self.dtype, self.device = hpnn.float32, hpnn.device("cpu")

    def forward(self, x):
        y, _ = self.rnn(self.encoder(x))
        return F.log_softmax(self.decoder(self.act(y) * self.scale), dim=-1)


class Counted(nn.Module):
    inits = 0

    def __init__(self):
        super().__init__()
        type(self).inits += 1
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x)


def tokens():
    return hpnn.tensor(np.random.default_rng(0).integers(0, 11, (5, 3)), dtype=hpnn.int64)


def train_step(model, x):
    model.zero_grad()
    loss = F.nll_loss(model(x).view(-1, 11), x.view(-1))
    loss.backward()
    for p in model.parameters():
        p.data.add_(p.grad, alpha=-0.5)
    return loss.item()


def round_trip(obj, allow=()):
    buffer = io.BytesIO()
    hpnn.save(obj, buffer)
    buffer.seek(0)
    with safe_globals(list(allow)):
        return hpnn.load(buffer)


def test_model_loads_and_trains_as_before():
    hpnn.manual_seed(0)
    model = TiedLM()
    copy = round_trip(model, [TiedLM])
    assert type(copy) is TiedLM and copy is not model
    assert copy.decoder.weight is copy.encoder.weight  # saved once, tied again
    assert copy.act is F.tanh and copy.sizes == (11, 6) and copy.kind == "lstm"
    assert copy.dtype is hpnn.float32 and copy.device == hpnn.device("cpu")
    assert "scratch" not in copy.state_dict() and "scale" in copy.state_dict()
    assert list(copy.state_dict()) == list(model.state_dict())
    x = tokens()
    np.testing.assert_array_equal(copy(x).numpy(), model(x).numpy())
    for _ in range(2):  # a training step changes both the same way
        assert train_step(copy, x) == train_step(model, x)
    for a, b in zip(model.parameters(), copy.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    copy.eval()
    assert not copy.rnn.training


def test_transformer_with_function_attribute():
    hpnn.manual_seed(1)
    model = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2).eval()
    copy = round_trip(model)  # hpnn's own classes and F.relu need no allowlist
    assert copy.layers[0].activation is F.relu
    assert type(copy.layers[0].self_attn.out_proj) is nn.modules.linear.NonDynamicallyQuantizableLinear
    x = hpnn.randn(4, 3, 8)
    np.testing.assert_array_equal(copy(x).numpy(), model(x).numpy())


def test_paths_and_open_files(tmp_path):
    model = TiedLM()
    hpnn.save(model, tmp_path / "m.pt")
    with open(tmp_path / "m2.pt", "wb") as f:
        hpnn.save(model, f)
    with open(tmp_path / "m2.pt", "rb") as f, safe_globals([TiedLM]):
        from_file = hpnn.load(f)
    with safe_globals([TiedLM]):
        from_path = hpnn.load(tmp_path / "m.pt")
    for copy in (from_file, from_path):
        np.testing.assert_array_equal(copy(tokens()).numpy(), model(tokens()).numpy())


def test_state_dicts_through_file_objects(tmp_path):
    state = {"w": hpnn.arange(4.0), "n": 3, "t": (1, "a")}
    buffer = io.BytesIO()
    hpnn.save(state, buffer)
    loaded = hpnn.load(io.BytesIO(buffer.getvalue()))
    np.testing.assert_array_equal(loaded["w"].numpy(), np.arange(4.0))
    assert loaded["n"] == 3 and loaded["t"] == (1, "a")
    with open(tmp_path / "t.txt", "w") as f, pytest.raises(TypeError, match="binary"):
        hpnn.save(state, f)
    with pytest.raises(TypeError, match="path or a binary file"):
        hpnn.save(state, 42)
    with pytest.raises(CheckpointError, match="limit"):
        hpnn.load(io.BytesIO(buffer.getvalue()), max_bytes=8)


def test_unlisted_class_is_refused_with_the_way_out():
    buffer = io.BytesIO()
    hpnn.save(TiedLM(), buffer)
    with pytest.raises(CheckpointError, match=r"TiedLM.*safe_globals\(\[TiedLM\]\)"):
        hpnn.load(io.BytesIO(buffer.getvalue()))
    add_safe_globals([TiedLM])
    try:
        assert type(hpnn.load(io.BytesIO(buffer.getvalue()))) is TiedLM
    finally:
        clear_safe_globals()
    with pytest.raises(CheckpointError, match="TiedLM"):
        hpnn.load(io.BytesIO(buffer.getvalue()))


def test_load_never_runs_init():
    model = Counted()
    before = Counted.inits
    copy = round_trip(model, [Counted])
    assert Counted.inits == before and isinstance(copy.fc, nn.Linear)


def test_unsavable_attributes_are_named():
    model = Counted()
    model.fn = lambda x: x
    with pytest.raises(TypeError, match="lambda"):
        hpnn.save(model, io.BytesIO())
    model.fn = object()
    with pytest.raises(TypeError, match=r"fn.*object"):
        hpnn.save(model, io.BytesIO())


# ---- hostile descriptions ---------------------------------------------------------------------
def archive(document, arrays=None):
    buffer = io.BytesIO()
    meta = json.dumps({"format": "hpnn-checkpoint", "version": 2, "object": document})
    hpnn.io._write_archive(buffer, arrays or {"a0": np.zeros((2, 3), np.float32)}, meta)
    return io.BytesIO(buffer.getvalue())


def linear_state(**changes):
    state = {"_parameters": {"__odict__": [["weight", {"__parameter__": ["a0", True]}],
                                           ["bias", None]]},
             "_buffers": {"__odict__": []}, "_non_persistent": {"__set__": []},
             "_modules": {"__odict__": []}, "training": True, "in_features": 3,
             "out_features": 2}
    state.update(changes)
    return {"__dict__": [[k, v] for k, v in state.items()]}


def module(name, state, index=0):
    return {"__module__": [name, index, state]}


def test_hand_written_description_loads():
    layer = hpnn.load(archive(module("hpnn.nn.layers.Linear", linear_state())))
    assert layer(hpnn.ones(1, 3)).shape == (1, 2)


@pytest.mark.parametrize("document, match", [
    (module("os.system", linear_state()), "os.system"),
    (module("builtins.eval", linear_state()), "builtins.eval"),
    (module("hpnn.nn.functional.relu", linear_state()), "not an nn.Module class"),
    (module("hpnn.nn.layers.Linear", linear_state(fn={"__function__": "os.system"})),
     "os.system"),
    (module("hpnn.nn.layers.Linear", linear_state(fn={"__function__": "hpnn.nn.layers.Linear"})),
     "not a function"),
    (module("hpnn.nn.layers.Linear", linear_state(_parameters={"__dict__": []})),
     "_parameters is missing or not an OrderedDict"),
    (module("hpnn.nn.layers.Linear", linear_state(_modules={"__odict__": [["m", 3]]})),
     r"_modules\['m'\] is a int"),
    (module("hpnn.nn.layers.Linear", linear_state(_non_persistent=[])), "_non_persistent"),
    (module("hpnn.nn.layers.Linear", linear_state(training=1)), "training"),
    (module("hpnn.nn.layers.Linear", linear_state(), index=5), "out of order"),
    ({"__ref__": 0}, "refers to module 0"),
    (module("hpnn.nn.layers.Linear", linear_state(x={"__dtype__": "__class__"})), "dtype"),
    (module("hpnn.nn.layers.Linear", linear_state(x={"__device__": "no such device"})), "device"),
    (module("hpnn.nn.layers.Linear", linear_state(x={"__set__": [[1]]})), "unhashable"),
    (module("hpnn.nn.layers.Linear", [1]), "not \\[class name"),
    ({"__parameter__": ["a0", 1]}, "requires_grad"),
    ({"__tuple__": [{"__parameter__": ["a0", True]}, {"__tensor__": "a0"}]},
     "both as a Parameter"),
])
def test_malformed_descriptions_are_refused(document, match):
    with pytest.raises(CheckpointError, match=match):
        hpnn.load(archive(document))


def test_deep_module_nesting_is_bounded():
    model = nn.Linear(2, 2)
    for _ in range(20):
        model = nn.Sequential(model)
    with pytest.raises(ValueError, match="nested more than"):
        hpnn.save(model, io.BytesIO())
    shallow = nn.Linear(2, 2)
    for _ in range(12):
        shallow = nn.Sequential(shallow)
    copy = round_trip(shallow)
    x = hpnn.ones(1, 2)
    np.testing.assert_array_equal(copy(x).numpy(), shallow(x).numpy())


def test_cyclic_module_round_trips():
    outer = nn.Sequential(nn.Linear(2, 2))
    object.__setattr__(outer, "me", outer)  # a reference cycle, as a user's bookkeeping may make
    copy = round_trip(outer)
    assert copy.me is copy


# ---- PyTorch's names that scripts use ------------------------------------------------------
def test_torch_module_paths_are_hpnn_classes():
    m = nn.modules
    assert m.linear.Linear is nn.Linear and m.rnn.LSTM is nn.LSTM
    assert m.activation.MultiheadAttention is nn.MultiheadAttention
    assert m.container.ModuleList is nn.ModuleList and m.dropout.Dropout is nn.Dropout
    assert m.normalization.LayerNorm is nn.LayerNorm and m.sparse.Embedding is nn.Embedding
    assert m.transformer.TransformerEncoderLayer is nn.TransformerEncoderLayer
    assert m.module.Module is nn.Module
    assert issubclass(m.linear.NonDynamicallyQuantizableLinear, nn.Linear)


def test_flatten_parameters_and_onnx_placeholder():
    lstm = nn.LSTM(3, 4)
    assert lstm.flatten_parameters() is None
    import hpnn.onnx
    with pytest.raises(NotImplementedError, match="ONNX export is not implemented"):
        hpnn.onnx.export(lstm, (hpnn.ones(2, 1, 3),), "never.onnx")
    assert not os.path.exists("never.onnx")

"""hpnn.save / hpnn.load: round trips, atomic writes, corrupt files."""
import os

import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
from hpnn import io


def model_and_optimizer():
    hpnn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    opt = hpnn.optim.Adam(model.parameters(), lr=0.01)
    loss = nn.functional.mse_loss(model(hpnn.randn(5, 4)), hpnn.randn(5, 2))
    loss.backward()
    opt.step()
    return model, opt


def test_checkpoint_round_trip(tmp_path):
    model, opt = model_and_optimizer()
    path = tmp_path / "ckpt.hpnn"
    hpnn.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
               "note": ("a", 1.5, None, True)}, path)
    loaded = hpnn.load(path)
    assert loaded["epoch"] == 3 and loaded["note"] == ("a", 1.5, None, True)
    assert isinstance(loaded["model"]["0.weight"], hpnn.Tensor)
    assert loaded["model"]["1.num_batches_tracked"].dtype == np.int64
    assert list(loaded["model"]) == list(model.state_dict())
    fresh, fresh_opt = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2)), None
    fresh.load_state_dict(loaded["model"])
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    fresh_opt = hpnn.optim.Adam(fresh.parameters(), lr=0.5)
    fresh_opt.load_state_dict(loaded["optimizer"])
    assert fresh_opt.param_groups[0]["lr"] == 0.01
    assert 0 in loaded["optimizer"]["state"]  # int keys survive


def test_wrong_architecture_names_the_key(tmp_path):
    model, _ = model_and_optimizer()
    hpnn.save(model.state_dict(), tmp_path / "m.npz")
    other = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.Linear(5, 2))
    with pytest.raises(ValueError, match="0.weight"):
        other.load_state_dict(hpnn.load(tmp_path / "m.npz"))


def test_crash_during_save_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    hpnn.save({"w": np.ones(3)}, path)
    before = path.read_bytes()

    def crash(file, arrays, meta):
        file.write(b"PK\x03\x04partial")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(io, "_write_archive", crash)
    with pytest.raises(KeyboardInterrupt):
        hpnn.save({"w": np.zeros(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind
    np.testing.assert_array_equal(hpnn.load(path)["w"], np.ones(3))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "npy"])
def test_corrupt_files_raise_clear_errors(tmp_path, damage):
    path = tmp_path / "ckpt.npz"
    hpnn.save({"weights": np.arange(1000, dtype=np.float32)}, path)
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00garbage" * 10)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        np.save(path.open("wb"), np.zeros(2))
    with pytest.raises(ValueError, match="ckpt.npz"):
        hpnn.load(path)


def test_plain_npz_without_metadata_is_rejected(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, x=np.zeros(2))
    with pytest.raises(ValueError, match="__meta__"):
        hpnn.load(path)


def test_unsaveable_objects_are_named():
    with pytest.raises(TypeError, match=r"object\['f'\]"):
        hpnn.save({"f": lambda: 1}, "unused.npz")
    with pytest.raises(FileNotFoundError):
        hpnn.load("does/not/exist.npz")

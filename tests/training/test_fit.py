"""compile / fit / evaluate / predict and the callbacks."""
import io
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import hpnn
import hpnn.nn as nn
from hpnn.callbacks import Callback, EarlyStopping, LearningRateScheduler, ModelCheckpoint


def digits(n=600):
    x, y = hpnn.datasets.load_digits(flatten=True)
    return x[:n], y[:n], x[1400:], y[1400:]


def mlp(seed=0):
    hpnn.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def test_fit_learns_and_reports_history():
    x, y, xv, yv = digits()
    model = mlp()
    model.compile(optimizer=hpnn.optim.Adam(model.parameters(), lr=0.01), loss="cross_entropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=4, batch_size=32, validation_data=(xv, yv), verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 4 and history.epoch == [0, 1, 2, 3]
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    assert history.history["val_accuracy"][-1] > 0.8
    loss, accuracy = model.evaluate(xv, yv)
    assert loss == pytest.approx(history.history["val_loss"][-1], rel=1e-5)
    assert accuracy == pytest.approx(history.history["val_accuracy"][-1])
    predictions = model.predict(xv, batch_size=50)
    assert predictions.shape == (len(xv), 10)
    assert np.mean(predictions.argmax(1) == yv) == pytest.approx(accuracy)
    assert model.evaluate(xv, yv, return_dict=True).keys() == {"loss", "accuracy"}


def test_keras_style_probability_losses_and_validation_split():
    x, y, _, _ = digits(400)
    hpnn.manual_seed(1)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10), nn.Softmax(dim=1))
    model.compile(optimizer=hpnn.optim.SGD(model.parameters(), lr=0.5),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.7
    one_hot = np.eye(10, dtype=np.float32)[y]
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["acc"])
    loss_one_hot = model.evaluate(x, one_hot)[0]
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert model.evaluate(x, y) == pytest.approx(loss_one_hot, rel=1e-5)


def test_binary_classification_with_bce():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 4)).astype(np.float32)
    y = (x[:, :1] + x[:, 1:2] > 0).astype(np.float32)
    hpnn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())
    model.compile(optimizer=hpnn.optim.Adam(model.parameters(), lr=0.05),
                  loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


def test_compile_errors_are_clear():
    model = mlp()
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        model.compile(loss="hinge")
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile(optimizer="lbfgs", loss="mse")
    with pytest.raises(ValueError, match="unknown metric"):
        model.compile(loss="mse", metrics=["f1"])
    with pytest.raises(RuntimeError, match="compile"):
        mlp().fit(np.zeros((2, 64)), np.zeros(2, np.int64))
    model.compile(loss="cross_entropy")
    with pytest.raises(ValueError, match="samples"):
        model.fit(np.zeros((3, 64)), np.zeros(2, np.int64), verbose=0)
    with pytest.raises(ValueError, match="0..9"):
        model.fit(np.zeros((3, 64)), np.array([0, 1, 12]), verbose=0)
    assert "loss_fn" not in dict(model.named_children())


def test_early_stopping_restores_best_weights():
    x, y, xv, yv = digits(300)
    model = mlp()
    model.compile(optimizer=hpnn.optim.Adam(model.parameters()), loss="cross_entropy")
    stopper = EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    losses = []

    class Record(Callback):
        def on_epoch_end(self, epoch, logs=None):
            losses.append(logs["val_loss"])

    # lr far too high after epoch 1 makes validation loss climb
    schedule = LearningRateScheduler(lambda epoch, lr: 0.01 if epoch < 2 else 5.0)
    history = model.fit(x, y, epochs=20, validation_data=(xv, yv), verbose=0,
                        callbacks=[schedule, stopper, Record()])
    assert len(history.epoch) < 20 and stopper.stopped_epoch is not None
    assert history.history["lr"][0] == 0.01 and history.history["lr"][-1] == 5.0
    assert model.evaluate(xv, yv) == pytest.approx(min(losses), rel=1e-5)


def test_early_stopping_needs_the_monitored_value():
    x, y, _, _ = digits(64)
    model = mlp().compile(loss="cross_entropy")
    with pytest.raises(ValueError, match="val_loss"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[EarlyStopping()])


def test_model_checkpoint(tmp_path):
    x, y, xv, yv = digits(200)
    model = mlp().compile(loss="cross_entropy", metrics=["accuracy"])
    every = ModelCheckpoint(str(tmp_path / "e{epoch:02d}.npz"), save_weights_only=True)
    best = ModelCheckpoint(str(tmp_path / "best.npz"), monitor="val_accuracy", save_best_only=True)
    model.fit(x, y, epochs=3, validation_data=(xv, yv), verbose=0, callbacks=[every, best])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "e01.npz", "e02.npz",
                                                         "e03.npz"]
    state = hpnn.load(tmp_path / "e03.npz")
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(state[key].numpy(), value.numpy())
    checkpoint = hpnn.load(tmp_path / "best.npz")
    assert set(checkpoint) == {"model", "optimizer", "epoch"} and checkpoint["epoch"] >= 1


class _Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr is when a user runs fit interactively."""

    def isatty(self):
        return True


def test_verbose_progress_bar_shows_metrics(capsys, monkeypatch):
    x, y, _, _ = digits(64)
    model = mlp().compile(loss="cross_entropy", metrics=["accuracy"])
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    model.fit(x, y, epochs=1, batch_size=16, verbose=1)
    err = terminal.getvalue()
    assert "Epoch 1/1" in err and "loss=" in err and "accuracy=" in err and "sample/s" in err
    assert "Epoch 1/1" not in capsys.readouterr().out  # the bar only, no per-epoch line
    model.fit(x, y, epochs=1, verbose=2)
    assert "Epoch 1/1" in capsys.readouterr().out


EPOCH_LINE = re.compile(r"^Epoch (\d+)/3 - \d+\.\d\ds - loss: \d+\.\d{4} - accuracy: "
                        r"\d\.\d{4} - val_loss: \d+\.\d{4} - val_accuracy: \d\.\d{4}$")

FIT_INTO_A_PIPE = """
import hpnn, hpnn.nn as nn
x, y = hpnn.datasets.load_digits(flatten=True)
hpnn.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
model.compile(loss="cross_entropy", metrics=["accuracy"])
model.fit(x[:256], y[:256], epochs=3, batch_size=16, validation_data=(x[1400:], y[1400:]),
          verbose=1)
"""


def test_progress_in_a_log_is_one_line_per_epoch():
    """stdout and stderr are pipes (as when output goes to a log): no bar redrawn with
    carriage returns, but one Keras-style line per epoch."""
    package_root = pathlib.Path(hpnn.__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(package_root),
                                                       os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", FIT_INTO_A_PIPE], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "\r" not in result.stdout + result.stderr and "sample/s" not in result.stderr
    lines = result.stdout.splitlines()
    assert [EPOCH_LINE.match(line) is not None for line in lines] == [True] * 3, lines
    assert [int(EPOCH_LINE.match(line)[1]) for line in lines] == [1, 2, 3]


def test_fit_accepts_a_dataloader():
    x, y, _, _ = digits(64)
    loader = hpnn.data.DataLoader(hpnn.data.TensorDataset(x, y), batch_size=8, shuffle=True)
    model = mlp().compile(loss="cross_entropy")
    assert len(model.fit(loader, epochs=2, verbose=0).history["loss"]) == 2

"""Smoke tests: every example runs (quick mode) in a subprocess; the main job reaches 97%."""
import os
import pathlib
import subprocess
import sys

import pytest

import hpnn

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _env():
    env = dict(os.environ)
    package_root = pathlib.Path(hpnn.__file__).resolve().parents[1]  # the hpnn under test
    env["PYTHONPATH"] = os.pathsep.join([str(package_root), env.get("PYTHONPATH", "")])
    return env


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script):
    result = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                            text=True, env=_env(), timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip()


def test_there_are_examples():
    assert {p.stem for p in EXAMPLES} >= {"feedforward_mse", "cnn_digits", "elman_rnn",
                                          "mlp_binary"}


def test_main_job_reaches_97_percent(capsys):
    from hpnn.__main__ import run

    accuracy = run(["--verbose", "0"])
    out = capsys.readouterr().out
    assert out.startswith("hpnn ")  # show_config() first
    assert accuracy >= 0.97 and "test accuracy" in out


def test_console_entry_point_exits_cleanly():
    result = subprocess.run([sys.executable, "-m", "hpnn", "--epochs", "1", "--verbose", "0"],
                            capture_output=True, text=True, env=_env(), timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test accuracy" in result.stdout

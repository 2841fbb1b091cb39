"""Every example runs (quick mode) in a subprocess and reaches the result it states with its
default settings (each a few seconds); the main job reaches 97%."""
import os
import pathlib
import re
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


# The last line every example prints: "<metric>: <value> (stated: >= or <= <target>)"
STATED = re.compile(r"^(?P<metric>[a-z ]+): (?P<value>[-+0-9.e]+) "
                    r"\(stated: (?P<op>>=|<=) (?P<target>[-+0-9.e]+)\)$")


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_reaches_its_stated_result(script):
    """Default settings, as a user runs it: the parsed result is checked here, and --check
    must agree through the exit status."""
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True,
                            text=True, env=_env(), timeout=120)
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    match = STATED.match(last)
    assert match, f"last line does not state the result: {last!r}\n{result.stderr[-2000:]}"
    value, target = float(match["value"]), float(match["target"])
    reached = value >= target if match["op"] == ">=" else value <= target
    assert reached, f"{script.stem}: {last}"
    assert result.returncode == 0, result.stderr[-3000:]


def test_check_flag_fails_when_the_result_is_missed():
    """--quick (2 epochs) leaves the CNN far below its stated accuracy: --check must say so."""
    script = ROOT / "examples" / "cnn_digits.py"
    result = subprocess.run([sys.executable, str(script), "--quick", "--check"],
                            capture_output=True, text=True, env=_env(), timeout=120)
    assert result.returncode == 1 and "below the stated" in result.stderr


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


def test_cli_help_shows_defaults_in_plain_text():
    result = subprocess.run([sys.executable, "-m", "hpnn", "--help"], capture_output=True,
                            text=True, env=_env(), timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    text = result.stdout
    assert "``" not in text
    for option, default in [("--epochs", "12"), ("--batch-size", "32"), ("--lr", "0.003"),
                            ("--seed", "0"), ("--backend", "native"), ("--verbose", "1")]:
        assert option in text and f"(default: {default})" in text, option


def test_help_of_the_package_starts_with_an_overview():
    import pydoc

    text = pydoc.render_doc(hpnn, renderer=pydoc.plaintext)
    overview = text[:text.index("PACKAGE CONTENTS")]
    for topic in ("Tensor", "autograd", "hpnn.nn", "hpnn.optim", "hpnn.data", "datasets",
                  "fit", "hpnn.save", "hpnn.load", "hpnn.reference", "set_num_threads",
                  "no_grad"):
        assert topic in overview, topic
    assert "``" not in overview
    assert text.index("PACKAGE CONTENTS") < text.index("class Tensor")

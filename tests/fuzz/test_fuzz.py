"""The fuzz stage: hypothesis-drawn bad inputs through every public kernel, the raw bindings,
the frontend and hpnn.load, each batch in a subprocess (tests/fuzz/runner.py) so that a crash
or a hang fails the test with its reproducer (the log's last line) instead of killing pytest.
Seeds are fixed: every run makes the same calls. --fuzz-calls / HPNN_FUZZ_CALLS scales it."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("hypothesis", reason="the fuzz stage needs hypothesis (pip install hypothesis)")

from conftest import total_calls  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# Share of the calls per batch (kernels dominate: they are the C++ surface). Weights sum to 1.
BATCHES = {
    "kernels:activation": 0.12, "kernels:loss": 0.12, "kernels:conv": 0.12,
    "kernels:pool_norm": 0.12, "kernels:rnn": 0.1, "kernels:optim": 0.1, "raw": 0.16,
    "frontend": 0.11, "load": 0.05,
}
SEED = 20240613
# A batch of ~1500 small calls takes ~20 s on one busy core; a hang is far beyond this.
TIMEOUT_S = 240


@pytest.mark.parametrize("target", sorted(BATCHES))
def test_fuzz_batch(target, request, tmp_path):
    calls = max(int(total_calls(request.config) * BATCHES[target]), 1)
    log, failures = tmp_path / "calls.log", tmp_path / "failures.txt"
    command = [sys.executable, os.path.join(HERE, "runner.py"), target, str(SEED), str(calls),
               str(log), str(failures)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                              env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    except subprocess.TimeoutExpired:
        pytest.fail(f"{target}: hang (> {TIMEOUT_S} s) at: {_last_line(log)}")
    if done.returncode != 0:
        pytest.fail(f"{target}: process died (exit {done.returncode}) at:\n{_last_line(log)}\n"
                    f"replay: {sys.executable} {command[1]} --replay \"<case>\"\n"
                    f"{done.stderr[-3000:]}")
    found = failures.read_text().splitlines() if failures.exists() else []
    assert not found, f"{target}: {len(found)} failures:\n" + "\n".join(found[:40])
    made = sum(1 for _ in open(log))
    assert made >= calls * 0.9, f"{target}: only {made} of {calls} calls were made"


def _last_line(log):
    try:
        lines = log.read_text().splitlines()
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(no call logged)"

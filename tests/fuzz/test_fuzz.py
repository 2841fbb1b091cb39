"""The fuzz stage: hypothesis-drawn bad inputs through every public kernel, the raw bindings,
the frontend and hpnn.load, each batch in a subprocess (tests/fuzz/runner.py) so that a crash
or a hang fails the test with its reproducer (the log's last line) instead of killing pytest.
Seeds are fixed: every run makes the same calls. --fuzz-calls / HPNN_FUZZ_CALLS scales it.
The batches run side by side, one per CPU core (they are independent processes), so the stage
takes the wall time of its total CPU time divided by the cores."""
import concurrent.futures
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
# 30,000 calls take ~75 s of CPU in all (~2.5 ms a call), the largest batch ~20 s of one core
# (~40 s on a busy machine); a hang is far beyond this (one call that hangs ends its batch
# sooner: runner.CALL_TIMEOUT_S).
TIMEOUT_S = 400


def _run_batch(target, calls, folder):
    """(completed process or None on timeout, log path, failures path, command)."""
    os.makedirs(folder, exist_ok=True)
    log, failures = os.path.join(folder, "calls.log"), os.path.join(folder, "failures.txt")
    command = [sys.executable, os.path.join(HERE, "runner.py"), target, str(SEED), str(calls),
               log, failures]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                              env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    except subprocess.TimeoutExpired:
        done = None
    return done, log, failures, command


@pytest.fixture(scope="module")
def batches(request, tmp_path_factory):
    """{target: future of _run_batch}: every selected batch started at once, at most one per
    core running."""
    selected = sorted({item.callspec.params["target"] for item in request.session.items
                       if item.path == request.path and getattr(item, "callspec", None)})
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(os.cpu_count() or 1, 1))
    folder = tmp_path_factory.mktemp("fuzz")
    futures = {target: pool.submit(_run_batch, target, _calls(request.config, target),
                                   str(folder / target.replace(":", "_")))
               for target in selected}
    yield futures
    pool.shutdown(wait=True)


def _calls(config, target):
    return max(int(total_calls(config) * BATCHES[target]), 1)


@pytest.mark.parametrize("target", sorted(BATCHES))
def test_fuzz_batch(target, request, batches):
    done, log, failures, command = batches[target].result()
    if done is None:
        pytest.fail(f"{target}: hang (> {TIMEOUT_S} s) at: {_last_line(log)}")
    if done.returncode != 0:
        what = "hang (a call ran past runner.CALL_TIMEOUT_S)" if "Timeout (" in done.stderr \
            else f"process died (exit {done.returncode})"
        pytest.fail(f"{target}: {what} at:\n{_last_line(log)}\n"
                    f"replay: {sys.executable} {command[1]} --replay \"<case>\"\n"
                    f"{done.stderr[-3000:]}")
    found = open(failures).read().splitlines() if os.path.exists(failures) else []
    assert not found, f"{target}: {len(found)} failures:\n" + "\n".join(found[:40])
    made = sum(1 for _ in open(log))
    calls = _calls(request.config, target)
    assert made >= calls * 0.9, f"{target}: only {made} of {calls} calls were made"


def _last_line(log):
    try:
        with open(log) as lines:
            found = lines.read().splitlines()
    except OSError:
        return "(no log)"
    return found[-1] if found else "(no call logged)"


def test_every_public_kernel_is_in_a_fuzzed_family():
    """A kernel added without a family here (runner.FAMILIES) would never be mutated."""
    sys.path.insert(0, HERE)
    import runner
    fuzzed = {name for family in runner.FAMILIES for name in runner.family_kernels(family)}
    assert sorted(set(runner.fuzz_kernels.PUBLIC) - fuzzed) == []

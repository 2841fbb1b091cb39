"""Runs one batch of fuzzed calls in this process:

    python tests/fuzz/runner.py TARGET SEED CALLS LOG FAILURES
    python tests/fuzz/runner.py --replay "CASE"       # one case, e.g. a crash's last log line

TARGET is kernels:<family>, raw, frontend or load. Hypothesis draws each case (a tuple of plain
values) from a fixed seed, without shrinking or a database, so a batch is the same on every run.
Each case's repr and a description of its arguments go to LOG (unbuffered, before the call): if
the process dies, the log's last line is the reproducer. Failures that do not kill the process
(unclean exceptions, accepted bad input, wrong answers) are appended to FAILURES, one per line,
and the batch goes on."""
import ast
import faulthandler
import os
import sys

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

import fuzz_frontend
import fuzz_kernels
from fuzz_mutations import GEOMETRY

FAMILIES = {
    "activation": ("relu", "leaky", "sigmoid", "tanh", "gelu", "softmax", "log_softmax",
                   "masked_softmax"),
    "loss": ("mse", "bce", "cross", "nll"),
    "conv": ("conv2d",),
    "pool_norm": ("max_pool", "avg_pool", "global", "batch", "dropout", "gemm", "layer_norm",
                  "group_norm", "embedding"),
    "rnn": ("rnn", "lstm", "gru"),
    "optim": ("sgd", "adam", "rmsprop", "adagrad"),
}


def family_kernels(family):
    return [n for n in fuzz_kernels.PUBLIC if n.startswith(FAMILIES[family])]


# One call takes milliseconds (the largest: a reference twin's, ~50 ms on a busy core); a call
# still running after this long is a hang.
CALL_TIMEOUT_S = 30

# Mutations left out while a known crash they hit is being fixed (triage only, never in CI).
EXCLUDED = tuple(filter(None, os.environ.get("HPNN_FUZZ_EXCLUDE", "").split(",")))


def _mutations_for(r, arg):
    if r in ("array", "out", "index", "saved"):
        return ("valid",) + tuple(m for m in fuzz_kernels.ARRAY_MUTATIONS if m not in EXCLUDED)
    return ("valid", "python", "python", "python") if arg in GEOMETRY or r != "flag" else \
        ("valid", "python")


def kernel_cases(names):
    roles = {name: fuzz_kernels.argument_roles(name) for name in names}

    @st.composite
    def cases(draw):
        name = draw(st.sampled_from(names))
        arg = draw(st.sampled_from(sorted(roles[name])))
        mutation = draw(st.sampled_from(_mutations_for(roles[name][arg], arg)))
        return (name, arg, mutation, draw(st.integers(0, 2 ** 16)), draw(st.integers(0, 2 ** 20)))
    return cases()


def raw_cases(recorded):
    integer_positions = {b: fuzz_kernels.integer_positions(calls[0]) for b, calls in recorded.items()}

    geometric = sorted(b for b, calls in recorded.items()
                       if any(isinstance(calls[0][i], tuple) for i in integer_positions[b]))

    @st.composite
    def cases(draw):
        # Half the cases go to the bindings taking geometry or shape tuples (pooling, conv).
        binding = draw(st.sampled_from(geometric if draw(st.booleans()) else sorted(recorded)))
        # Half the cases break a geometry tuple, a shape or an integer scalar: the bindings'
        # index arithmetic lives there (a division by zero, reads out of bounds), and it is a
        # small share of all positions.
        positions = integer_positions[binding]
        position = draw(st.sampled_from(positions)) if positions and draw(st.booleans()) else \
            draw(st.integers(0, 20))
        return (binding, draw(st.integers(0, 7)), position,
                draw(st.sampled_from([m for m in fuzz_kernels.ARRAY_MUTATIONS
                                      if m not in EXCLUDED])),
                draw(st.integers(0, 2 ** 16)), draw(st.integers(0, 2 ** 20)))
    return cases()


class Log:
    def __init__(self, log_path, failures_path):
        self.fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.failures_path = failures_path
        self.count = 0

    def __call__(self, line):
        self.count += 1
        os.write(self.fd, (line.replace("\n", " ") + "\n").encode())

    def failure(self, case, message):
        with open(self.failures_path, "a") as out:
            out.write(f"{message} || replay: {case!r}\n")


def target_runner(target):
    """(hypothesis strategy, function(case, log) -> failure or None) for target."""
    if target.startswith("kernels:"):
        return kernel_cases(family_kernels(target.split(":", 1)[1])), fuzz_kernels.run
    if target == "raw":
        recorded = fuzz_kernels.record_raw_calls()
        return raw_cases(recorded), lambda case, log: fuzz_kernels.run_raw(case, recorded, log)
    return fuzz_frontend.STRATEGIES[target](), fuzz_frontend.RUNNERS[target]


def run_batch(target, batch_seed, calls, log):
    strategy, run_case = target_runner(target)

    @seed(batch_seed)
    @settings(max_examples=calls, database=None, deadline=None, derandomize=False,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def fuzz(case):
        # A hang dumps every thread's stack and ends the process: the test reports it with the
        # log's last line, without waiting for the whole batch's timeout.
        faulthandler.dump_traceback_later(CALL_TIMEOUT_S, exit=True)
        failure = run_case(case, log)
        faulthandler.cancel_dump_traceback_later()
        if failure:
            log.failure(case, failure)
    fuzz()


def replay(text):
    case = ast.literal_eval(text)
    target = "raw" if case[0] in fuzz_kernels.RAW_NAMES else \
        "kernels:any" if case[0] in fuzz_kernels.BUILDERS else case[0]
    log = Log("/dev/stderr", "/dev/stdout")
    if target == "raw":
        print(fuzz_kernels.run_raw(case, fuzz_kernels.record_raw_calls(), log))
    elif target == "kernels:any":
        print(fuzz_kernels.run(case, log))
    else:
        print(fuzz_frontend.RUNNERS[target](case, log))


def main(argv):
    np.seterr(all="ignore")
    if argv[0] == "--replay":
        return replay(argv[1])
    target, batch_seed, calls, log_path, failures_path = argv
    log = Log(log_path, failures_path)
    open(failures_path, "w").close()
    run_batch(target, int(batch_seed), int(calls), log)
    print(f"{target}: {log.count} calls")


if __name__ == "__main__":
    main(sys.argv[1:])

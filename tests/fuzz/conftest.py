import os


def pytest_addoption(parser):
    parser.addoption("--fuzz-calls", type=int, default=None,
                     help="total fuzzed calls per run (default: $HPNN_FUZZ_CALLS or 30000)")


def total_calls(config):
    option = config.getoption("--fuzz-calls")
    return option if option is not None else int(os.environ.get("HPNN_FUZZ_CALLS", "30000"))

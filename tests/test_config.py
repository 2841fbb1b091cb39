import os
import subprocess
import sys

import pytest

import hpnn


def run_python(code, **env):
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env)


def test_show_config_names_isa_threads_and_compiler(capsys):
    hpnn.show_config()
    out = capsys.readouterr().out
    assert f"isa:            {hpnn.get_isa()}" in out
    assert f"threads:        {hpnn.get_num_threads()}" in out
    assert "compiler:" in out and "flags:" in out and hpnn.__version__ in out


def test_generic_is_always_available_and_last():
    isas = hpnn.available_isas()
    assert isas[-1] == "generic" and hpnn.get_isa() in isas


def test_set_isa_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown ISA 'sse9'"):
        hpnn.set_isa("sse9")
    with pytest.raises(TypeError, match="'name'"):
        hpnn.set_isa(3)


def test_env_forces_generic_path():
    result = run_python("import hpnn; print(hpnn.get_isa())", HPNN_ISA="generic")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "generic"


def test_env_with_unknown_isa_fails_import_with_reason():
    result = run_python("import hpnn", HPNN_ISA="bogus")
    assert result.returncode != 0
    assert "unknown ISA 'bogus'" in result.stderr


def test_thread_count_follows_omp_num_threads():
    result = run_python("import hpnn; print(hpnn.get_num_threads())", OMP_NUM_THREADS="1")
    assert result.stdout.strip() == "1", result.stderr


def test_set_num_threads_round_trip_and_validation():
    previous = hpnn.get_num_threads()
    try:
        hpnn.set_num_threads(3)
        assert hpnn.get_num_threads() == 3
    finally:
        hpnn.set_num_threads(previous)
    for bad, error in [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError)]:
        with pytest.raises(error, match="'n'"):
            hpnn.set_num_threads(bad)

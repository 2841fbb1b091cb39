"""hpnn.save under kill -9: the target is always the old or the new complete checkpoint, and the
next save removes the temporaries that killed saves left behind."""
import os
import random
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

import hpnn
from hpnn import _atomic

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs fork and SIGKILL")

# A helper that imports hpnn once, then forks one saver per "fork" command (so no iteration
# pays for an import) and reaps it on "reap". A saver stops by itself after 60 s in case the
# test dies before it can kill it.
SAVER = r"""
import os, sys, time
import numpy as np
import hpnn

target, size = sys.argv[1], int(sys.argv[2])
for line in sys.stdin:
    command, argument = line.split()
    if command == "fork":
        pid = os.fork()
        if pid == 0:
            version, deadline = int(argument), time.monotonic() + 60
            while time.monotonic() < deadline:
                hpnn.save({"w": np.full(size, version, np.float32), "version": version,
                           "b": np.arange(size, dtype=np.float32) + version}, target)
                version += 1
            os._exit(0)
        print(pid, flush=True)
    else:
        print(os.waitpid(int(argument), 0)[1], flush=True)
"""
SIZE = 1 << 19  # two float32 arrays of 2 MiB: a save takes long enough to be killed mid-way


def checkpoint(version):
    return {"w": np.full(SIZE, version, np.float32), "version": version,
            "b": np.arange(SIZE, dtype=np.float32) + version}


def complete_version(loaded):
    """The version of a loaded checkpoint, after checking all of it is that version."""
    version = loaded["version"]
    np.testing.assert_array_equal(loaded["w"], np.full(SIZE, version, np.float32))
    np.testing.assert_array_equal(loaded["b"], np.arange(SIZE, dtype=np.float32) + version)
    return version


def temporaries(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


def test_kill_9_during_saves(tmp_path):
    target = tmp_path / "ckpt.npz"
    hpnn.save(checkpoint(0), target)
    helper = subprocess.Popen([sys.executable, "-c", SAVER, str(target), str(SIZE)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(command):
        helper.stdin.write(command + "\n")
        helper.stdin.flush()
        return int(helper.stdout.readline())

    rng = random.Random(1313)
    previous, killed_mid_save = 0, 0
    try:
        for iteration in range(1, 21):
            first = iteration * 10_000  # versions this saver writes (float32-exact)
            pid = ask(f"fork {first}")
            time.sleep(rng.uniform(0.0, 0.15))
            os.kill(pid, signal.SIGKILL)
            status = ask(f"reap {pid}")
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            killed_mid_save += bool(temporaries(tmp_path))
            version = complete_version(hpnn.load(target))
            assert version == previous or version >= first, (iteration, previous, version)
            previous = version
    finally:
        helper.stdin.close()
        helper.wait(timeout=30)
    assert killed_mid_save > 0  # else this test did not exercise what it claims
    hpnn.save(checkpoint(1), target)
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert complete_version(hpnn.load(target)) == 1


def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_only_this_targets_abandoned_temporaries_are_removed(tmp_path):
    dead, alive = dead_pid(), os.getpid()
    stale = [f".ckpt.npz.{dead}.k3j_x9a2.tmp", f".ckpt.npz.{alive}.oldoldol.tmp"]
    kept = [f".ckpt.npz.{alive}.inuse123.tmp",     # a save running now (another thread)
            f".other.npz.{dead}.k3j_x9a2.tmp",     # another target's
            f".ckpt.npz.5.{dead}.k3j_x9a2.tmp",    # target 'ckpt.npz.5'
            f".ckpt.npz.{dead}.k3j_x9a2.tmp.bak",  # not a temporary's name
            "ckpt.npz.tmp", "notes.txt"]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"partial")
    two_hours_ago = time.time() - 7200  # untouched that long: abandoned, whatever its pid
    os.utime(tmp_path / stale[1], (two_hours_ago, two_hours_ago))
    hpnn.save({"w": np.ones(3)}, tmp_path / "ckpt.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(kept + ["ckpt.npz"])


def test_temporary_names_match_the_cleanup_pattern(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(source, destination):
        seen.append(os.path.basename(source))
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", spy)
    hpnn.save({"w": np.ones(3)}, tmp_path / "m.npz")
    assert len(seen) == 1 and _atomic.temporary_pattern("m.npz").fullmatch(seen[0])
    assert f".{os.getpid()}." in seen[0]


def test_fsync_file_then_rename_then_fsync_directory(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(handle):
        is_dir = stat.S_ISDIR(os.fstat(handle).st_mode)
        events.append("fsync directory" if is_dir else "fsync file")
        real_fsync(handle)

    def replace(source, destination):
        events.append("rename")
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    hpnn.save({"w": np.ones(3)}, tmp_path / "m.npz")
    assert events == ["fsync file", "rename", "fsync directory"]

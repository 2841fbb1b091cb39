"""Atomic file replacement that cleans up after saves that died.

A save writes ``.<name>.<pid>.<random>.tmp`` beside the target, fsyncs it, renames it over the
target and fsyncs the directory, so the target is always the old or the new complete file. A
process killed mid-save leaves its temporary behind; the next save of the same target removes
the ones whose writer is gone.
"""
from __future__ import annotations

import errno
import os
import re
import tempfile
import time

# A live save keeps writing to its temporary; one untouched for an hour is abandoned even when
# its pid now belongs to another process (pids are reused) or lives on another host sharing the
# directory, where the pid check below means nothing.
_ABANDONED_AFTER_S = 3600.0
# Filesystems that cannot fsync a directory say so with these; the rename itself has happened.
_NO_DIRECTORY_FSYNC = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF}


def replace_atomically(path, write):
    """Write ``path`` through ``write(file)`` so that it is never seen half written."""
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    remove_stale_temporaries(directory, base)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{base}.{os.getpid()}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def temporary_pattern(base):
    """The names of ``base``'s temporaries; the random part has no dot, so no other target's
    temporaries match."""
    return re.compile(rf"\.{re.escape(base)}\.([0-9]+)\.[A-Za-z0-9_]+\.tmp")


def remove_stale_temporaries(directory, base):
    """Remove the temporaries of ``base`` left by saves that are no longer running."""
    pattern = temporary_pattern(base)
    try:
        names = os.listdir(directory)
    except OSError:
        return  # mkstemp will report an unusable directory
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        temporary = os.path.join(directory, name)
        try:
            if _abandoned(temporary, int(match[1])):
                os.remove(temporary)
        except OSError:
            pass  # removed by a concurrent save, or not ours to remove: the save goes on


def _abandoned(temporary, pid):
    if pid != os.getpid() and not _process_exists(pid):
        return True
    return time.time() - os.stat(temporary).st_mtime > _ABANDONED_AFTER_S


def _process_exists(pid):
    if os.name != "posix" or pid <= 0:
        return True  # no safe liveness probe (Windows' os.kill terminates): age decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a pid at all: age decides
    return True


def _fsync_directory(directory):
    """Make the rename itself durable: without this, a power cut can bring back the old name."""
    if os.name != "posix":
        return
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    except OSError as error:
        if error.errno not in _NO_DIRECTORY_FSYNC:
            raise
    finally:
        os.close(handle)

"""Process plumbing for the model server: detached spawn, liveness, argv, termination, file locks.

Linux-first (``/proc`` tells zombies and argv apart); elsewhere liveness falls back
to signal 0 and argv checks are skipped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
_HAS_PROC = Path("/proc/self/stat").exists()


def spawn_detached(argv: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session (it outlives us), output appended to ``log``."""
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True
    )
    _CHILDREN[proc.pid] = proc
    return proc


def pid_running(pid: int) -> bool:
    """Alive and not a zombie (children we spawned are reaped through ``poll``)."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _CHILDREN.pop(pid, None)
        return False
    if not _HAS_PROC:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def cmdline(pid: int) -> list[str] | None:
    """The argv of ``pid`` (empty if gone), or None where /proc is unavailable."""
    if not _HAS_PROC:
        return None
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0")]


def terminate_group(pid: int, grace_s: float = 10.0) -> None:
    """SIGTERM the process group led by ``pid``, SIGKILL it after ``grace_s``; wait until it is gone."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not pid_running(pid):
                return
            time.sleep(0.1)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock (``fcntl.flock`` on ``path``); a no-op where fcntl is missing."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)

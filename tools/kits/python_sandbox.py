"""Sandboxed Python: run a model's script in a separate, limited, throw-away interpreter."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import Field

from taskwarden.tools.kits import sandbox_child
from taskwarden.tools.kits.spec import kit_spec
from taskwarden.tools.registry import ToolSpec

CHILD = Path(sandbox_child.__file__)


@dataclass(frozen=True)
class SandboxResult:
    """What one run produced."""

    exit_status: int
    """The script's exit status; negative when a signal ended it (``-24``: SIGXCPU)."""
    stdout: str
    stderr: str
    limits_exceeded: list[str] = field(default_factory=list)
    """Plain-language limit violations, e.g. ``"CPU time limit of 5 s exceeded"``."""

    def to_json(self) -> str:
        data = asdict(self)
        if not self.limits_exceeded:
            del data["limits_exceeded"]
        return json.dumps(data, ensure_ascii=False)


@dataclass(frozen=True, kw_only=True)
class PythonSandbox:
    """Runs Python in a child interpreter (``-I -S -B``: standard library only, no environment,
    no user site) inside a fresh temporary directory that is deleted afterwards.

    Confinement, all best effort: CPU time, address space and file size limits (``setrlimit``);
    a wall-clock timeout that kills the child's whole process group; captured output capped per
    stream; an environment with nothing from the parent (no keys, no proxies); a new network
    namespace where the kernel allows one; and in every case an audit hook in the child that
    refuses sockets, name lookups, new processes, ``ctypes``, changes to files outside the
    working directory and reads outside it and the standard library (see `sandbox_child`).
    This is process isolation, not a security boundary like a container or a VM: run untrusted
    code in one of those.

    Risk: ``write``. The script's effects are meant to vanish with its directory, so it is close
    to read-only, but it is arbitrary code on this host and the isolation is not airtight; as a
    write the engine runs each call at most once (ledger) and policies can gate it.
    """

    cpu_seconds: int = 5
    memory_mb: int = 512
    """Address-space limit; the interpreter itself needs about 30 MB of it."""
    wall_seconds: float = 10.0
    max_output_bytes: int = 4000
    """Per stream; the start and the end are kept (a traceback's last line matters most)."""
    max_file_mb: int = 16
    """Largest file the script may write."""
    network_namespace: bool = True
    """Try to unshare the network namespace (needs root or unprivileged user namespaces)."""

    def __post_init__(self) -> None:
        for name in ("cpu_seconds", "memory_mb", "wall_seconds", "max_output_bytes", "max_file_mb"):
            if getattr(self, name) <= 0:
                raise ValueError(f"PythonSandbox.{name} must be positive, got {getattr(self, name)!r}")

    def run(self, code: str) -> SandboxResult:
        """Run `code` to completion or to its first limit; the working directory is always removed."""
        workdir, process = tempfile.mkdtemp(prefix="taskwarden-sandbox-"), None
        try:
            Path(workdir, sandbox_child.SCRIPT).write_text(code, encoding="utf-8")
            limits = {"cpu_seconds": self.cpu_seconds, "memory_bytes": self.memory_mb * 2**20,
                      "file_bytes": self.max_file_mb * 2**20, "network_namespace": self.network_namespace}
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", str(CHILD), workdir, json.dumps(limits)],
                cwd=workdir, env={"HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"},
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True)  # its own process group, so a timeout kills everything it started
            stdout, stderr, timed_out = _collect(process, time.monotonic() + self.wall_seconds, self.max_output_bytes)
        finally:
            if process is not None and process.returncode is None:  # interrupted while collecting
                _kill_group(process.pid)
                process.wait()
            _remove_tree(workdir)
        return SandboxResult(exit_status=process.returncode, stdout=stdout.text(), stderr=stderr.text(),
                             limits_exceeded=self._violations(process.returncode, timed_out, stdout, stderr))

    def run_python(self, code: Annotated[str, Field(description="A complete Python 3 script")]) -> str:
        """Run a Python 3 script and return its exit_status, stdout and stderr as JSON.

        The script runs in a fresh working directory that is deleted afterwards, so nothing it
        writes persists between calls, and it cannot read or write files elsewhere. Only the
        standard library is available (no pip packages, no sqlite3 or ctypes), and there is no
        network access and no subprocesses. Use print() to show results; an uncaught
        exception gives exit_status 1 and its traceback in stderr. A limit that was hit is named
        in limits_exceeded.
        """
        return self.run(code).to_json()

    def tools(self) -> list[ToolSpec]:
        limits = (f"Limits per call: {self.cpu_seconds} s of CPU time, {self.wall_seconds:g} s in all, "
                  f"{self.memory_mb} MB of memory, {self.max_output_bytes} bytes of output per stream.")
        return [kit_spec(self.run_python, risk="write", scopes=("python:execute",), limits=limits,
                         own_timeout_s=self.wall_seconds)]

    def _violations(self, status: int, timed_out: bool, stdout: _Capture, stderr: _Capture) -> list[str]:
        found = []
        if timed_out:
            found.append(f"wall-clock time limit of {self.wall_seconds:g} s exceeded")
        elif status in (-signal.SIGXCPU, -signal.SIGKILL):  # soft limit, then the hard one a second later
            found.append(f"CPU time limit of {self.cpu_seconds} s exceeded")
        elif status == sandbox_child.EXIT_MEMORY and "MemoryError" in stderr.text():
            found.append(f"memory limit of {self.memory_mb} MB exceeded")
        found += [f"output limit of {self.max_output_bytes} bytes exceeded: {name} truncated"
                  for name, capture in (("stdout", stdout), ("stderr", stderr)) if capture.omitted]
        return found


class _Capture:
    """Keeps the first and last `limit // 2` bytes of a stream and counts what it drops."""

    def __init__(self, limit: int) -> None:
        self.limit, self.head, self.tail, self.omitted = limit, bytearray(), bytearray(), 0

    def add(self, chunk: bytes) -> None:
        room = self.limit // 2 - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        excess = len(self.tail) - (self.limit - self.limit // 2)
        if excess > 0:
            del self.tail[:excess]
            self.omitted += excess

    def text(self) -> str:
        marker = f"\n[... {self.omitted} bytes omitted ...]\n" if self.omitted else ""
        return (bytes(self.head).decode("utf-8", "replace") + marker
                + bytes(self.tail).decode("utf-8", "replace"))


def _collect(process: subprocess.Popen, deadline: float, limit: int) -> tuple[_Capture, _Capture, bool]:
    """Drain both pipes without ever holding more than `limit` bytes each; kill at `deadline`."""
    stdout, stderr, timed_out = _Capture(limit), _Capture(limit), False
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, stdout)
        selector.register(process.stderr, selectors.EVENT_READ, stderr)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, 65536)
                if chunk:
                    key.data.add(chunk)
                else:
                    selector.unregister(key.fileobj)
    while not timed_out and not _exited(process):  # it may close its pipes and carry on
        timed_out = time.monotonic() >= deadline
        time.sleep(0.01)
    # Not yet reaped, so the group id cannot have been reused: kill whatever the script left behind.
    _kill_group(process.pid)
    process.wait()
    process.stdout.close()
    process.stderr.close()
    return stdout, stderr, timed_out


def _exited(process: subprocess.Popen) -> bool:
    """Whether the child has exited, without reaping it where the platform allows (not macOS < 3.13)."""
    if hasattr(os, "waitid"):
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    return process.poll() is not None


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _remove_tree(path: str) -> None:
    """Delete the working directory even where the script removed its own permissions."""

    def retry_writable(function, failed: str, _exc: object) -> None:
        os.chmod(os.path.dirname(failed), 0o700)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, 0o700)
        function(failed)

    handler = {"onexc" if sys.version_info >= (3, 12) else "onerror": retry_writable}
    shutil.rmtree(path, **handler)

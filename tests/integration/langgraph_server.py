"""Start a real `langgraph dev` server on a free loopback port for a test, and stop it afterwards."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def langgraph_cli() -> str:
    found = Path(sys.executable).with_name("langgraph")
    return str(found) if found.exists() else (shutil.which("langgraph") or pytest.skip("langgraph-cli is not installed"))


@contextlib.contextmanager
def langgraph_dev(home: Path, timeout: float = 90) -> Iterator[str]:
    """`langgraph dev` on this repository's langgraph.json with `home` as TASKWARDEN_HOME; yields its URL."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "langgraph-dev.log"
    env = {**os.environ, "TASKWARDEN_HOME": str(home), "LANGSMITH_TRACING": "false", "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([langgraph_cli(), "dev", "--host", "127.0.0.1", "--port", str(port), "--no-browser",
                                 "--no-reload", "--config", str(ROOT / "langgraph.json")],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"langgraph dev exited:\n{log_path.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    pytest.fail(f"langgraph dev did not answer in {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

"""Start a real LangGraph server on a free loopback port for a test, and stop it afterwards.

`langgraph_dev` runs `langgraph dev` on this repository's langgraph.json; `taskwarden_serve` runs
`taskwarden serve` (which runs `langgraph dev` in ``<home>/server``) on any configuration. Both run in
their own process group, which is stopped (SIGTERM, then SIGKILL) however the test ends.
"""

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
SERVER_FIXTURES = ROOT / "tests" / "fixtures" / "server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def langgraph_cli() -> str:
    found = Path(sys.executable).with_name("langgraph")
    return str(found) if found.exists() else (shutil.which("langgraph") or pytest.skip("langgraph-cli is not installed"))


def server_env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "TASKWARDEN_HOME": str(home), "LANGSMITH_TRACING": "false", "PYTHONUNBUFFERED": "1",
            "LANGGRAPH_CLI_NO_ANALYTICS": "1", **extra}


@contextlib.contextmanager
def running_server(command: list[str], *, cwd: Path, env: dict[str, str], url: str, log_path: Path,
                   timeout: float = 120) -> Iterator[subprocess.Popen]:
    """Run `command` in its own process group until ``url/ok`` answers; stop the group on exit."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"the server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not answer in {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
            yield proc
        finally:
            stop_group(proc)


def stop_group(proc: subprocess.Popen, timeout: float = 30) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # the group's other members (the server under `taskwarden serve`) go with it
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def langgraph_dev(home: Path, timeout: float = 90) -> Iterator[str]:
    """`langgraph dev` on this repository's langgraph.json with `home` as TASKWARDEN_HOME; yields its URL."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    command = [langgraph_cli(), "dev", "--host", "127.0.0.1", "--port", str(port), "--no-browser", "--no-reload",
               "--config", str(ROOT / "langgraph.json")]
    with running_server(command, cwd=ROOT, env=server_env(home), url=url, log_path=home / "langgraph-dev.log",
                        timeout=timeout):
        yield url


@contextlib.contextmanager
def taskwarden_serve(home: Path, config: Path | None = SERVER_FIXTURES / "langgraph.json", *, port: int | None = None,
                     env: dict[str, str] | None = None, timeout: float = 120) -> Iterator[str]:
    """`taskwarden serve --config CONFIG` with `home` as TASKWARDEN_HOME (default: the scripted refund desk);
    yields its URL. Its output goes to ``<home>/serve.log``."""
    langgraph_cli()  # skips when the server is not installed
    port = port or free_port()
    home.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "taskwarden.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
               *(["--config", str(config)] if config else [])]
    with running_server(command, cwd=home, env=server_env(home, **(env or {})), url=url,
                        log_path=home / "serve.log", timeout=timeout):
        yield url

"""Lifecycle of the embedded llama.cpp OpenAI-compatible server: start or reuse, inspect, stop.

One detached ``python -m llama_cpp.server`` per data home, recorded in
``data_home()/model/server.json`` (pid, port, base_url, model path) and logging to
``data_home()/model/server.log``.  ``ensure_server()`` reuses a healthy recorded
server, cleans a stale record (dead pid, or a pid now owned by another program),
and otherwise starts one on a free loopback port, retrying on a port race.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from taskwarden.models.errors import INSTALL_HINT, ModelServerError, ModelUnavailableError
from taskwarden.models.llama_main import NO_EXTRA_BUFTS
from taskwarden.models.process import cmdline, file_lock, pid_running, spawn_detached, terminate_group
from taskwarden.models.weights import MODEL_PATH_ENV, is_verified, resolve_model_path
from taskwarden.paths import data_home

HOST = "127.0.0.1"
CTX_ENV = "TASKWARDEN_LOCAL_MODEL_CTX"
DEFAULT_N_CTX = 8192
CACHE_ENV = "TASKWARDEN_LOCAL_PROMPT_CACHE_MB"
"""MB of earlier prompts' KV states the server keeps (``prefix_cache.PrefixStateCache``), so a prompt
sharing its start with any of them, not only the previous one, skips re-evaluating it; 0 turns it off."""
DEFAULT_CACHE_MB = 1024
START_TIMEOUT_S = 180.0
_START_ATTEMPTS = 3
_SERVER_MODULE = "taskwarden.models.llama_main"
_THREAD_GUARD = threading.Lock()


def state_dir() -> Path:
    """``data_home()/model``: state file, log and lock of the server."""
    path = data_home() / "model"
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_path() -> Path:
    """The JSON record of the running server."""
    return state_dir() / "server.json"


def log_path() -> Path:
    """Where the server's stdout and stderr go (appended across restarts)."""
    return state_dir() / "server.log"


def model_alias(model_path: Path | str) -> str:
    """The name the server reports for a GGUF (its file stem)."""
    return Path(model_path).stem


def ensure_server(timeout: float = START_TIMEOUT_S) -> str:
    """Return the base URL (``http://127.0.0.1:PORT/v1``) of a healthy server, starting one if needed."""
    with _start_lock():
        previous = _load_record()
        record = read_state()
        model_path = resolve_model_path()
        if record is not None:
            same_model = record.get("model_path") == str(model_path)
            if same_model and _wait_healthy_or_dead(record, timeout=min(timeout, 30.0)):
                return record["base_url"]
            if is_our_server(int(record["pid"]), int(record["port"])):
                terminate_group(int(record["pid"]))  # unresponsive, or serving another GGUF: replace it
            state_path().unlink(missing_ok=True)
        preferred = int(previous["port"]) if previous else None  # a restart keeps clients' base_url valid
        return _start(model_path, preferred_port=preferred, timeout=timeout)


def server_status() -> dict[str, Any]:
    """What runs: ``running``, ``healthy``, ``pid``, ``port``, ``base_url``, ``model_path``, ``verified``, ``log``."""
    record = read_state()
    status: dict[str, Any] = {
        "running": record is not None,
        "healthy": False,
        "pid": None,
        "port": None,
        "base_url": None,
        "model_path": None,
        "verified": None,
        "log": str(log_path()),
    }
    if record is None:
        return status
    status.update({k: record.get(k) for k in ("pid", "port", "base_url", "model_path")})
    status["healthy"] = is_healthy(record["base_url"])
    status["verified"] = None if record.get("override") else is_verified(Path(record["model_path"]))
    return status


def stop_server(grace_s: float = 10.0) -> bool:
    """Stop the recorded server (SIGTERM, then SIGKILL after ``grace_s``); True if one was running."""
    with _start_lock():
        record = read_state()
        state_path().unlink(missing_ok=True)
        if record is None:
            return False
        terminate_group(record["pid"], grace_s=grace_s)
        return True


def read_state() -> dict[str, Any] | None:
    """The state record if its process is still our server; a stale or unreadable record is removed."""
    record = _load_record()
    if record is None:
        state_path().unlink(missing_ok=True)
        return None
    if not is_our_server(int(record["pid"]), int(record["port"])):
        state_path().unlink(missing_ok=True)
        return None
    return record


def _load_record() -> dict[str, Any] | None:
    """The parsed state file (pid and port checked to be integers), alive or not."""
    try:
        record = json.loads(state_path().read_text())
        valid = (
            isinstance(record, dict) and int(record["pid"]) > 0 and int(record["port"]) > 0 and bool(record["base_url"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if valid else None


def is_our_server(pid: int, port: int) -> bool:
    """True when ``pid`` is alive (not a zombie) and runs our server launcher on ``port``."""
    if not pid_running(pid):
        return False
    args = cmdline(pid)
    return args is None or (_SERVER_MODULE in args and str(port) in args)


def is_healthy(base_url: str, timeout: float = 3.0) -> bool:
    """True when the server answers ``GET /openapi.json``.

    That route is served even while a request is decoding, unlike ``/v1/models``,
    which waits for the model lock; readiness of the model itself is checked once, at
    start, by a 1-token completion.
    """
    root = base_url.removesuffix("/").removesuffix("/v1")
    try:
        with httpx.Client(trust_env=False, timeout=timeout) as client:
            return client.get(f"{root}/openapi.json").status_code == 200
    except httpx.HTTPError:
        return False


def free_port() -> int:
    """A currently free loopback port (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def runtime_path() -> Path:
    """Remembered llama.cpp workarounds for this machine (e.g. extra buffers off after a SIGILL)."""
    return state_dir() / "runtime.json"


_CRASH_SIGNALS = frozenset({signal.SIGILL, signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE})
"""How ggml's AMX/repack kernels die on CPUs (or VMs) that advertise AMX but fault in it: SIGILL with
some builds, SIGSEGV with llama-cpp-python 0.3.36 (measured on a Xeon with AMX in a VM)."""


def extra_buffers_allowed() -> bool:
    """False once a server on this machine crashed (SIGILL, SIGSEGV...) with llama.cpp's extra (AMX/repack) buffers on."""
    try:
        return bool(json.loads(runtime_path().read_text()).get("extra_bufts", True))
    except (OSError, ValueError):
        return True


def prompt_cache_mb() -> int:
    """The prompt cache's size from ``TASKWARDEN_LOCAL_PROMPT_CACHE_MB`` (default 1024; 0 turns it off)."""
    raw = os.environ.get(CACHE_ENV, "").strip()
    if not raw:
        return DEFAULT_CACHE_MB
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ModelServerError(f"{CACHE_ENV}={raw!r}: expected a whole number of megabytes (0 turns the cache off)")
    return value


def llama_settings() -> dict[str, Any]:
    """llama.cpp settings of the server (also used by benchmarks for an identical in-process model)."""
    threads = os.cpu_count() or 1
    return {
        "n_ctx": int(os.environ.get(CTX_ENV) or DEFAULT_N_CTX),
        "n_threads": threads,
        "n_threads_batch": threads,
        "logits_all": False,  # the server defaults to True: logits for every prompt token, copied on each cache save
        "cache_size": prompt_cache_mb() << 20,
    }


def server_command(model_path: Path, port: int, extra_bufts: bool = True) -> list[str]:
    """The command line of the server: all cores, an 8k context, last-token logits only, a prompt cache."""
    settings = llama_settings()
    return [
        sys.executable, "-m", _SERVER_MODULE,
        "--model", str(model_path),
        "--model_alias", model_alias(model_path),
        "--host", HOST,
        "--port", str(port),
        "--n_ctx", str(settings["n_ctx"]),
        "--n_threads", str(settings["n_threads"]),
        "--n_threads_batch", str(settings["n_threads_batch"]),
        "--logits_all", str(settings["logits_all"]).lower(),
        *(["--cache", "true", "--cache_type", "ram", "--cache_size", str(settings["cache_size"])]
          if settings["cache_size"] else []),
        *([] if extra_bufts else [NO_EXTRA_BUFTS]),
    ]  # fmt: skip


def _start(model_path: Path, preferred_port: int | None, timeout: float) -> str:
    if importlib.util.find_spec("llama_cpp") is None:
        raise ModelUnavailableError(f"llama-cpp-python is not installed; {INSTALL_HINT}")
    extra_bufts = extra_buffers_allowed()
    last_error = ""
    for attempt in range(_START_ATTEMPTS):
        port = preferred_port if attempt == 0 and preferred_port else free_port()
        proc, offset = _spawn(model_path, port, extra_bufts)
        base_url = f"http://{HOST}:{port}/v1"
        outcome = _await_start(proc, base_url, offset, timeout)
        if outcome == "ok":
            _write_state(
                {
                    "pid": proc.pid,
                    "port": port,
                    "base_url": base_url,
                    "model_path": str(model_path),
                    "override": bool(os.environ.get(MODEL_PATH_ENV)),
                    "extra_bufts": extra_bufts,
                    "started_at": time.time(),
                }
            )
            return base_url
        last_error = outcome
        if extra_bufts and proc.returncode is not None and -proc.returncode in _CRASH_SIGNALS:
            extra_bufts = False  # ggml's AMX/repack path faults on this CPU: retry on plain buffers
            crash = signal.Signals(-proc.returncode).name
            runtime_path().write_text(json.dumps({"extra_bufts": False, "reason": f"{crash} with extra buffers"}))
            continue
        if "address already in use" not in outcome.lower():
            break
    raise ModelServerError(f"llama.cpp server failed to start: {last_error}")


def _spawn(model_path: Path, port: int, extra_bufts: bool) -> tuple[subprocess.Popen[bytes], int]:
    log = log_path()
    with log.open("ab") as fh:
        fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting on port {port}: {model_path}\n".encode())
        offset = fh.tell()
        proc = spawn_detached(server_command(model_path, port, extra_bufts), fh)
    return proc, offset


def _await_start(proc: subprocess.Popen[bytes], base_url: str, offset: int, timeout: float) -> str:
    """'ok' once healthy and a 1-token completion works; else a reason with the log tail (process gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return _exit_reason(proc, offset)
        if is_healthy(base_url, timeout=2.0):
            if _smoke_test(base_url, timeout=max(deadline - time.monotonic(), 5.0)):
                return "ok"
            if proc.poll() is None:
                time.sleep(0.5)
            if proc.poll() is not None:
                return _exit_reason(proc, offset)
            terminate_group(proc.pid)
            return f"a first 1-token completion failed; log tail:\n{_log_tail(offset)}"
        time.sleep(0.25)
    terminate_group(proc.pid)
    return f"not healthy after {timeout:.0f}s; log tail:\n{_log_tail(offset)}"


def _smoke_test(base_url: str, timeout: float) -> bool:
    """Decode one token: proves the weights load and the CPU kernels run (not just that HTTP answers)."""
    try:
        with httpx.Client(trust_env=False, timeout=timeout) as client:
            response = client.post(f"{base_url}/completions", json={"prompt": "Hello world. " * 32, "max_tokens": 1})
            return response.status_code == 200
    except httpx.HTTPError:
        return False


def _exit_reason(proc: subprocess.Popen[bytes], offset: int) -> str:
    code = proc.returncode
    how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
    return f"{how}; log tail:\n{_log_tail(offset)}"


def _wait_healthy_or_dead(record: dict[str, Any], timeout: float) -> bool:
    """A recorded live server may still be loading: give it ``timeout`` seconds to answer."""
    deadline = time.monotonic() + timeout
    while True:
        if is_healthy(record["base_url"]):
            return True
        if time.monotonic() >= deadline or not is_our_server(int(record["pid"]), int(record["port"])):
            return False
        time.sleep(0.5)


def _log_tail(offset: int, max_chars: int = 2000) -> str:
    try:
        with log_path().open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return text[-max_chars:].strip() or "(empty log)"


def _write_state(record: dict[str, Any]) -> None:
    tmp = state_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    os.replace(tmp, state_path())


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    """Serialize start/stop across threads (a mutex) and processes (``flock`` on ``server.lock``)."""
    with _THREAD_GUARD, file_lock(state_dir() / "server.lock"):
        yield

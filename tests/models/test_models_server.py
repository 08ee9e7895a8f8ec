"""Server state-file bookkeeping and start/retry logic, without sockets or a real model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from taskwarden.models import server
from taskwarden.models.errors import ModelServerError


def _write_state(**record):
    server.state_path().write_text(json.dumps({"base_url": f"http://127.0.0.1:{record['port']}/v1", **record}))


@pytest.fixture
def fake_server_process():
    """A sleeping process whose argv looks like our launcher on port 45678 (its own session)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "taskwarden.models.llama_main", "--port", "45678"],
        start_new_session=True,
    )
    deadline = time.monotonic() + 10  # on a loaded machine the child may not show its argv at once
    while not server.is_our_server(proc.pid, 45678) and time.monotonic() < deadline:
        time.sleep(0.05)
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_no_state_means_not_running():
    assert server.read_state() is None
    assert server.server_status()["running"] is False
    assert server.stop_server() is False


def test_dead_pid_record_is_cleaned():
    proc = subprocess.Popen(["true"])
    proc.wait()
    _write_state(pid=proc.pid, port=45678, model_path="/m.gguf")
    assert server.read_state() is None
    assert not server.state_path().exists()


def test_pid_reused_by_another_program_is_stale_and_left_alone():
    _write_state(pid=os.getpid(), port=45678, model_path="/m.gguf")
    assert server.read_state() is None
    assert not server.state_path().exists()
    assert server.stop_server() is False  # and we are still alive


def test_unreadable_state_is_removed():
    server.state_path().write_text("{not json")
    assert server.read_state() is None
    assert not server.state_path().exists()


def test_live_record_is_reported_and_stop_terminates_the_group(fake_server_process, monkeypatch):
    _write_state(pid=fake_server_process.pid, port=45678, model_path="/m.gguf", override=True)
    monkeypatch.setattr(server, "is_healthy", lambda url, timeout=3.0: False)
    status = server.server_status()
    assert status["running"] and status["pid"] == fake_server_process.pid and status["port"] == 45678
    assert status["healthy"] is False and status["verified"] is None

    assert server.stop_server(grace_s=5.0) is True
    assert fake_server_process.wait(timeout=5) == -signal.SIGTERM
    assert not server.state_path().exists()


def test_ensure_server_reuses_a_healthy_record(fake_server_process, monkeypatch, tmp_path):
    _write_state(pid=fake_server_process.pid, port=45678, model_path=str(tmp_path / "m.gguf"))
    monkeypatch.setattr(server, "resolve_model_path", lambda: tmp_path / "m.gguf")
    monkeypatch.setattr(server, "is_healthy", lambda url, timeout=3.0: True)
    monkeypatch.setattr(server, "_start", lambda *a, **k: pytest.fail("started a second server"))
    assert server.ensure_server() == "http://127.0.0.1:45678/v1"


def test_ensure_server_replaces_a_server_running_another_model(fake_server_process, monkeypatch, tmp_path):
    _write_state(pid=fake_server_process.pid, port=45678, model_path="/other.gguf")
    monkeypatch.setattr(server, "resolve_model_path", lambda: tmp_path / "m.gguf")
    monkeypatch.setattr(server, "is_healthy", lambda url, timeout=3.0: True)
    monkeypatch.setattr(server, "_start", lambda model_path, preferred_port, timeout: f"started {model_path.name}")
    assert server.ensure_server() == "started m.gguf"
    assert fake_server_process.wait(timeout=15) == -signal.SIGTERM


def test_ensure_server_replaces_a_stale_record_preferring_its_port(monkeypatch, tmp_path):
    proc = subprocess.Popen(["true"])
    proc.wait()
    _write_state(pid=proc.pid, port=45999, model_path="/m.gguf")
    started = {}
    monkeypatch.setattr(server, "resolve_model_path", lambda: tmp_path / "m.gguf")

    def fake_start(model_path, preferred_port, timeout):
        started.update(model_path=model_path, preferred_port=preferred_port)
        return "http://127.0.0.1:45999/v1"

    monkeypatch.setattr(server, "_start", fake_start)
    assert server.ensure_server() == "http://127.0.0.1:45999/v1"
    assert started == {"model_path": tmp_path / "m.gguf", "preferred_port": 45999}


class _Scripted:
    """Replaces _spawn/_await_start: each start attempt takes the next (outcome, returncode)."""

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.spawned = []

    def spawn(self, model_path, port, extra_bufts):
        self.spawned.append((port, extra_bufts))
        return SimpleNamespace(pid=99999, returncode=None), 0

    def await_start(self, proc, base_url, offset, timeout):
        outcome, proc.returncode = self.outcomes.pop(0)
        return outcome


@pytest.fixture
def scripted_start(monkeypatch):
    def install(outcomes):
        fake = _Scripted(outcomes)
        ports = iter(range(50001, 50010))
        monkeypatch.setattr(server, "_spawn", fake.spawn)
        monkeypatch.setattr(server, "_await_start", fake.await_start)
        monkeypatch.setattr(server, "free_port", lambda: next(ports))
        return fake

    return install


def test_port_race_retries_on_another_port(scripted_start, tmp_path):
    fake = scripted_start([("exited with code 1; log tail:\n[Errno 98] address already in use", 1), ("ok", None)])
    url = server._start(tmp_path / "m.gguf", preferred_port=40000, timeout=1)
    assert [port for port, _ in fake.spawned] == [40000, 50001]
    assert url == "http://127.0.0.1:50001/v1"
    assert json.loads(server.state_path().read_text())["port"] == 50001


@pytest.mark.parametrize("crash", [signal.SIGILL, signal.SIGSEGV])
def test_a_crash_with_extra_buffers_retries_without_and_remembers(scripted_start, tmp_path, crash):
    fake = scripted_start([(f"killed by signal {int(crash)}", -crash), ("ok", None)])
    server._start(tmp_path / "m.gguf", preferred_port=None, timeout=1)
    assert [extra for _, extra in fake.spawned] == [True, False]
    assert server.extra_buffers_allowed() is False
    assert crash.name in json.loads(server.runtime_path().read_text())["reason"]
    assert "--no-extra-bufts" in server.server_command(tmp_path / "m.gguf", 1, server.extra_buffers_allowed())


def test_other_start_failures_raise_with_the_reason(scripted_start, tmp_path):
    scripted_start([("exited with code 1; log tail:\nValueError: Failed to load model", 1)])
    with pytest.raises(ModelServerError, match="Failed to load model"):
        server._start(tmp_path / "m.gguf", preferred_port=None, timeout=1)
    assert not server.state_path().exists()


def test_server_command_uses_all_cores_a_large_context_and_a_prompt_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(server.CACHE_ENV, raising=False)
    cmd = server.server_command(tmp_path / "qwen.gguf", 41000)
    args = dict(zip(cmd[3::2], cmd[4::2], strict=False))
    assert cmd[1:3] == ["-m", "taskwarden.models.llama_main"]
    assert args["--host"] == "127.0.0.1" and args["--port"] == "41000"
    assert args["--n_threads"] == str(os.cpu_count()) and int(args["--n_ctx"]) >= 4096
    assert args["--model_alias"] == "qwen"
    assert args["--cache"] == "true" and args["--cache_type"] == "ram"
    assert args["--cache_size"] == str(server.DEFAULT_CACHE_MB << 20)
    assert "--no-extra-bufts" not in cmd
    monkeypatch.setenv(server.CACHE_ENV, "256")
    args = dict(zip(*[iter(server.server_command(tmp_path / "qwen.gguf", 41000)[3:])] * 2, strict=False))
    assert args["--cache"] == "true" and args["--cache_size"] == str(256 << 20)
    monkeypatch.setenv(server.CACHE_ENV, "0")
    assert "--cache" not in server.server_command(tmp_path / "qwen.gguf", 41000)


@pytest.mark.parametrize("value", ["-1", "1GB", "1.5"])
def test_a_bad_prompt_cache_size_is_refused_with_the_variable_named(value, tmp_path, monkeypatch):
    monkeypatch.setenv(server.CACHE_ENV, value)
    with pytest.raises(ModelServerError, match=rf"{server.CACHE_ENV}=.*whole number of megabytes"):
        server.server_command(tmp_path / "qwen.gguf", 41000)


def test_wait_for_a_loading_server_gives_up_when_it_dies(monkeypatch):
    proc = subprocess.Popen(["true"])
    proc.wait()
    monkeypatch.setattr(server, "is_healthy", lambda url, timeout=3.0: False)
    started = time.monotonic()
    assert server._wait_healthy_or_dead({"pid": proc.pid, "port": 1, "base_url": "http://x"}, timeout=10) is False
    assert time.monotonic() - started < 2

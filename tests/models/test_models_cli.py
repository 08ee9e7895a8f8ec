"""``taskwarden model status|start|stop``."""

from __future__ import annotations

import argparse

import pytest

from taskwarden.models import cli, server
from taskwarden.models.errors import ModelServerError, ModelUnavailableError


def _run(argv):
    parser = argparse.ArgumentParser(prog="taskwarden")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_status_when_stopped(capsys):
    assert _run(["model", "status"]) == 0
    assert capsys.readouterr().out.startswith("model server: not running")


def test_status_when_running(monkeypatch, capsys):
    monkeypatch.setattr(server, "server_status", lambda: {
        "running": True, "healthy": True, "pid": 42, "port": 5000, "base_url": "http://127.0.0.1:5000/v1",
        "model_path": "/m.gguf", "verified": True, "log": "/l",
    })  # fmt: skip
    assert _run(["model", "status"]) == 0
    line = capsys.readouterr().out.strip()
    assert line == "model server: running, healthy, pid 42, port 5000, model /m.gguf, verified yes"


def test_start_and_stop(monkeypatch, capsys):
    monkeypatch.setattr(server, "ensure_server", lambda: "http://127.0.0.1:5000/v1")
    monkeypatch.setattr(server, "read_state", lambda: {"pid": 42})
    monkeypatch.setattr(server, "stop_server", lambda: True)
    assert _run(["model", "start"]) == 0
    assert _run(["model", "stop"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["model server: ready at http://127.0.0.1:5000/v1 (pid 42)", "model server: stopped"]


@pytest.mark.parametrize(
    "error",
    [
        ModelUnavailableError("embedded model parts not installed; install ..."),
        ModelServerError("failed to start: boom; log tail:\nmore"),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_code_2(monkeypatch, capsys, error):
    def fail():
        raise error

    monkeypatch.setattr(server, "ensure_server", fail)
    assert _run(["model", "start"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith("error: ")


def test_an_action_is_required():
    with pytest.raises(SystemExit):
        _run(["model"])

"""Shared fixtures. Unit tests run with sockets blocked; `integration` tests may use loopback."""

from __future__ import annotations

import pytest
import pytest_socket


@pytest.fixture(autouse=True)
def _block_network(request: pytest.FixtureRequest):
    """No network in unit tests (unix sockets stay allowed for asyncio internals)."""
    if request.node.get_closest_marker("integration"):
        pytest_socket.enable_socket()
        yield
        return
    pytest_socket.disable_socket(allow_unix_socket=True)
    yield
    pytest_socket.enable_socket()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private data directory for the test (checkpoints, ledger, demo databases)."""
    path = tmp_path / "home"
    monkeypatch.setenv("TASKWARDEN_HOME", str(path))
    return path

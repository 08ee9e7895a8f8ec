"""Integration fixtures: one real embedded-model server for the whole session, stopped at the end."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def model_home(tmp_path_factory):
    """The session's data directory for the model cache and server state (per-test data lives in tmp_path)."""
    home = tmp_path_factory.mktemp("model-home")
    previous = os.environ.get("TASKWARDEN_HOME")
    os.environ["TASKWARDEN_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("TASKWARDEN_HOME", None)
    else:
        os.environ["TASKWARDEN_HOME"] = previous


@pytest.fixture(scope="session")
def local_server(model_home):
    """Starts (or reuses) the embedded model server; stops it after the session."""
    from taskwarden.models.server import ensure_server, stop_server

    base_url = ensure_server()
    yield base_url
    stop_server()

"""Where the server keeps its state: everything under ``<data dir>/server``.

    checkpoints.db    run state (the server's checkpointer: paused runs survive a restart)
    triggers.db       deliveries already received (webhooks, watched files): one run per event
    langgraph.json    the configuration `taskwarden serve` runs (paths made absolute)
    .langgraph_api/   the LangGraph runtime's own records (threads, runs, crons), kept by `langgraph dev`

The long-term memory store stays where the CLI keeps it (``<data dir>/memory``), so the server, the
CLI and notebooks share what runs have learnt.
"""

from __future__ import annotations

from pathlib import Path

from taskwarden.paths import data_home


def server_home() -> Path:
    """``<data dir>/server``, created on first use."""
    path = data_home() / "server"
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoint_path() -> Path:
    return server_home() / "checkpoints.db"


def triggers_path() -> Path:
    return server_home() / "triggers.db"


def memory_path() -> Path:
    return data_home() / "memory"

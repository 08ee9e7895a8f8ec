"""Durable run state: a SQLite (WAL) checkpointer and the ledger, under the data directory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver

from taskwarden.paths import data_home
from taskwarden.tools.ledger import Ledger


def checkpoint_path() -> Path:
    return data_home() / "checkpoints.db"


def sqlite_checkpointer(path: str | Path | None = None) -> SqliteSaver:
    """A checkpointer on `path` (default: ``<data dir>/checkpoints.db``) in WAL mode, safe across threads."""
    path = Path(path) if path else checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver


def default_ledger() -> Ledger:
    return Ledger(data_home() / "ledger.db")

"""The run index: which workflow each thread runs, its request and its last known status."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from taskwarden.paths import data_home

_SCHEMA = """CREATE TABLE IF NOT EXISTS runs (
    thread_id TEXT PRIMARY KEY, workflow TEXT NOT NULL, request TEXT NOT NULL,
    status TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL)"""


@dataclass(frozen=True)
class RunRow:
    thread_id: str
    workflow: str
    request: str
    status: str
    created_at: float
    updated_at: float


class RunIndex:
    """A small SQLite table beside the checkpoints; the checkpoints stay the source of truth for state."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else data_home() / "runs.db"
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def record(self, thread_id: str, workflow: str, request: str, status: str) -> None:
        now = time.time()
        with closing(self._conn()) as conn, conn:
            conn.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(thread_id) DO UPDATE SET "
                "request = excluded.request, status = excluded.status, updated_at = excluded.updated_at",
                (thread_id, workflow, request, status, now, now))

    def set_status(self, thread_id: str, status: str) -> None:
        with closing(self._conn()) as conn, conn:
            conn.execute("UPDATE runs SET status = ?, updated_at = ? WHERE thread_id = ?", (status, time.time(), thread_id))

    def get(self, thread_id: str) -> RunRow | None:
        with closing(self._conn()) as conn:
            row = conn.execute("SELECT * FROM runs WHERE thread_id = ?", (thread_id,)).fetchone()
        return RunRow(*row) if row else None

    def all(self, status: str | None = None, limit: int = 50) -> list[RunRow]:
        query = "SELECT * FROM runs" + (" WHERE status = ?" if status else "") + " ORDER BY updated_at DESC LIMIT ?"
        with closing(self._conn()) as conn:
            rows = conn.execute(query, (status, limit) if status else (limit,)).fetchall()
        return [RunRow(*row) for row in rows]

"""The delivery log: every trigger event (webhook, watched file) received, so that one event starts one run.

A SQLite table (WAL) under ``<data dir>/server/triggers.db`` keyed by the event's dedup key. Claiming
is one ``INSERT OR IGNORE`` on that primary key, so of two deliveries racing (threads, processes)
exactly one wins; the other sees the winner's thread and run. A claim whose run never got recorded
(the server stopped in between) goes stale after `stale_after` seconds and may be claimed again; the
caller then looks for a run on the thread before starting one.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    trigger TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    run_id TEXT,
    claimed_at REAL NOT NULL,
    started_at REAL
);
"""
COLUMNS = "key, workflow, trigger, thread_id, run_id, claimed_at, started_at"


@dataclass(frozen=True)
class Delivery:
    key: str
    workflow: str
    trigger: str
    thread_id: str
    run_id: str | None
    """None while the run is being started."""
    claimed_at: float
    started_at: float | None


@dataclass(frozen=True)
class Claim:
    """The outcome of `DeliveryLog.claim`: whether this caller owns the event, and its record."""

    won: bool
    delivery: Delivery
    retry: bool = False
    """The claim took over a stale one: a run may exist already (look at the thread first)."""


class DeliveryLog:
    def __init__(self, path: str | Path, *, stale_after: float = 300.0) -> None:
        self.path = Path(path)
        self.stale_after = stale_after
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn, conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get(self, key: str) -> Delivery | None:
        with closing(self._connect()) as conn:
            row = conn.execute(f"SELECT {COLUMNS} FROM deliveries WHERE key = ?", (key,)).fetchone()
        return Delivery(*row) if row else None

    def seen(self, key: str) -> bool:
        return self.get(key) is not None

    def claim(self, key: str, workflow: str, trigger: str, thread_id: str) -> Claim:
        """Claim `key` for one run on `thread_id`; `won` is False when another delivery has it."""
        while True:
            now = time.time()
            with closing(self._connect()) as conn, conn:
                inserted = conn.execute(
                    "INSERT OR IGNORE INTO deliveries (key, workflow, trigger, thread_id, claimed_at) "
                    "VALUES (?, ?, ?, ?, ?)", (key, workflow, trigger, thread_id, now)).rowcount
            if inserted:
                return Claim(True, Delivery(key, workflow, trigger, thread_id, None, now, None))
            existing = self.get(key)
            if existing is None:  # released in between: claim again
                continue
            if existing.run_id is not None or now - existing.claimed_at < self.stale_after:
                return Claim(False, existing)
            with closing(self._connect()) as conn, conn:
                taken = conn.execute("UPDATE deliveries SET claimed_at = ? WHERE key = ? AND run_id IS NULL "
                                     "AND claimed_at = ?", (now, key, existing.claimed_at)).rowcount
            if taken:
                return Claim(True, Delivery(key, workflow, trigger, existing.thread_id, None, now, None), retry=True)

    def started(self, key: str, run_id: str) -> None:
        """Record the run the claim started."""
        with closing(self._connect()) as conn, conn:
            conn.execute("UPDATE deliveries SET run_id = ?, started_at = ? WHERE key = ?", (run_id, time.time(), key))

    def release(self, key: str) -> None:
        """Give a claim back (its run could not be started), so that a redelivery can try again."""
        with closing(self._connect()) as conn, conn:
            conn.execute("DELETE FROM deliveries WHERE key = ? AND run_id IS NULL", (key,))

    def recent(self, limit: int = 50) -> list[Delivery]:
        """The latest deliveries, newest first."""
        with closing(self._connect()) as conn:
            rows = conn.execute(f"SELECT {COLUMNS} FROM deliveries ORDER BY claimed_at DESC LIMIT ?",
                                (limit,)).fetchall()
        return [Delivery(*row) for row in rows]

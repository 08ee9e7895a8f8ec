"""Idempotency ledger: a side-effecting tool call runs at most once per idempotency key.

LangGraph re-runs a node from its start when a run resumes, and a process can die between a
tool's side effect and the next checkpoint. The ledger records a call *before* it runs and its
result *after*, so a replay returns the recorded result instead of repeating the effect, and a
call that started but never recorded a result is reconciled instead of blindly retried.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    key TEXT PRIMARY KEY,
    tool TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('started', 'done', 'failed')),
    result TEXT,
    started_at REAL NOT NULL,
    finished_at REAL
)
"""


class UncertainExecution(RuntimeError):
    """A side-effecting call whose effect is unknown: it started earlier but never recorded a result
    and cannot be reconciled, or it ran past its deadline (it may still commit)."""


@dataclass(frozen=True)
class LedgerOutcome:
    result: str
    replayed: bool
    """True when the result came from the ledger (the effect had already happened)."""


class Ledger:
    """A durable SQLite (WAL) ledger of side-effecting tool calls."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn, conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def lookup(self, key: str) -> dict[str, Any] | None:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT tool, args, status, result FROM ledger WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return {"tool": row[0], "args": json.loads(row[1]), "status": row[2], "result": row[3]}

    def entries(self) -> list[dict[str, Any]]:
        with closing(self._connect()) as conn:
            rows = conn.execute("SELECT key, tool, args, status, result FROM ledger ORDER BY started_at").fetchall()
        return [{"key": r[0], "tool": r[1], "args": json.loads(r[2]), "status": r[3], "result": r[4]} for r in rows]

    def run_once(self, key: str, tool: str, args: dict[str, Any], execute: Callable[[], str],
                 reconcile: Callable[[dict[str, Any]], str | None] | None = None) -> LedgerOutcome:
        """Run `execute` unless `key` already ran; record before and after.

        A key found `done` returns its recorded result. A key found `started` (the process died
        mid-call, or the call timed out) is passed to `reconcile(args)`: a result means the effect
        happened (recorded and returned), None means it did not (executed now); with no
        `reconcile`, `UncertainExecution`. A key found `failed` runs again (its error ended the last try).

        If `execute` itself raises `UncertainExecution` (e.g. it ran past its deadline), the key
        stays `started`, with the reason in its result, so the next call reconciles it.
        """
        previous = self.lookup(key)
        if previous and previous["status"] == "done":
            return LedgerOutcome(result=previous["result"], replayed=True)
        if previous and previous["status"] == "started":
            observed = reconcile(args) if reconcile else _raise_uncertain(key, tool)
            if observed is not None:
                self._finish(key, "done", observed)
                return LedgerOutcome(result=observed, replayed=True)
        self._start(key, tool, args)
        try:
            result = execute()
        except UncertainExecution as exc:
            self._mark_uncertain(key, str(exc))
            raise
        except Exception as exc:
            self._finish(key, "failed", f"{type(exc).__name__}: {exc}")
            raise
        self._finish(key, "done", result)
        return LedgerOutcome(result=result, replayed=False)

    def _start(self, key: str, tool: str, args: dict[str, Any]) -> None:
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT INTO ledger (key, tool, args, status, started_at) VALUES (?, ?, ?, 'started', ?) "
                "ON CONFLICT(key) DO UPDATE SET status = 'started', started_at = excluded.started_at",
                (key, tool, json.dumps(args, sort_keys=True, default=str), time.time()),
            )

    def _mark_uncertain(self, key: str, why: str) -> None:
        """Keep `key` started (its effect unknown) and note why, for audits and reconciliation."""
        with closing(self._connect()) as conn, conn:
            conn.execute("UPDATE ledger SET result = ? WHERE key = ? AND status = 'started'", (f"uncertain: {why}", key))

    def _finish(self, key: str, status: str, result: str) -> None:
        with closing(self._connect()) as conn, conn:
            conn.execute("UPDATE ledger SET status = ?, result = ?, finished_at = ? WHERE key = ?",
                         (status, result, time.time(), key))


def _raise_uncertain(key: str, tool: str) -> None:
    raise UncertainExecution(
        f"{tool} (key {key}) started earlier but its result was never recorded, and the tool has no "
        "reconcile hook: a human must check whether the effect happened"
    )

"""The audit trail: an append-only SQLite record of what every run did, queryable per thread.

`emit` (graph/events.py) appends each event of a run to the audit log of its thread: the input
(`run_started`), the plan, every model call (role, model, tokens, cost, latency), tool call, policy
decision, tool result, review request and human decision, evaluations and the outcome. Payloads
are redacted (``[EMAIL]``, ``[CARD]``...; tools/redact.py) before they are written.

Append-only: there is no update or delete here, and triggers make SQLite abort any UPDATE or DELETE
on the table. (Whoever can write the file can still replace it: ship the rows elsewhere when the
trail must be tamper-evident.)

Where: ``build_workflow(..., audit=AuditLog(path))`` for one compiled graph, ``audit=None`` for no
audit; by default (and for graphs compiled elsewhere, e.g. by a server) ``<data dir>/audit.db``.

Replays: LangGraph re-runs a node from its start when a run resumes after an interrupt, so a node
emits again what it emitted before the interrupt (the review request, the policy decisions). Each
event carries a replay key: the node's task path, its position among the events of that node
execution, its kind and its redacted payload. A replayed event is recorded once; an event that
differs (a model call made again after a failure, with its own latency) is recorded again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from taskwarden.paths import data_home
from taskwarden.tools.redact import redact_value

log = logging.getLogger(__name__)

AUDIT_KEY = "__taskwarden_audit"
"""The configurable key a compiled graph carries its `AuditLog` in (None: no audit). Keys starting
with ``__`` stay out of checkpoint metadata and traces."""
RUN_STARTS = ("run_started", "invalid_request")
"""Events that begin a new run on a thread (the `run` number counts them)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id TEXT NOT NULL,
    run INTEGER NOT NULL,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    node TEXT,
    task_id TEXT,
    payload TEXT NOT NULL,
    replay_key TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS audit_by_thread ON audit (thread_id, id);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class AuditWriteError(RuntimeError):
    """An event could not be recorded; the run stops at its last checkpoint (fail closed)."""


@dataclass(frozen=True)
class AuditEntry:
    id: int
    thread_id: str
    run: int
    """The run on the thread, 1 for the first (a thread can carry several runs)."""
    ts: float
    kind: str
    node: str | None
    task_id: str | None
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ThreadSummary:
    thread_id: str
    runs: int
    entries: int
    first_ts: float
    last_ts: float


class AuditLog:
    """The audit table in a SQLite (WAL) file; each append is its own committed, synced transaction.

    One connection, shared by the run's threads under a lock (opening one per event costs a WAL
    checkpoint on every close); other processes append to the same file concurrently.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        with self._conn:
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def append(self, thread_id: str, kind: str, payload: dict[str, Any], *, node: str | None = None,
               task_id: str | None = None, replay_key: str | None = None) -> bool:
        """Record one event (its payload redacted); False when `replay_key` shows it is already recorded.

        Raises `AuditWriteError` when the database cannot be written.
        """
        redacted = redact_value(payload)
        data = json.dumps(redacted, default=str)
        key = None
        if replay_key is not None:
            canonical = json.dumps(redacted, sort_keys=True, default=str)
            key = hashlib.sha256(f"{thread_id}\x1f{replay_key}\x1f{kind}\x1f{canonical}".encode()).hexdigest()
        try:
            with self._lock, self._conn as conn:
                cursor = conn.execute(
                    "INSERT INTO audit (thread_id, run, ts, kind, node, task_id, payload, replay_key) "
                    "SELECT ?, COALESCE(MAX(run), 0) + ?, ?, ?, ?, ?, ?, ? FROM audit WHERE thread_id = ? "
                    "ON CONFLICT (replay_key) DO NOTHING",
                    (thread_id, int(kind in RUN_STARTS), time.time(), kind, node, task_id, data, key, thread_id))
                return cursor.rowcount == 1
        except sqlite3.Error as exc:
            log.error("could not record %s for thread %s in %s: %s", kind, thread_id, self.path, exc)
            raise AuditWriteError(f"could not write the audit log {self.path}: {exc}") from exc

    def entries(self, thread_id: str, *, run: int | None = None) -> list[AuditEntry]:
        """The thread's events in the order they were recorded (optionally of one run)."""
        query = "SELECT id, thread_id, run, ts, kind, node, task_id, payload FROM audit WHERE thread_id = ?"
        params: tuple[Any, ...] = (thread_id,)
        if run is not None:
            query, params = query + " AND run = ?", (thread_id, run)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY id", params).fetchall()
        return [AuditEntry(*row[:7], payload=json.loads(row[7])) for row in rows]

    def threads(self, limit: int = 20) -> list[ThreadSummary]:
        """Threads with recorded events, most recently active first."""
        with self._lock:
            rows = self._conn.execute("SELECT thread_id, MAX(run), COUNT(*), MIN(ts), MAX(ts) FROM audit "
                                "GROUP BY thread_id ORDER BY MAX(id) DESC LIMIT ?", (limit,)).fetchall()
        return [ThreadSummary(*row) for row in rows]


_default_logs: dict[Path, AuditLog] = {}
_default_lock = threading.Lock()


def audit_path() -> Path:
    return data_home() / "audit.db"


def default_audit_log() -> AuditLog:
    """The audit log under the data directory (opened once per path)."""
    path = audit_path()
    with _default_lock:
        if path not in _default_logs:
            _default_logs[path] = AuditLog(path)
        return _default_logs[path]


def audit_config(audit: AuditLog | None) -> dict[str, Any]:
    """The config that binds a compiled graph to `audit` (None: record nothing): ``graph.with_config(...)``."""
    return {"configurable": {AUDIT_KEY: audit}}


class _Sequencer:
    """Numbers the events of each node execution 0, 1, 2...; a node re-run after an interrupt is a
    new execution and starts again at 0, so its replayed events get the same keys."""

    def __init__(self, size: int = 4096) -> None:
        self._counts: OrderedDict[Any, int] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def next(self, execution: Any) -> int:
        with self._lock:
            number = self._counts.pop(execution, -1) + 1
            self._counts[execution] = number
            while len(self._counts) > self._size:
                self._counts.popitem(last=False)
            return number


_sequence = _Sequencer()


def record_event(event: str, data: dict[str, Any], config: dict[str, Any]) -> None:
    """Append `event` to the audit log the run's config names; nothing outside a LangGraph node.

    A run without a thread (compiled without a checkpointer) is recorded under thread ``""``.
    """
    metadata = config.get("metadata") or {}
    node = metadata.get("langgraph_node")
    if node is None:
        return
    configurable = config.get("configurable") or {}
    audit = configurable[AUDIT_KEY] if AUDIT_KEY in configurable else default_audit_log()
    if audit is None:
        return
    # a node execution is one LangChain run: its id tells a re-run (after an interrupt) from the first run
    execution = getattr(config.get("callbacks"), "parent_run_id", None)
    namespace = configurable.get("checkpoint_ns") or metadata.get("langgraph_checkpoint_ns")
    replay_key = f"{namespace}#{_sequence.next(execution)}" if execution and namespace else None
    task_id = data.get("task_id")
    audit.append(str(configurable.get("thread_id", "")), event, data, node=node,
                 task_id=str(task_id) if task_id is not None else None, replay_key=replay_key)

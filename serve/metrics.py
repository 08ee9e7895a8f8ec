"""Dashboard numbers: run volume, outcome rates, execution time, tokens and cost, per workflow and per day.

They are computed from the audit log (`taskwarden.graph.audit`, ``<data dir>/audit.db``) rather than
from the LangGraph server's threads API:

- the audit log holds **every run**, however it was started (CLI, server, webhook, schedule,
  notebook) and every run of a thread, while the threads API shows each thread's latest state
  only (older runs would need one history crawl per thread);
- it has what the numbers need, timestamped: the start (``run_started`` / ``invalid_request``), the
  outcome and usage (``run_finished``), each model call's tokens and cost, the human reviews a run
  asked for (``review_requested``, with its kind);
- it is one SQLite query in the server process instead of many HTTP calls from the browser.

A run is the pair (thread, run number). Its outcome is one of `OUTCOMES`:

- ``completed``, ``incomplete``, ``rejected``: the status its ``run_finished`` event reports;
- ``invalid``: the request was refused at intake;
- ``waiting``: stopped at a human review nobody has answered yet;
- ``running``: still recording events;
- ``failed``: no outcome, no pending review and no event for `STALE_AFTER` seconds (the process
  crashed or was killed; the run can still be resumed from its checkpoint).

Rates: success = completed / finished, error = (incomplete + failed) / finished, with `finished`
the runs with an outcome (not waiting, not running). Escalation = runs that handed a problem to a
human (an evaluation, budget, planning or tool-failure escalation) / all runs; approval = runs that
stopped for a policy approval (e.g. a refund over $100) / all runs. Execution time is the run's
active time (``usage.seconds``: waiting for a human does not count); wall time is start to outcome.
Percentiles interpolate linearly between the closest ranks. Days are calendar days at
``utc_offset_minutes`` from UTC (the browser sends its own).
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from taskwarden.graph.audit import RUN_STARTS, audit_path

OUTCOMES = ("completed", "incomplete", "rejected", "invalid", "failed", "waiting", "running")
FINISHED = frozenset({"completed", "incomplete", "rejected", "invalid", "failed"})
ERRORS = frozenset({"incomplete", "failed"})
STALE_AFTER = 3600.0
"""Seconds without any event after which an open run (not waiting for a human) counts as failed."""
UNKNOWN_WORKFLOW = "(unknown)"
KINDS = (*RUN_STARTS, "run_finished", "model_call", "review_requested", "review_decided")
"""The audit events the numbers are computed from."""


@dataclass(frozen=True)
class AuditRow:
    """One audit event, as far as metrics need it."""

    thread_id: str
    run: int
    ts: float
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class RunRecord:
    """One run (a thread's n-th request) and what became of it."""

    thread_id: str
    run: int
    workflow: str
    started_at: float
    outcome: str
    """One of `OUTCOMES`."""
    ended_at: float | None
    """When the outcome was recorded (None while waiting or running)."""
    active_seconds: float | None
    """Time the engine spent on the run (``usage.seconds``), None without a ``run_finished``."""
    tokens: int
    cost_usd: float
    escalated: bool
    """Handed a problem to a human (evaluation, budget, planning, tool failures...)."""
    approvals: int
    """Policy approvals the run asked for (e.g. a refund over the threshold)."""

    @property
    def finished(self) -> bool:
        return self.outcome in FINISHED

    @property
    def wall_seconds(self) -> float | None:
        return None if self.ended_at is None else max(0.0, self.ended_at - self.started_at)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "wall_seconds": self.wall_seconds}


def runs_from_rows(rows: Iterable[AuditRow], *, now: float | None = None,
                   stale_after: float = STALE_AFTER) -> list[RunRecord]:
    """The runs described by audit `rows` (in recording order), oldest start first.

    Rows before a run's start (run number 0) are ignored; a run whose start is not among the rows is
    skipped (it began outside the rows' window).
    """
    now = time.time() if now is None else now
    by_run: dict[tuple[str, int], list[AuditRow]] = defaultdict(list)
    thread_workflow: dict[str, str] = {}
    for row in rows:
        if row.run <= 0:
            continue
        by_run[(row.thread_id, row.run)].append(row)
        if row.kind == "run_started" and row.payload.get("workflow"):
            thread_workflow.setdefault(row.thread_id, str(row.payload["workflow"]))
    runs = [run for (thread_id, _), events in by_run.items()
            if (run := _run_of(events, thread_workflow.get(thread_id, UNKNOWN_WORKFLOW), now, stale_after))]
    return sorted(runs, key=lambda r: (r.started_at, r.thread_id, r.run))


def _run_of(events: list[AuditRow], thread_workflow: str, now: float, stale_after: float) -> RunRecord | None:
    start = next((e for e in events if e.kind in RUN_STARTS), None)
    if start is None:
        return None
    finish = next((e for e in reversed(events) if e.kind == "run_finished"), None)
    reviews = [e for e in events if e.kind in ("review_requested", "review_decided")]
    calls = [e.payload for e in events if e.kind == "model_call"]
    usage = (finish.payload.get("usage") or {}) if finish else {}
    if usage:
        tokens = int(usage.get("input_tokens", 0) or 0) + int(usage.get("output_tokens", 0) or 0)
        cost = float(usage.get("cost_usd", 0) or 0)
    else:
        tokens = sum(int(c.get("input_tokens", 0) or 0) + int(c.get("output_tokens", 0) or 0) for c in calls)
        cost = sum(float(c.get("cost_usd", 0) or 0) for c in calls)
    ended_at: float | None
    if start.kind == "invalid_request":
        outcome, ended_at = "invalid", start.ts
    elif finish is not None:
        status = str(finish.payload.get("status", ""))
        outcome, ended_at = (status if status in ("completed", "incomplete", "rejected") else "incomplete"), finish.ts
    elif reviews and reviews[-1].kind == "review_requested":
        outcome, ended_at = "waiting", None
    elif now - events[-1].ts < stale_after:
        outcome, ended_at = "running", None
    else:
        outcome, ended_at = "failed", events[-1].ts
    requested = [e.payload for e in events if e.kind == "review_requested"]
    seconds = usage.get("seconds") if finish else None
    return RunRecord(
        thread_id=start.thread_id, run=start.run,
        workflow=str(start.payload.get("workflow") or thread_workflow),
        started_at=start.ts, outcome=outcome, ended_at=ended_at,
        active_seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
        tokens=tokens, cost_usd=cost,
        escalated=any(r.get("kind") == "escalation" for r in requested),
        approvals=sum(1 for r in requested if r.get("kind") == "tool_approval"),
    )


def load_rows(path: str | Path | None = None, *, since: float = 0.0, until: float | None = None) -> list[AuditRow]:
    """The audit rows of every run that started in ``[since, until)``, read-only (no file: no rows)."""
    path = Path(path) if path is not None else audit_path()
    if not path.exists():
        return []
    kinds = ",".join("?" * len(KINDS))
    starts = ",".join("?" * len(RUN_STARTS))
    query = (f"SELECT a.thread_id, a.run, a.ts, a.kind, a.payload FROM audit a JOIN "
             f"(SELECT DISTINCT thread_id, run FROM audit WHERE kind IN ({starts}) AND ts >= ? AND ts < ?) s "
             f"ON a.thread_id = s.thread_id AND a.run = s.run WHERE a.kind IN ({kinds}) ORDER BY a.id")
    params = (*RUN_STARTS, since, math.inf if until is None else until, *KINDS)
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)) as conn:
        try:
            fetched = conn.execute(query, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise
    return [AuditRow(thread_id, run, ts, kind, _json(payload)) for thread_id, run, ts, kind, payload in fetched]


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def percentile(values: Sequence[float], q: float) -> float | None:
    """The `q`-th percentile (0-100) of `values`, interpolating linearly between ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(runs: Sequence[RunRecord]) -> dict[str, Any]:
    """Volume, outcome counts and rates, execution time percentiles, tokens and cost of `runs`."""
    counts = {outcome: 0 for outcome in OUTCOMES}
    for run in runs:
        counts[run.outcome] += 1
    finished = [r for r in runs if r.finished]
    active = [r.active_seconds for r in finished if r.active_seconds is not None]
    wall = [w for r in finished if (w := r.wall_seconds) is not None]
    return {
        "runs": len(runs),
        "finished": len(finished),
        "outcomes": counts,
        "success_rate": _ratio(counts["completed"], len(finished)),
        "error_rate": _ratio(sum(counts[o] for o in ERRORS), len(finished)),
        "rejected_rate": _ratio(counts["rejected"], len(finished)),
        "invalid_rate": _ratio(counts["invalid"], len(finished)),
        "escalation_rate": _ratio(sum(r.escalated for r in runs), len(runs)),
        "approval_rate": _ratio(sum(r.approvals > 0 for r in runs), len(runs)),
        "escalations": sum(r.escalated for r in runs),
        "approvals": sum(r.approvals for r in runs),
        "active_seconds_p50": percentile(active, 50),
        "active_seconds_p95": percentile(active, 95),
        "wall_seconds_p50": percentile(wall, 50),
        "wall_seconds_p95": percentile(wall, 95),
        "tokens_per_run": _mean([r.tokens for r in finished]),
        "cost_per_run_usd": _mean([r.cost_usd for r in finished]),
        "tokens": sum(r.tokens for r in runs),
        "cost_usd": sum(r.cost_usd for r in runs),
    }


def local_day(ts: float, utc_offset_minutes: int = 0) -> str:
    """The calendar day (ISO date) of `ts` at `utc_offset_minutes` from UTC."""
    return (datetime.fromtimestamp(ts, UTC) + timedelta(minutes=utc_offset_minutes)).date().isoformat()


def dashboard(runs: Sequence[RunRecord], *, since: float, until: float, workflow: str | None = None,
              utc_offset_minutes: int = 0, recent: int = 20) -> dict[str, Any]:
    """Everything the dashboard shows for the runs started in ``[since, until)``.

    ``totals`` and ``days`` (one entry per calendar day of the window, empty days included) cover
    `workflow` when given, else every workflow; ``workflows`` always has one summary per workflow.
    """
    in_window = [r for r in runs if since <= r.started_at < until]
    selected = [r for r in in_window if workflow is None or r.workflow == workflow]
    by_day: dict[str, list[RunRecord]] = defaultdict(list)
    for run in selected:
        by_day[local_day(run.started_at, utc_offset_minutes)].append(run)
    first = datetime.fromisoformat(local_day(since, utc_offset_minutes)).date()
    last = datetime.fromisoformat(local_day(max(since, until - 1e-6), utc_offset_minutes)).date()
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    by_workflow: dict[str, list[RunRecord]] = defaultdict(list)
    for run in in_window:
        by_workflow[run.workflow].append(run)
    return {
        "window": {"since": since, "until": until, "days": len(days), "utc_offset_minutes": utc_offset_minutes},
        "workflow": workflow,
        "outcomes": list(OUTCOMES),
        "totals": summarize(selected),
        "days": [{"date": day, **summarize(by_day.get(day, []))} for day in days],
        "workflows": {name: summarize(group) for name, group in sorted(by_workflow.items())},
        "recent": [r.to_dict() for r in sorted(selected, key=lambda r: r.started_at, reverse=True)[:recent]],
    }


def compute_metrics(*, days: int = 14, workflow: str | None = None, utc_offset_minutes: int = 0,
                    path: str | Path | None = None, now: float | None = None) -> dict[str, Any]:
    """`dashboard` over the last `days` calendar days (today included) of the audit log at `path`."""
    if not 1 <= days <= 366:
        raise ValueError(f"days must be between 1 and 366, got {days}")
    if not -14 * 60 <= utc_offset_minutes <= 14 * 60:
        raise ValueError(f"utc_offset_minutes must be within +-840, got {utc_offset_minutes}")
    now = time.time() if now is None else now
    today = datetime.fromisoformat(local_day(now, utc_offset_minutes))
    start_local = today - timedelta(days=days - 1)
    since = (start_local - timedelta(minutes=utc_offset_minutes)).replace(tzinfo=UTC).timestamp()
    until = now + 1e-3
    runs = runs_from_rows(load_rows(path, since=since, until=until), now=now)
    return {"generated_at": now,
            **dashboard(runs, since=since, until=until, workflow=workflow, utc_offset_minutes=utc_offset_minutes)}

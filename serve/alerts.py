"""Threshold alerts on the dashboard numbers: error rate, escalation rate, cost per run.

Rules come from the environment (`AlertRules.from_env`) or are built in code:

| variable | meaning | default |
|---|---|---|
| ``TASKWARDEN_ALERT_ERROR_RATE`` | alert when a workflow's error rate exceeds this (``0.2`` or ``20%``) | off |
| ``TASKWARDEN_ALERT_ESCALATION_RATE`` | ... its escalation rate | off |
| ``TASKWARDEN_ALERT_COST_PER_RUN`` | ... its mean cost per finished run, in USD | off |
| ``TASKWARDEN_ALERT_WINDOW_HOURS`` | the runs judged: those started in the last N hours | 24 |
| ``TASKWARDEN_ALERT_MIN_RUNS`` | a rate is judged only on at least this many runs | 5 |
| ``TASKWARDEN_ALERT_COOLDOWN_HOURS`` | the same alert (rule, workflow) fires at most once per cooldown | 6 |
| ``TASKWARDEN_ALERT_WEBHOOK`` | POST each alert here as JSON | unset |
| ``TASKWARDEN_ALERT_CHANNEL`` | without a webhook, post to this channel of the notification outbox | ``#ops`` |
| ``TASKWARDEN_ALERT_INTERVAL`` | seconds between checks while the server runs | 300 |

Each rule is judged per workflow on the runs of the window (`taskwarden.serve.metrics`). An alert that
fires is delivered (a webhook POST, else a message in the outbox ``<data dir>/outbox.db``, which a
delivery service or a person reads) and recorded in the ``alerts`` table of ``<data dir>/alerts.db``
with the outcome of its delivery; the dashboard lists them. A failed delivery is recorded, not
retried: the cooldown keeps a broken webhook from being hammered, and the dashboard shows the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import httpx

from taskwarden.paths import data_home
from taskwarden.serve.metrics import RunRecord, load_rows, runs_from_rows, summarize
from taskwarden.tools.kits.outbox import Outbox

log = logging.getLogger(__name__)

ENV_PREFIX = "TASKWARDEN_ALERT_"
RULES = ("error_rate", "escalation_rate", "cost_per_run")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    rule TEXT NOT NULL,
    workflow TEXT NOT NULL,
    value REAL NOT NULL,
    threshold REAL NOT NULL,
    runs INTEGER NOT NULL,
    window_hours REAL NOT NULL,
    message TEXT NOT NULL,
    channel TEXT NOT NULL,
    delivered INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS alerts_by_rule ON alerts (rule, workflow, ts);
"""


class AlertConfigError(ValueError):
    """An alert setting that cannot be used (the message names the variable)."""


@dataclass(frozen=True, kw_only=True)
class AlertRules:
    """Thresholds (None: rule off) and how alerts are judged and delivered."""

    error_rate: float | None = None
    """Share of finished runs that ended incomplete or failed (0-1)."""
    escalation_rate: float | None = None
    """Share of runs that escalated to a human (0-1)."""
    cost_per_run: float | None = None
    """Mean USD per finished run."""
    window_hours: float = 24.0
    min_runs: int = 5
    cooldown_hours: float = 6.0
    webhook_url: str | None = None
    channel: str = "#ops"
    interval_seconds: float = 300.0

    def __post_init__(self) -> None:
        for name in ("error_rate", "escalation_rate"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise AlertConfigError(f"{name} must be between 0 and 1 (or 0% and 100%), got {value}")
        if self.cost_per_run is not None and self.cost_per_run < 0:
            raise AlertConfigError(f"cost_per_run must not be negative, got {self.cost_per_run}")
        for name in ("window_hours", "cooldown_hours", "interval_seconds"):
            if getattr(self, name) <= 0:
                raise AlertConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.min_runs < 1:
            raise AlertConfigError(f"min_runs must be at least 1, got {self.min_runs}")
        if self.webhook_url is not None and not self.webhook_url.startswith(("http://", "https://")):
            raise AlertConfigError(f"the alert webhook must be an http(s) URL, got {self.webhook_url!r}")

    @property
    def active(self) -> bool:
        """Whether any rule is on."""
        return any(getattr(self, rule) is not None for rule in RULES)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlertRules:
        """Rules from ``TASKWARDEN_ALERT_*`` variables (see the module docs); unset ones keep defaults."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = env.get(ENV_PREFIX + _env_name(item.name), "").strip()
            if not raw:
                continue
            try:
                values[item.name] = _parse(item.name, raw)
            except ValueError as exc:
                raise AlertConfigError(f"{ENV_PREFIX}{_env_name(item.name)}={raw!r}: {exc}") from exc
        try:
            return cls(**values)
        except AlertConfigError as exc:
            raise AlertConfigError(f"alert settings ({ENV_PREFIX}*): {exc}") from exc

    def describe(self) -> dict[str, Any]:
        """The rules as JSON, without the webhook URL (it may carry a secret token)."""
        data = asdict(self)
        data["webhook_url"] = None
        data["delivery"] = "webhook" if self.webhook_url else f"outbox {self.channel}"
        return data


def _env_name(field_name: str) -> str:
    return {"webhook_url": "WEBHOOK", "interval_seconds": "INTERVAL"}.get(field_name, field_name.upper())


def _parse(name: str, raw: str) -> Any:
    if name in ("webhook_url", "channel"):
        return raw
    if name == "min_runs":
        return int(raw)
    if name in ("error_rate", "escalation_rate") and raw.endswith("%"):
        return float(raw[:-1]) / 100
    return float(raw.removeprefix("$"))


@dataclass(frozen=True)
class Alert:
    """A rule a workflow broke in the window."""

    rule: str
    workflow: str
    value: float
    threshold: float
    runs: int
    """Runs the value was computed on."""
    window_hours: float

    @property
    def message(self) -> str:
        if self.rule == "cost_per_run":
            said = f"cost per run ${self.value:.4f} is above ${self.threshold:.4f}"
        else:
            said = f"{self.rule.replace('_', ' ')} {self.value:.0%} is above {self.threshold:.0%}"
        return f"Taskwarden alert: {self.workflow}: {said} ({self.runs} runs in the last {self.window_hours:g} h)"


def evaluate(runs: Sequence[RunRecord], rules: AlertRules, *, now: float) -> list[Alert]:
    """The alerts `runs` (started in the window ending at `now`) raise under `rules`, per workflow.

    A rate needs at least `min_runs` runs behind it (finished runs for the error rate, all runs for
    the escalation rate); the cost per run needs one finished run.
    """
    since = now - rules.window_hours * 3600
    by_workflow: dict[str, list[RunRecord]] = {}
    for run in runs:
        if since <= run.started_at <= now:
            by_workflow.setdefault(run.workflow, []).append(run)
    alerts = []
    for workflow, group in sorted(by_workflow.items()):
        summary = summarize(group)
        checks = (("error_rate", summary["error_rate"], summary["finished"], rules.min_runs),
                  ("escalation_rate", summary["escalation_rate"], summary["runs"], rules.min_runs),
                  ("cost_per_run", summary["cost_per_run_usd"], summary["finished"], 1))
        for rule, value, behind, needed in checks:
            threshold = getattr(rules, rule)
            if threshold is not None and value is not None and behind >= needed and value > threshold:
                alerts.append(Alert(rule, workflow, float(value), float(threshold), behind, rules.window_hours))
    return alerts


def alerts_path() -> Path:
    return data_home() / "alerts.db"


class AlertLog:
    """The alerts that fired, in an SQLite file (created on first use)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else alerts_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            conn.executescript(_SCHEMA)

    def record(self, alert: Alert, *, ts: float, channel: str, error: str | None) -> dict[str, Any]:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            cursor = conn.execute(
                "INSERT INTO alerts (ts, rule, workflow, value, threshold, runs, window_hours, message, channel, "
                "delivered, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ts, alert.rule, alert.workflow, alert.value, alert.threshold, alert.runs, alert.window_hours,
                 alert.message, channel, int(error is None), error))
        return self.recent(limit=1, before_id=(cursor.lastrowid or 0) + 1)[0]

    def last_fired(self, rule: str, workflow: str) -> float | None:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            row = conn.execute("SELECT MAX(ts) FROM alerts WHERE rule = ? AND workflow = ?", (rule, workflow)).fetchone()
        return row[0]

    def recent(self, limit: int = 50, *, before_id: int | None = None) -> list[dict[str, Any]]:
        """The latest alerts, newest first."""
        query = ("SELECT id, ts, rule, workflow, value, threshold, runs, window_hours, message, channel, delivered, "
                 "error FROM alerts WHERE ? IS NULL OR id < ? ORDER BY id DESC LIMIT ?")
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(query, (before_id, before_id, limit)).fetchall()
        return [{**dict(row), "delivered": bool(row["delivered"])} for row in rows]


Deliver = Callable[[Alert, AlertRules], str]
"""Sends one alert; returns where it went; raises when it could not be delivered."""


def deliver(alert: Alert, rules: AlertRules) -> str:
    """POST the alert to the webhook, or (without one) post it to the outbox channel."""
    if rules.webhook_url:
        body = {"type": "taskwarden.alert", "text": alert.message, "alert": asdict(alert)}
        response = httpx.post(rules.webhook_url, json=body, timeout=10)
        response.raise_for_status()
        return "webhook"
    Outbox(data_home() / "outbox.db").send_message(rules.channel, alert.message)
    return f"outbox {rules.channel}"


def check_alerts(rules: AlertRules | None = None, *, audit: str | Path | None = None, log_path: str | Path | None = None,
                 now: float | None = None, send: Deliver = deliver) -> list[dict[str, Any]]:
    """Judge the runs of the window, then deliver and record each alert not in its cooldown.

    Returns the alerts recorded by this check (none when no rule is on).
    """
    rules = AlertRules.from_env() if rules is None else rules
    if not rules.active:
        return []
    now = time.time() if now is None else now
    runs = runs_from_rows(load_rows(audit, since=now - rules.window_hours * 3600, until=now + 1e-3), now=now)
    alert_log = AlertLog(log_path)
    fired = []
    for alert in evaluate(runs, rules, now=now):
        last = alert_log.last_fired(alert.rule, alert.workflow)
        if last is not None and now - last < rules.cooldown_hours * 3600:
            continue
        channel, error = "webhook" if rules.webhook_url else f"outbox {rules.channel}", None
        try:
            channel = send(alert, rules)
        except Exception as exc:  # noqa: BLE001 - a delivery failure is recorded and shown, never raised
            error = f"{type(exc).__name__}: {exc}"
            log.warning("could not deliver alert %r: %s", alert.message, error)
        fired.append(alert_log.record(alert, ts=now, channel=channel, error=error))
    return fired


async def watch_alerts(rules: AlertRules, *, audit: str | Path | None = None, log_path: str | Path | None = None) -> None:
    """Check every `rules.interval_seconds` until cancelled; a failing check is logged and retried."""
    while True:
        try:
            await asyncio.to_thread(check_alerts, rules, audit=audit, log_path=log_path)
        except Exception:
            log.exception("alert check failed")
        await asyncio.sleep(rules.interval_seconds)


@contextlib.asynccontextmanager
async def alerts_lifespan(_app: Any) -> AsyncIterator[None]:
    """Runs `watch_alerts` while the server runs, when any ``TASKWARDEN_ALERT_*`` threshold is set.

    Bad settings are logged and leave alerts off rather than stopping the server.
    """
    try:
        rules = AlertRules.from_env()
    except AlertConfigError as exc:
        log.error("alerts are off: %s", exc)
        rules = AlertRules()
    task = asyncio.create_task(watch_alerts(rules)) if rules.active else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

"""Dashboard numbers from the audit log (taskwarden.serve.metrics) and threshold alerts
(taskwarden.serve.alerts): outcomes, rates, percentiles, days, thresholds, cooldown, delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from langgraph.types import Command

from scripts import REFUND_PLAN, passes, refund, research
from taskwarden.graph.audit import AuditLog
from taskwarden.serve import alerts, metrics
from taskwarden.serve.alerts import Alert, AlertConfigError, AlertLog, AlertRules, check_alerts, evaluate
from taskwarden.serve.metrics import AuditRow, RunRecord, compute_metrics, percentile, runs_from_rows, summarize
from taskwarden.tools.kits.outbox import Outbox

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0


def usage(seconds=2.0, tokens=(100, 50), cost=0.01, steps=4):
    return {"steps": steps, "input_tokens": tokens[0], "output_tokens": tokens[1], "cost_usd": cost, "seconds": seconds}


def run_rows(thread, run=1, *, start, workflow="refunds", status="completed", finish_after=10.0, reviews=(),
             calls=(), invalid=False):
    """Audit rows of one run: its start, model calls, reviews (kind, decided?) and its finish."""
    rows = [AuditRow(thread, run, start, "invalid_request" if invalid else "run_started",
                     {"error": "empty"} if invalid else {"workflow": workflow, "request": "r"})]
    t = start
    for tokens, cost in calls:
        t += 1
        rows.append(AuditRow(thread, run, t, "model_call", {"input_tokens": tokens, "output_tokens": 0, "cost_usd": cost}))
    for kind, decided in reviews:
        t += 1
        rows.append(AuditRow(thread, run, t, "review_requested", {"kind": kind}))
        if decided:
            t += 1
            rows.append(AuditRow(thread, run, t, "review_decided", {"kind": kind, "decision": "approve"}))
    if status is not None and not invalid:
        rows.append(AuditRow(thread, run, start + finish_after, "run_finished", {"status": status, "usage": usage()}))
    return rows


def by_thread(runs):
    return {(r.thread_id, r.run): r for r in runs}


# ---------------------------------------------------------------- runs from audit rows

def test_each_run_gets_its_outcome_tokens_cost_and_reviews():
    rows = [
        *run_rows("a", start=NOW - 100, reviews=[("tool_approval", True)]),
        *run_rows("b", start=NOW - 90, status="rejected", reviews=[("escalation", True)]),
        *run_rows("c", start=NOW - 80, status="incomplete"),
        *run_rows("d", start=NOW - 70, status=None, reviews=[("tool_approval", False)], calls=[(30, 0.5)]),
        *run_rows("e", start=NOW - 60, status=None, calls=[(7, 0.0)]),
        *run_rows("f", start=NOW - 3 * HOUR, status=None, calls=[(7, 0.0)]),
        *run_rows("a", run=2, start=NOW - 50, invalid=True),
    ]
    runs = by_thread(runs_from_rows(rows, now=NOW))
    assert {key: r.outcome for key, r in runs.items()} == {
        ("a", 1): "completed", ("b", 1): "rejected", ("c", 1): "incomplete", ("d", 1): "waiting",
        ("e", 1): "running", ("f", 1): "failed", ("a", 2): "invalid"}
    a = runs[("a", 1)]
    assert (a.tokens, a.cost_usd, a.active_seconds, a.wall_seconds) == (150, 0.01, 2.0, 10.0)
    assert (a.approvals, a.escalated) == (1, False)
    assert runs[("b", 1)].escalated and runs[("b", 1)].approvals == 0
    d = runs[("d", 1)]
    assert (d.tokens, d.cost_usd, d.ended_at, d.active_seconds) == (30, 0.5, None, None), "usage from the model calls"
    assert runs[("f", 1)].ended_at == NOW - 3 * HOUR + 1, "a stalled run fails at its last event"
    assert runs[("a", 2)].workflow == "refunds", "an invalid request takes its thread's workflow"


def test_rows_of_a_run_that_started_outside_them_are_ignored():
    rows = [AuditRow("x", 1, NOW, "model_call", {"input_tokens": 5}), AuditRow("x", 0, NOW, "plan", {})]
    assert runs_from_rows(rows, now=NOW) == []


# ---------------------------------------------------------------- summaries

def test_percentiles_interpolate_between_ranks():
    values = list(range(1, 11))
    assert percentile(values, 50) == 5.5
    assert percentile(values, 95) == pytest.approx(9.55)
    assert percentile([3.0], 95) == 3.0
    assert percentile([], 50) is None
    assert percentile([10, 1, 5], 0) == 1 and percentile([10, 1, 5], 100) == 10


def record(outcome, *, escalated=False, approvals=0, seconds=1.0, tokens=10, cost=0.0, started=NOW, workflow="w"):
    finished = outcome in metrics.FINISHED
    return RunRecord("t", 1, workflow, started, outcome, started + 5 if finished else None,
                     seconds if finished else None, tokens, cost, escalated, approvals)


def test_rates_use_finished_runs_except_escalations_and_approvals():
    runs = [record("completed", seconds=1, tokens=10, cost=0.01),
            record("completed", seconds=3, tokens=30, cost=0.03, approvals=2),
            record("incomplete", seconds=5, tokens=20, cost=0.02, escalated=True),
            record("failed", seconds=None, tokens=0, cost=0.0),
            record("waiting", escalated=True, tokens=40, cost=0.5)]
    s = summarize(runs)
    assert (s["runs"], s["finished"]) == (5, 4)
    assert s["success_rate"] == 0.5 and s["error_rate"] == 0.5
    assert s["escalation_rate"] == 0.4 and s["approval_rate"] == 0.2
    assert (s["escalations"], s["approvals"]) == (2, 2)
    assert s["active_seconds_p50"] == 3 and s["active_seconds_p95"] == pytest.approx(4.8)
    assert s["tokens_per_run"] == 15 and s["cost_per_run_usd"] == pytest.approx(0.015)
    assert s["tokens"] == 100 and s["cost_usd"] == pytest.approx(0.56), "totals count open runs too"
    assert summarize([])["success_rate"] is None and summarize([])["active_seconds_p50"] is None


def test_dashboard_has_every_day_of_the_window_and_filters_by_workflow():
    day = 24 * HOUR
    runs = [record("completed", started=NOW - 2 * day, workflow="refunds"),
            record("incomplete", started=NOW - 2 * day, workflow="leads"),
            record("completed", started=NOW, workflow="refunds"),
            record("completed", started=NOW - 30 * day, workflow="refunds")]
    since = NOW - 6.5 * day
    board = metrics.dashboard(runs, since=since, until=NOW + 1, workflow="refunds")
    assert [d["date"] for d in board["days"]] == [f"2026-11-{n}" for n in range(15, 22)]
    assert [d["runs"] for d in board["days"]] == [0, 0, 0, 0, 1, 0, 1]
    assert board["totals"]["runs"] == 2 and board["totals"]["success_rate"] == 1.0
    assert sorted(board["workflows"]) == ["leads", "refunds"], "every workflow is summarised"
    assert board["workflows"]["leads"]["error_rate"] == 1.0
    assert [r["started_at"] for r in board["recent"]] == [NOW, NOW - 2 * day]


def test_days_follow_the_viewers_utc_offset():
    late = datetime(2026, 11, 20, 23, 30, tzinfo=UTC).timestamp()
    assert metrics.local_day(late) == "2026-11-20"
    assert metrics.local_day(late, utc_offset_minutes=60) == "2026-11-21"
    assert metrics.local_day(late, utc_offset_minutes=-600) == "2026-11-20"


# ---------------------------------------------------------------- from the audit log

def test_load_rows_reads_the_runs_started_in_the_window(tmp_path):
    rows = [*run_rows("old", start=NOW - 40 * 24 * HOUR), *run_rows("new", start=NOW - HOUR, calls=[(5, 0.0)]),
            AuditRow("other", 1, NOW, "plan", {"tasks": []})]  # no start: not a run
    path = write_rows(tmp_path / "audit.db", rows)
    assert {r.thread_id for r in metrics.load_rows(path)} == {"old", "new"}
    recent = metrics.load_rows(path, since=NOW - 24 * HOUR, until=NOW)
    assert {r.thread_id for r in recent} == {"new"}
    assert [r.kind for r in recent] == ["run_started", "model_call", "run_finished"]
    assert metrics.load_rows(tmp_path / "missing.db") == [], "no audit log yet: no runs"
    assert not (tmp_path / "missing.db").exists(), "reading never creates the file"


def test_a_real_refund_run_in_the_metrics(make_graph, audit_log, home):
    graph, _ = make_graph(orchestrator=[REFUND_PLAN], worker=[*research(), *refund()], evaluator=passes(2))
    config = {"configurable": {"thread_id": "m-1"}}
    graph.invoke({"messages": [("user", "alice@example.com: refund P1002")]}, config)
    paused = compute_metrics(days=1, path=audit_log.path)
    assert paused["totals"]["outcomes"]["waiting"] == 1 and paused["totals"]["approval_rate"] == 1.0
    graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), config)

    board = compute_metrics(days=7, path=audit_log.path)
    assert board["totals"]["runs"] == 1 and board["totals"]["outcomes"]["completed"] == 1
    (run,) = board["recent"]
    assert (run["thread_id"], run["workflow"], run["outcome"], run["approvals"], run["escalated"]) == (
        "m-1", "refunds", "completed", 1, False)
    assert run["tokens"] == 8 * 15, "8 scripted model calls of 10 + 5 tokens"
    assert run["active_seconds"] > 0 and run["wall_seconds"] > 0
    assert len(board["days"]) == 7 and board["days"][-1]["runs"] == 1
    json.dumps(board)  # the route returns it as JSON


def test_compute_metrics_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="days"):
        compute_metrics(days=0, path=tmp_path / "a.db")
    with pytest.raises(ValueError, match="utc_offset_minutes"):
        compute_metrics(utc_offset_minutes=2000, path=tmp_path / "a.db")


# ---------------------------------------------------------------- alert rules

def test_rules_come_from_the_environment():
    rules = AlertRules.from_env({"TASKWARDEN_ALERT_ERROR_RATE": "20%", "TASKWARDEN_ALERT_ESCALATION_RATE": "0.3",
                                 "TASKWARDEN_ALERT_COST_PER_RUN": "$0.05", "TASKWARDEN_ALERT_MIN_RUNS": "3",
                                 "TASKWARDEN_ALERT_WINDOW_HOURS": "12", "TASKWARDEN_ALERT_WEBHOOK": "https://h.example/x",
                                 "TASKWARDEN_ALERT_INTERVAL": "60", "UNRELATED": "1"})
    assert (rules.error_rate, rules.escalation_rate, rules.cost_per_run) == (0.2, 0.3, 0.05)
    assert (rules.min_runs, rules.window_hours, rules.interval_seconds) == (3, 12.0, 60.0)
    assert rules.active and rules.webhook_url == "https://h.example/x"
    assert rules.describe()["webhook_url"] is None and rules.describe()["delivery"] == "webhook"
    assert not AlertRules.from_env({}).active, "no threshold: no alerts"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("ERROR_RATE", "high", "TASKWARDEN_ALERT_ERROR_RATE='high'"),
    ("ERROR_RATE", "150%", "between 0 and 1"),
    ("COST_PER_RUN", "-1", "must not be negative"),
    ("MIN_RUNS", "0", "at least 1"),
    ("WEBHOOK", "ftp://x", "http"),
])
def test_bad_settings_are_refused_with_the_variable(name, value, message):
    with pytest.raises(AlertConfigError, match=message.replace("(", r"\(").replace("$", r"\$")):
        AlertRules.from_env({f"TASKWARDEN_ALERT_{name}": value})


def test_thresholds_are_judged_per_workflow_on_enough_runs():
    rules = AlertRules(error_rate=0.25, escalation_rate=0.5, cost_per_run=0.10, min_runs=4, window_hours=24)
    runs = [record("completed", workflow="refunds"), record("completed", workflow="refunds"),
            record("incomplete", workflow="refunds"), record("completed", workflow="refunds", cost=0.05),
            # leads: 2 errors of 2, but too few runs to judge a rate; its one expensive run counts
            record("failed", workflow="leads", cost=0.50), record("incomplete", workflow="leads", escalated=True),
            # outside the window
            record("incomplete", workflow="refunds", started=NOW - 25 * HOUR)]
    fired = {(a.rule, a.workflow): a for a in evaluate(runs, rules, now=NOW)}
    assert set(fired) == {("cost_per_run", "leads")}
    assert fired[("cost_per_run", "leads")].value == pytest.approx(0.25)

    rules = AlertRules(error_rate=0.2, min_runs=4)
    (alert,) = evaluate(runs, rules, now=NOW)
    assert (alert.rule, alert.workflow, alert.value, alert.runs) == ("error_rate", "refunds", 0.25, 4)
    assert alert.message == "Taskwarden alert: refunds: error rate 25% is above 20% (4 runs in the last 24 h)"
    assert evaluate(runs, AlertRules(error_rate=0.25, min_runs=4), now=NOW) == [], "at the threshold: no alert"


def failing_runs(n=5):
    rows = []
    for i in range(n):
        rows += run_rows(f"t{i}", start=NOW - 600 + i, status="incomplete")
    return rows


def write_rows(path, rows):
    """An audit database holding `rows` (timestamps as given)."""
    log = AuditLog(path)
    with log._lock, log._conn as conn:
        conn.executemany("INSERT INTO audit (thread_id, run, ts, kind, node, task_id, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [(r.thread_id, r.run, r.ts, r.kind, None, None, json.dumps(r.payload)) for r in rows])
    log.close()
    return path


def test_an_alert_is_delivered_once_per_cooldown_and_recorded(tmp_path):
    audit = write_rows(tmp_path / "audit.db", failing_runs())
    sent: list[tuple[str, str]] = []
    rules = AlertRules(error_rate=0.5, min_runs=5, cooldown_hours=6)

    def send(alert, _rules):
        sent.append((alert.rule, alert.workflow))
        return "test channel"

    kwargs = {"audit": audit, "log_path": tmp_path / "alerts.db", "send": send}
    (first,) = check_alerts(rules, now=NOW, **kwargs)
    assert (first["rule"], first["workflow"], first["value"], first["delivered"], first["channel"]) == (
        "error_rate", "refunds", 1.0, True, "test channel")
    assert check_alerts(rules, now=NOW + HOUR, **kwargs) == [], "within the cooldown"
    assert len(check_alerts(rules, now=NOW + 7 * HOUR, **kwargs)) == 1, "still breached after the cooldown"
    assert check_alerts(rules, now=NOW + 25 * HOUR, **kwargs) == [], "the failing runs left the window"
    assert sent == [("error_rate", "refunds")] * 2
    assert [a["ts"] for a in AlertLog(tmp_path / "alerts.db").recent()] == [NOW + 7 * HOUR, NOW]
    assert check_alerts(AlertRules(), now=NOW, **kwargs) == [], "no rule on: nothing judged"


def test_a_failed_delivery_is_recorded_not_raised(tmp_path):
    audit = write_rows(tmp_path / "audit.db", failing_runs())

    def broken(alert, rules):
        raise httpx.ConnectError("connection refused")

    (alert,) = check_alerts(AlertRules(error_rate=0.5, webhook_url="https://hooks.example/x"), audit=audit,
                            log_path=tmp_path / "alerts.db", now=NOW, send=broken)
    assert alert["delivered"] is False and alert["error"] == "ConnectError: connection refused"
    assert alert["channel"] == "webhook"


def test_alerts_go_to_the_outbox_without_a_webhook(home):
    alert = Alert("cost_per_run", "refunds", 0.2, 0.1, 3, 24)
    assert alerts.deliver(alert, AlertRules(cost_per_run=0.1, channel="#ops")) == "outbox #ops"
    (message,) = Outbox(home / "outbox.db").messages()
    assert (message.kind, message.recipient) == ("message", "#ops")
    assert message.body == "Taskwarden alert: refunds: cost per run $0.2000 is above $0.1000 (3 runs in the last 24 h)"


def test_alerts_post_json_to_the_webhook(monkeypatch):
    posted = {}

    def fake_post(url, json, timeout):
        posted.update(url=url, body=json)
        return httpx.Response(200, request=httpx.Request("POST", url))

    monkeypatch.setattr(alerts.httpx, "post", fake_post)
    alert = Alert("escalation_rate", "refunds", 0.6, 0.5, 10, 24)
    assert alerts.deliver(alert, AlertRules(escalation_rate=0.5, webhook_url="https://hooks.example/t")) == "webhook"
    assert posted["url"] == "https://hooks.example/t"
    assert posted["body"]["type"] == "taskwarden.alert" and posted["body"]["alert"]["rule"] == "escalation_rate"
    assert posted["body"]["text"].startswith("Taskwarden alert: refunds: escalation rate 60%")

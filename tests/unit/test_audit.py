"""The audit trail: a refund run's timeline, append-only storage, replays recorded once, fail closed, CLI."""

from __future__ import annotations

import json
import sqlite3

import pytest
from langgraph.types import Command

from scripts import REFUND_PLAN, passes, refund, reply, research
from taskwarden.cli.main import main
from taskwarden.graph.audit import AuditLog, AuditWriteError, audit_config
from taskwarden.graph.events import emit
from taskwarden.testing import ScriptedChatModel
from taskwarden.workflows.refunds.db import refunds_for

CFG = {"configurable": {"thread_id": "audit-1"}}
REQUEST = {"messages": [("user", "alice@example.com: please refund my standing desk, order P1002")]}


def kinds(entries, *wanted):
    return [e.kind for e in entries if not wanted or e.kind in wanted]


def in_order(entries, *steps):
    """Each step (kind, predicate on the payload) is found after the previous one."""
    position = 0
    for kind, check in steps:
        while position < len(entries) and not (entries[position].kind == kind and check(entries[position].payload)):
            position += 1
        assert position < len(entries), f"no {kind} matching after entry {position}: {kinds(entries)}"
        position += 1


def test_a_refund_run_leaves_a_complete_timeline(make_graph, audit_log, refunds_db):
    graph, _ = make_graph(orchestrator=[REFUND_PLAN], worker=[*research(), *refund()], evaluator=passes(2))
    graph.invoke(REQUEST, CFG)
    out = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), CFG)
    assert out["status"] == "completed"

    entries = audit_log.entries("audit-1")
    in_order(entries,
             ("run_started", lambda p: p["request"] == "[EMAIL]: please refund my standing desk, order P1002"),
             ("model_call", lambda p: p["role"] == "orchestrator"),
             ("plan", lambda p: [t["id"] for t in p["tasks"]] == ["t1", "t2"]),
             ("model_call", lambda p: p["role"] == "worker" and p["task_id"] == "t1"),
             ("tool_call", lambda p: p["tool"] == "lookup_customer" and p["args"] == {"email": "[EMAIL]"}),
             ("policy_decision", lambda p: p["tool"] == "lookup_customer" and p["outcome"] == "allow"),
             ("tool_result", lambda p: p["tool"] == "lookup_customer" and '"customer_id": "C001"' in p["result"]),
             ("model_call", lambda p: p["role"] == "evaluator"),
             ("evaluation", lambda p: p["task_id"] == "t1" and p["verdict"] == "pass"),
             ("tool_call", lambda p: p["tool"] == "issue_refund" and p["args"]["amount"] == 249.0),
             ("policy_decision", lambda p: p["tool"] == "issue_refund" and p["outcome"] == "require_approval"
              and p["reason"] == "Refunds over $100 need a human's approval"),
             ("review_requested", lambda p: p["kind"] == "tool_approval"),
             ("review_decided", lambda p: p["decision"] == "approve" and p["tool"] == "issue_refund"),
             ("tool_result", lambda p: p["tool"] == "issue_refund" and p["outcome"] == "executed"),
             ("run_finished", lambda p: p["status"] == "completed"))
    assert entries[0].kind == "run_started" and entries[-1].kind == "run_finished"
    assert {e.run for e in entries} == {1}

    # the resumed node re-ran from its start: what it emitted before the interrupt is recorded once
    assert kinds(entries, "review_requested") == ["review_requested"]
    assert len([e for e in entries if e.kind == "policy_decision" and e.payload["tool"] == "issue_refund"]) == 1

    calls = [e.payload for e in entries if e.kind == "model_call"]
    assert len(calls) == out["usage"]["steps"] == 8
    assert {c["role"] for c in calls} == {"orchestrator", "worker", "evaluator"}
    assert all(c["model"] == "scripted" and (c["input_tokens"], c["output_tokens"]) == (10, 5) and c["latency_ms"] >= 0
               and c["cost_usd"] == 0 for c in calls)
    assert [e.node for e in entries if e.kind == "policy_decision"] == ["run_tools"] * 3
    assert "alice@example.com" not in json.dumps([e.payload for e in entries]), "payloads are redacted"
    assert [r["purchase_id"] for r in refunds_for(refunds_db)] == ["P1002"]


def test_each_run_on_a_thread_is_numbered(make_graph, audit_log):
    graph, _ = make_graph()
    graph.invoke({"messages": [("user", "  ")]}, CFG)
    graph.invoke({"messages": [("user", "\t")]}, CFG)
    entries = audit_log.entries("audit-1")
    assert [(e.run, e.kind) for e in entries] == [(1, "invalid_request"), (2, "invalid_request")]
    assert [e.kind for e in audit_log.entries("audit-1", run=2)] == ["invalid_request"]
    assert [t.thread_id for t in audit_log.threads()] == ["audit-1"] and audit_log.threads()[0].runs == 2


def test_the_audit_table_refuses_update_and_delete(audit_log):
    audit_log.append("th", "run_started", {"request": "hello"})
    conn = sqlite3.connect(audit_log.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit SET kind = 'nothing'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit")
    conn.close()
    assert [e.payload for e in audit_log.entries("th")] == [{"request": "hello"}]
    assert not any(hasattr(audit_log, name) for name in ("update", "delete", "remove", "clear"))


def test_append_redacts_and_dedups_by_replay_key(audit_log):
    assert audit_log.append("th", "tool_call", {"args": {"card": "4111 1111 1111 1111"}}, replay_key="n:1#0")
    assert not audit_log.append("th", "tool_call", {"args": {"card": "4111 1111 1111 1111"}}, replay_key="n:1#0")
    assert audit_log.append("th", "tool_call", {"args": {"card": "4111 1111 1111 1111"}}, replay_key="n:1#1")
    assert [e.payload for e in audit_log.entries("th")] == [{"args": {"card": "[CARD]"}}] * 2


def test_emit_outside_a_run_records_nothing(home):
    emit("run_started", request="hello")
    assert not (home / "audit.db").exists()


def test_a_graph_without_audit_records_nothing(make_graph, audit_log):
    graph, _ = make_graph()
    graph.with_config(audit_config(None)).invoke({"messages": [("user", " ")]}, CFG)
    assert audit_log.entries("audit-1") == []


class BrokenAuditLog(AuditLog):
    """Fails to record policy decisions while `broken`."""

    broken = True

    def append(self, thread_id, kind, payload, **kwargs):
        if self.broken and kind == "policy_decision":
            raise AuditWriteError("disk full")
        return super().append(thread_id, kind, payload, **kwargs)


def test_an_audit_failure_stops_the_run_before_the_tool_runs(make_graph, refunds_db, tmp_path):
    graph, _ = make_graph(orchestrator=[REFUND_PLAN], worker=[*research("P1001"), *refund("P1001", 79.0)],
                          evaluator=passes(2))
    audit = BrokenAuditLog(tmp_path / "broken.db")
    graph = graph.with_config(audit_config(audit))
    with pytest.raises(AuditWriteError, match="disk full"):
        graph.invoke(REQUEST, CFG)
    assert refunds_for(refunds_db) == [] and "tool_result" not in kinds(audit.entries("audit-1"))

    audit.broken = False  # fixed: the run resumes from its last checkpoint
    out = graph.invoke(None, CFG)
    assert out["status"] == "completed" and [r["purchase_id"] for r in refunds_for(refunds_db)] == ["P1001"]
    assert kinds(audit.entries("audit-1"))[-1] == "run_finished"


CLI_REQUEST = "alice@example.com: please refund my standing desk, order P1002 - it arrived damaged"


def test_cli_audit_prints_the_timeline_and_json(home, capsys):
    models = {"orchestrator": ScriptedChatModel(script=[REFUND_PLAN]),
              "worker": ScriptedChatModel(script=[*research(), *refund(), *reply()]),  # the shipped desk: + t3
              "evaluator": ScriptedChatModel(script=passes(3))}
    assert main(["run", "refunds", CLI_REQUEST, "--thread", "au-1", "--on-review", "approve"], models=models) == 0
    capsys.readouterr()

    assert main(["audit", "au-1"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "run_started" in lines[0] and "refunds: [EMAIL]: please refund my standing desk" in lines[0]
    assert any("run_finished" in line and "completed: " in line for line in lines)
    for expected in ["model_call       -     orchestrator scripted: 10 in / 5 out tokens, $0.0000",
                     "tool_call        t1    lookup_customer(email='[EMAIL]')",
                     "policy_decision  t2    issue_refund: require_approval (Refunds over $100 need a human's approval)",
                     "review_decided   t2    approve issue_refund",
                     "tool_result      t2    issue_refund [executed]"]:
        assert expected in out, f"missing {expected!r} in:\n{out}"
    assert "alice@example.com" not in out
    assert out.count("review_requested") == 1, "the approval resumed (and re-ran) run_tools: recorded once"

    assert main(["audit", "au-1", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert entries[0]["kind"] == "run_started" and entries[0]["thread_id"] == "au-1" and entries[0]["run"] == 1
    assert {"id", "ts", "kind", "node", "task_id", "payload"} <= set(entries[0])

    assert main(["audit"]) == 0
    assert "au-1" in capsys.readouterr().out


@pytest.mark.parametrize("argv, error", [(["audit", "nope"], "unknown thread 'nope'"),
                                         (["audit", "nope", "--json"], "unknown thread 'nope'")])
def test_cli_audit_of_an_unknown_thread_is_refused(home, capsys, argv, error):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("taskwarden: error: ") and error in err[0]
    assert main(["audit"]) == 0 and "no audit records yet" in capsys.readouterr().out

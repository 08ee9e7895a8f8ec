"""Required roles: a plan that leaves out a role the workflow always needs gets a task for it.

Measured on the embedded model: the vulnerability watch planned only the analyst's task, so no report
was written and nobody was notified, and the run ended `completed`."""

from __future__ import annotations

from langgraph.checkpoint.memory import InMemorySaver

from scripts import TODAY, passes, plan
from taskwarden.agents.orchestrator import Plan, PlannedTask, normalize_plan
from taskwarden.graph import build_workflow
from taskwarden.graph.workflow_file import RoleSpec, _role
from taskwarden.testing import ScriptedChatModel, call, say
from taskwarden.tools.kits.outbox import Outbox
from taskwarden.tools.ledger import Ledger
from taskwarden.tools.registry import Role
from taskwarden.workflows.vulnwatch.data import OUTBOX_FILE

ROLES = [Role("reader", "reads the record.", ("read",), required=True, criteria=("states the record",)),
         Role("fixer", "fixes the record when asked.", ("fix",)),
         Role("writer", "writes the reply.", ("reply",), required=True, after=("reader", "fixer"))]


def test_missing_required_roles_get_a_task_in_role_order_after_their_dependencies():
    planned = Plan(tasks=[PlannedTask(id="t1", description="Fix it", role="fixer", acceptance_criteria=["fixed"])])
    tasks = normalize_plan(planned, ROLES).tasks
    assert [(t.id, t.role) for t in tasks] == [("t1", "fixer"), ("t2", "reader"), ("t3", "writer")]
    reader, writer = tasks[1], tasks[2]
    assert reader.acceptance_criteria == ["states the record"]  # the role's criteria
    assert writer.acceptance_criteria == ["writes the reply."]  # none declared: its description
    assert "writer's part of this request: writes the reply." in writer.description
    assert writer.depends_on == ["t1", "t2"]


def test_a_plan_with_every_required_role_is_left_as_it_is():
    planned = Plan(tasks=[PlannedTask(id="a", description="Read", role="reader", acceptance_criteria=["x"]),
                          PlannedTask(id="b", description="Reply", role="writer", acceptance_criteria=["y"])])
    assert [t.id for t in normalize_plan(planned, ROLES).tasks] == ["a", "b"]


def test_fresh_ids_skip_the_ones_the_planner_used():
    planned = Plan(tasks=[PlannedTask(id="t2", description="Read", role="reader", acceptance_criteria=["x"])])
    assert [t.id for t in normalize_plan(planned, ROLES).tasks] == ["t2", "t3"]


def test_workflow_files_declare_required_roles():
    role = _role(RoleSpec(name="writer", description="writes", tools=["reply"], required=True))
    assert role.required is True


def run_watch(workflow, models, tmp_path, thread_id):
    """The vulnerability watch's graph on scripted models, asked for the report of 2026-W01 (a quiet week)."""
    graph = build_workflow(workflow, models=models, checkpointer=InMemorySaver(), ledger=Ledger(tmp_path / "l.db"),
                           store=None, audit=None)
    return graph.invoke({"messages": [("user", "Write the weekly vulnerability report for 2026-W01.")]},
                        {"configurable": {"thread_id": thread_id}})


def test_the_vulnerability_watch_writes_its_report_and_sends_its_notices_when_the_model_stops_early(tmp_path):
    """The planner stops after the analysis (the engine adds the reporter and the notifier); the notifier
    answers without sending what notification_plan lists, twice (its done check re-reads the outbox: the
    first time it reminds the worker, the second time, no progress made since, the task is revised)."""
    from taskwarden.workflows.vulnwatch.workflow import vulnerability_watch

    workflow = vulnerability_watch(tmp_path / "vulnwatch", today=lambda: TODAY)
    report = "# Vulnerability report 2026-W01\n\nA quiet week: no advisory affects us.\n"
    models = {
        "orchestrator": ScriptedChatModel(script=[plan(("t1", "analyst", "Read and classify last week", ()))]),
        "worker": ScriptedChatModel(script=[
            call("read_feed", when="(t1)", week="2026-W01"),
            say("2026-W01 had no advisories.", when="(t1)"),
            call("write_report", when="(t2)", week="2026-W01", markdown=report),
            say("Saved reports/2026-W01.md", when="(t2)"),
            call("notification_plan", when="(t3)", week="2026-W01"),
            say("Nothing needed sending.", when="(t3)"),  # a silent "done": the done check reminds it at once
            say("Nothing needed sending.", when="Do that now with a tool call"),  # ignored: the attempt ends and
            # the evaluate node's done check sends the task back
            call("notification_plan", when="still lists 1 pending notice(s), to #security", week="2026-W01"),
            call("send_message", when="(t3)", channel="#security", text="2026-W01: quiet week, report saved"),
            say("Notified #security.", when="(t3)")]),
        "evaluator": ScriptedChatModel(script=passes(3)),
    }
    out = run_watch(workflow, models, tmp_path, "vw-required")
    assert [t["role"] for t in out["plan"]["tasks"]] == ["analyst", "reporter", "notifier"]
    assert out["status"] == "completed"
    assert (tmp_path / "vulnwatch" / "reports" / "2026-W01.md").exists()
    assert out["tasks"]["t3"]["attempts"] == 2  # revised by the notifier's done check, not by a model
    assert [m.recipient for m in Outbox(tmp_path / "vulnwatch" / OUTBOX_FILE).messages()] == ["#security"]
    for model in models.values():
        model.assert_complete()


def test_the_vulnerability_watch_reporter_fixes_a_refused_report_and_the_notifier_announces_the_week_read(tmp_path):
    """Measured on the embedded model: the reporter answered "not saved because ..." after write_report refused
    its report (its done check reminds it before the answer is accepted), and the notifier asked notification_plan about a description's
    example week, found nothing pending and sent nothing (the week is blocked: no tool result showed it)."""
    from taskwarden.workflows.vulnwatch.workflow import vulnerability_watch

    workflow = vulnerability_watch(tmp_path / "vulnwatch", today=lambda: TODAY)
    wrong = "# Vulnerability report 2026-W01\n\n- CVE-2026-0001 critical (openssl)\n"  # an advisory of another week
    report = "# Vulnerability report 2026-W01\n\nA quiet week: no advisory affects us.\n"
    models = {
        "orchestrator": ScriptedChatModel(script=[plan(("t1", "analyst", "Read and classify 2026-W01", ()),
                                                       ("t2", "reporter", "Write the report", ("t1",)),
                                                       ("t3", "notifier", "Announce it", ("t1", "t2")))]),
        "worker": ScriptedChatModel(script=[
            call("read_feed", when="(t1)", week="2026-W01"),
            say("2026-W01 had no advisories: a quiet week.", when="(t1)"),
            call("write_report", when="(t2)", week="2026-W01", markdown=wrong),
            say("The report was not saved because write_report refused it.", when="(t2)"),
            call("write_report", when="the last write_report call was refused", week="2026-W01", markdown=report),
            say("Saved reports/2026-W01.md", when="(t2)"),
            call("notification_plan", when="(t3)", week="2026-W47"),  # the example week of a description
            call("notification_plan", when="notification_plan was blocked", week="2026-W01"),
            call("send_message", when="(t3)", channel="#security", text="2026-W01: quiet week, report saved"),
            say("Notified #security.", when="(t3)")]),
        "evaluator": ScriptedChatModel(script=passes(3)),
    }
    out = run_watch(workflow, models, tmp_path, "vw-refused-report")
    assert out["status"] == "completed"
    assert out["tasks"]["t2"]["attempts"] == 1  # reminded by the reporter's done check within the attempt
    assert (tmp_path / "vulnwatch" / "reports" / "2026-W01.md").read_text(encoding="utf-8") == report
    blocked = [a for a in out["tasks"]["t3"]["actions"] if a["outcome"] == "blocked"]
    assert [a["args"] for a in blocked] == [{"week": "2026-W47"}]
    assert [m.recipient for m in Outbox(tmp_path / "vulnwatch" / OUTBOX_FILE).messages()] == ["#security"]
    for model in models.values():
        model.assert_complete()


def test_every_refund_request_gets_a_reply(tmp_path):
    """Measured on the embedded model (day-29 laptop stand): the plan had the researcher and the refunder but
    no writer, so the refund was issued and the customer never heard of it."""
    from taskwarden.workflows.refunds.workflow import refund_desk

    roles = refund_desk(tmp_path / "refunds.db").roles
    planned = Plan(tasks=[PlannedTask(id="t1", description="Look up", role="researcher", acceptance_criteria=["x"]),
                          PlannedTask(id="t2", description="Refund", role="refunder", acceptance_criteria=["y"])])
    tasks = normalize_plan(planned, roles).tasks
    assert [(t.id, t.role, t.depends_on) for t in tasks] == [
        ("t1", "researcher", []), ("t2", "refunder", ["t1"]), ("t3", "writer", ["t1", "t2"])]
    assert [r.name for r in roles if r.required] == ["writer"]

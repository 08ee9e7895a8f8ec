"""Reliability interventions and confirmations as the CLI shows them: live lines, the audit timeline, review prompts."""

from __future__ import annotations

import io

from langgraph.types import Interrupt

from taskwarden.cli.audit import timeline_line
from taskwarden.cli.driver import interactive_reviewer
from taskwarden.cli.render import EventPrinter, describe_review
from taskwarden.graph.audit import AuditEntry
from taskwarden.graph.hitl import action_request, hitl_request

BLOCKED = {"event": "intervention", "task_id": "t2", "mechanism": "grounding", "action": "blocked",
           "tool": "issue_refund", "args": {"purchase_id": "P9999", "amount": 10.0},
           "message": "blocked ungrounded purchase_id 'P9999': it appears neither in the request nor in a tool result"}
STATEMENT = "I am about to refund $249.00 for purchase P1002 (Standing desk). Reply yes to confirm."
CONFIRMATION = hitl_request([action_request("issue_refund", {"purchase_id": "P1002", "amount": 249.0}, STATEMENT)],
                            [("approve", "reject", "response")], kind="confirmation", task_id="t2")


def printed(*events: dict) -> list[str]:
    out = io.StringIO()
    printer = EventPrinter(out)
    for event in events:
        printer(event)
    return out.getvalue().splitlines()


def test_an_intervention_is_one_line_naming_the_task_mechanism_action_tool_and_message():
    assert printed(BLOCKED) == ["  ! t2 grounding blocked issue_refund: blocked ungrounded purchase_id 'P9999': it "
                                "appears neither in the request nor in a tool result"]
    without_tool = {"event": "intervention", "task_id": "t1", "mechanism": "loop_recovery", "action": "replanned",
                    "message": "3 steps without progress: trying the task again with feedback"}
    assert printed(without_tool) == ["  ! t1 loop_recovery replanned: 3 steps without progress: trying the task again "
                                     "with feedback"]


def test_the_audit_timeline_summarises_an_intervention():
    payload = {k: v for k, v in BLOCKED.items() if k != "event"}
    line = timeline_line(AuditEntry(1, "th", 1, 0.0, "intervention", "work", "t2", payload))
    assert line.endswith("#1  intervention     t2    grounding blocked issue_refund: blocked ungrounded purchase_id "
                         "'P9999': it appears neither in the request nor in a tool result")
    odd = timeline_line(AuditEntry(2, "th", 1, 0.0, "intervention", "work", "t2", {"note": "from another version"}))
    assert odd.endswith('{"note": "from another version"}')  # shown raw, not an error


def test_a_confirmation_shows_the_statement_to_put_to_the_requester():
    assert describe_review(CONFIRMATION) == [
        "  [0] Confirm with the requester: issue_refund",
        f"      statement: {STATEMENT}",
        "      purchase_id: P1002",
        "      amount: 249.0",
        "      allowed: approve (the requester said yes), reject (the requester said no), "
        "response (the requester's own words)",
    ]
    approval = hitl_request([action_request("issue_refund", {"amount": 249.0}, "Refunds over $100 need approval")],
                            [("approve", "edit", "reject", "response")], kind="tool_approval", task_id="t2")
    assert describe_review(approval)[:2] == ["  [0] issue_refund", "      why: Refunds over $100 need approval"]


def test_the_interactive_prompt_asks_whether_the_requester_confirmed():
    questions: list[str] = []
    answers = iter(["e", "m", "yes, go ahead"])

    def read(question: str) -> str:
        questions.append(question)
        return next(answers)

    out = io.StringIO()
    review = interactive_reviewer(EventPrinter(out), read)
    resume = review([Interrupt(value=CONFIRMATION, id="i1")])
    assert resume == {"i1": {"decisions": [{"type": "response", "message": "yes, go ahead"}]}}
    assert questions[0] == ("  Confirm with the requester (issue_refund): [a]pprove (they said yes), [r]eject, "
                            "[m]essage (their reply), or [l]ater? ")
    assert "please answer one of" in out.getvalue()  # edit is not offered for a confirmation
    assert "  [0] Confirm with the requester: issue_refund" in out.getvalue()

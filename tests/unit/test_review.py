"""Human review of a risky tool call: the HITLRequest payload, and approve / edit / reject / response."""

from __future__ import annotations

import pytest
from langgraph.types import Command

from scripts import REFUND_PLAN, passes, plan, refund, reply, research
from taskwarden.graph.hitl import InvalidDecision, parse_decisions
from taskwarden.testing import say
from taskwarden.workflows.refunds.db import refunds_for

CFG = {"configurable": {"thread_id": "review-1"}}
REQUEST = {"messages": [("user", "alice@example.com: please refund my standing desk, order P1002")]}


def paused_refund(make_graph, worker_tail, evaluations=2):
    graph, models = make_graph(orchestrator=[REFUND_PLAN], worker=[*research(), *worker_tail],
                               evaluator=passes(evaluations))
    graph.invoke(REQUEST, CFG)
    return graph, models


def test_refund_over_100_interrupts_with_a_hitl_request(make_graph, refunds_db):
    graph, _ = paused_refund(make_graph, refund())
    state = graph.get_state(CFG)
    (pending,) = state.interrupts
    assert pending.value["action_requests"] == [{
        "name": "issue_refund",
        "args": {"purchase_id": "P1002", "amount": 249.0, "reason": "damaged", "customer_email": "alice@example.com"},
        "description": "Refunds over $100 need a human's approval. Task t2: Issue the refund if allowed",
    }]
    assert pending.value["review_configs"] == [{"action_name": "issue_refund",
                                                "allowed_decisions": ["approve", "edit", "reject", "response"]}]
    assert refunds_for(refunds_db) == [], "nothing is executed before the decision"
    graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), CFG)


def test_approve_executes_the_refund_once(make_graph, refunds_db):
    graph, _ = paused_refund(make_graph, refund())
    out = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), CFG)
    assert out["status"] == "completed"
    assert [(r["purchase_id"], r["amount"]) for r in refunds_for(refunds_db)] == [("P1002", 249.0)]
    action = out["tasks"]["t2"]["actions"][0]
    assert action["outcome"] == "executed"


def test_edit_changes_the_amount(make_graph, refunds_db):
    graph, models = paused_refund(make_graph, refund(answer="Refunded $80."))
    edited = {"name": "issue_refund", "args": {"purchase_id": "P1002", "amount": 80, "reason": "partial: damaged",
                                               "customer_email": "alice@example.com"}}
    out = graph.invoke(Command(resume={"decisions": [{"type": "edit", "edited_action": edited}]}), CFG)
    assert [(r["purchase_id"], r["amount"]) for r in refunds_for(refunds_db)] == [("P1002", 80.0)]
    observation = models["worker"].calls[-1].messages[-1].content
    assert "arguments edited by a human reviewer" in observation
    assert out["status"] == "completed"


@pytest.mark.parametrize("decision", [{"type": "reject", "message": "Customer already got a replacement."},
                                      {"type": "response", "message": "Offer a replacement instead."}])
def test_reject_or_response_does_not_execute_and_tells_the_worker(make_graph, refunds_db, decision):
    graph, models = paused_refund(make_graph, [*refund()[:1], say("No refund was issued.", when="(t2)")])
    out = graph.invoke(Command(resume={"decisions": [decision]}), CFG)
    assert refunds_for(refunds_db) == []
    observation = models["worker"].calls[-1].messages[-1].content
    assert decision["message"] in observation and "did not approve" in observation
    assert out["tasks"]["t2"]["actions"][0]["outcome"] == "rejected"


def test_a_reviewers_no_and_reason_reach_the_tasks_that_build_on_it(make_graph, refunds_db):
    """Measured: the reply to a refund the reviewer rejected left out the reviewer's reason (only the
    refunder's rejected call held it, and its answer did not repeat it)."""
    writer_plan = plan(("t1", "researcher", "Find the customer and check the policy", ()),
                       ("t2", "refunder", "Issue the refund if allowed", ("t1",)),
                       ("t3", "writer", "Draft the reply", ("t2",)))
    graph, models = make_graph(orchestrator=[writer_plan],
                               worker=[*research(), *refund()[:1], say("No refund was issued.", when="(t2)"),
                                       *reply(message="We have not issued a refund: send it for warranty repair.")],
                               evaluator=passes(3))
    graph.invoke(REQUEST, CFG)
    out = graph.invoke(Command(resume={"decisions": [{"type": "reject", "message": "Send it for warranty repair."}]}),
                       CFG)
    assert out["status"] == "completed" and refunds_for(refunds_db) == []
    writer_turn = next(c for c in models["worker"].calls if "(t3)" in c.messages[0].content)
    request = writer_turn.messages[1].content
    assert "- t2: No refund was issued. (a person declined its issue_refund call: A human reviewer did not approve " \
           "this call and says: Send it for warranty repair.)" in request
    refunder_turn = next(c for c in models["worker"].calls if "(t2)" in c.messages[0].content)
    assert "- t1: Customer found; P1002 is eligible." in refunder_turn.messages[1].content
    assert "declined" not in refunder_turn.messages[1].content, "a task with no declined call reads as it was"


def test_refund_under_100_runs_without_review(make_graph, refunds_db):
    graph, _ = make_graph(orchestrator=[REFUND_PLAN], worker=[*research("P1001"), *refund("P1001", 79.0)],
                          evaluator=passes(2))
    out = graph.invoke(REQUEST, CFG)
    assert out["status"] == "completed" and not graph.get_state(CFG).interrupts
    assert [r["purchase_id"] for r in refunds_for(refunds_db)] == ["P1001"]


def test_policy_is_enforced_even_when_the_model_errs(make_graph, refunds_db):
    """The model tries a refund outside the 30-day window and a tool its role was not granted."""
    from taskwarden.testing import call

    graph, models = make_graph(
        orchestrator=[REFUND_PLAN],
        worker=[*research("P2001", "bob@example.com"),
                call("issue_refund", when="(t2)", purchase_id="P2001", amount=129.0, reason="changed mind",
                     customer_email="bob@example.com"),
                call("draft_reply", when="(t2)", customer_id="C002", message="done"),
                say("Refused: outside the 30-day window.", when="(t2)")],
        evaluator=passes(2),
    )
    out = graph.invoke(REQUEST, CFG)
    assert not graph.get_state(CFG).interrupts, "a refund the tool refuses is never put to a reviewer"
    assert refunds_for(refunds_db) == []
    outcomes = [(a["tool"], a["outcome"]) for a in out["tasks"]["t2"]["actions"]]
    assert outcomes == [("issue_refund", "error"), ("draft_reply", "refused")]
    observations = [m.content for m in models["worker"].calls[-1].messages if m.type == "tool"]
    assert "(checked before it ran)" in observations[0] and "within 30 days" in observations[0]
    assert "not available to the refunder role" in observations[1]


def test_a_refund_of_another_customers_purchase_is_refused_before_any_review(make_graph, refunds_db, audit_log):
    """Measured (other-customer-carla-asks-alices-desk): the reviewer approved a $249 refund of Alice's P1002 for
    Carla, and only then did `issue_refund` refuse it. The tool's own checks now run before anyone is asked."""
    request = {"messages": [("user", "carla@example.com: refund order P1002, the standing desk, it arrived broken.")]}
    graph, models = make_graph(orchestrator=[REFUND_PLAN],
                               worker=[*research("P1002", "carla@example.com"),
                                       *refund("P1002", 249.0, "Not refunded: P1002 is not Carla's.",
                                               email="carla@example.com")],
                               evaluator=passes(2))
    out = graph.invoke(request, CFG)
    assert out["status"] == "completed" and not graph.get_state(CFG).interrupts
    assert out["reviews"] == [] and refunds_for(refunds_db) == []
    (action,) = out["tasks"]["t2"]["actions"]
    assert action["outcome"] == "error" and action["attempts"] == 0, "the tool never ran"
    assert "not on the account of carla@example.com" in action["errors"][0]
    kinds = [e.kind for e in audit_log.entries("review-1")]
    assert "tool_result" in kinds and "review_requested" not in kinds


@pytest.mark.parametrize("decision", [{"type": "approve"}, {"type": "reject", "message": "Refunded by phone."}])
def test_a_review_resumed_after_the_system_changed_keeps_the_reviewers_answer(make_graph, refunds_db, decision):
    """The precheck's verdict is kept from when the call was proposed: a run paused for approval that resumes after
    the purchase was refunded elsewhere records the reviewer's answer, and the tool still refuses a second refund."""
    import sqlite3

    graph, models = paused_refund(make_graph, refund(answer="Not refunded: it already was."))
    with sqlite3.connect(refunds_db) as conn:
        conn.execute("INSERT INTO refunds VALUES ('R1002', 'P1002', 249.0, 'by phone', '2026-11-20T10:00:00')")
    out = graph.invoke(Command(resume={"decisions": [decision]}), CFG)
    assert out["status"] == "completed"
    assert [r["decision"] for r in out["reviews"]] == [decision["type"]], "the reviewer's answer is kept"
    assert [r["reason"] for r in refunds_for(refunds_db)] == ["by phone"], "nothing refunded twice"
    (action,) = out["tasks"]["t2"]["actions"]
    if decision["type"] == "approve":
        assert action["outcome"] == "error" and "already refunded (R1002)" in action["summary"]
    else:
        assert action["outcome"] == "rejected"


@pytest.mark.parametrize("resume, error", [
    ("approve", "must be {\"decisions\""),
    ({"decisions": []}, "expected 1 decision"),
    ({"decisions": [{"type": "maybe"}]}, "needs a type"),
    ({"decisions": [{"type": "edit", "edited_action": {"name": "issue_refund"}}]}, "an edit needs"),
    ({"decisions": [{"type": "edit", "edited_action": {"name": "draft_reply", "args": {}}}]}, "not call 'draft_reply'"),
    ({"decisions": [{"type": "response", "message": ""}]}, "non-empty message"),
])
def test_malformed_decisions_are_refused(resume, error):
    request = {"action_requests": [{"name": "issue_refund", "args": {}, "description": ""}],
               "review_configs": [{"action_name": "issue_refund", "allowed_decisions": ["approve", "edit", "reject", "response"]}]}
    with pytest.raises(InvalidDecision, match=error.replace("(", r"\(")):
        parse_decisions(request, resume)


def test_malformed_resume_reasks_instead_of_breaking_the_run(make_graph, refunds_db):
    graph, _ = paused_refund(make_graph, refund())
    graph.invoke(Command(resume={"decisions": [{"type": "yes"}]}), CFG)
    (pending,) = graph.get_state(CFG).interrupts
    assert "needs a type" in pending.value["error"]
    assert refunds_for(refunds_db) == []
    out = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), CFG)
    assert out["status"] == "completed" and len(refunds_for(refunds_db)) == 1

"""The refund desk end to end on the real embedded model (llama.cpp + Qwen2.5-Coder-1.5B).

Assertions are on the refund database (the system's end state) and on what the run reports;
business rules hold in code whatever the model does.
"""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from taskwarden.evals.dataset import ReviewerPolicy
from taskwarden.evals.reviewer import decide
from taskwarden.graph import build_workflow
from taskwarden.tools.ledger import Ledger
from taskwarden.workflows.refunds.db import refunds_for, seed
from taskwarden.workflows.refunds.workflow import refund_desk

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]
APPROVE = ReviewerPolicy(decision="approve")  # approves; a task with no result is sent back to its worker


@pytest.fixture
def desk(tmp_path, local_server):
    db = seed(tmp_path / "refunds.db")
    graph = build_workflow(refund_desk(db), checkpointer=InMemorySaver(), ledger=Ledger(tmp_path / "ledger.db"),
                           store=None)  # each scenario on its own, without lessons from the others
    return graph, db


def run(graph, request, thread):
    config = {"configurable": {"thread_id": thread}}
    return graph.invoke({"messages": [("user", request)]}, config), config


def approve_all(graph, config, limit=5):
    """Approve every pending review (tool approvals and escalations) until the run ends."""
    for _ in range(limit):
        state = graph.get_state(config)
        if not state.interrupts:
            return state.values
        graph.invoke(Command(resume={i.id: decide(i.value, APPROVE, 0) for i in state.interrupts}), config)
    raise AssertionError("still waiting for review after approving repeatedly")


def test_refund_under_100_is_executed_without_review(desk):
    graph, db = desk
    out, config = run(graph, "Hi, this is alice@example.com. Please refund order P1001, the headphones stopped working.", "small")
    tool_reviews = [i for i in graph.get_state(config).interrupts if i.value.get("kind") == "tool_approval"]
    assert tool_reviews == [], "a $79 refund needs no approval"
    approve_all(graph, config)  # a possible evaluator escalation must not block the assertion below
    assert [(r["purchase_id"], r["amount"]) for r in refunds_for(db)] == [("P1001", 79.0)]


def test_refund_over_100_pauses_for_review_and_executes_once_after_approval(desk):
    graph, db = desk
    out, config = run(graph, "Hi, this is alice@example.com. Please refund my standing desk, order P1002: it arrived damaged.", "big")
    state = graph.get_state(config)
    approvals = [i for i in state.interrupts if i.value.get("kind") == "tool_approval"]
    assert approvals, f"expected an approval request, got {[i.value for i in state.interrupts]} / {out.get('final_answer')}"
    (request,) = approvals[0].value["action_requests"]
    assert request["name"] == "issue_refund" and request["args"]["purchase_id"] == "P1002"
    assert refunds_for(db) == [], "nothing is refunded before approval"
    approve_all(graph, config)
    assert [r["purchase_id"] for r in refunds_for(db)] == ["P1002"]


def test_45_day_old_purchase_is_refused_with_the_policy_cited(desk):
    graph, db = desk
    out, config = run(graph, "bob@example.com here: I want a refund for my coffee grinder, order P2001.", "old")
    final = approve_all(graph, config)  # even a human approving by mistake cannot break the 30-day rule
    assert refunds_for(db) == []
    answer = final["final_answer"].lower()
    assert "30" in answer or "policy" in answer or "window" in answer, final["final_answer"]


def test_unknown_customer_gets_a_clear_answer(desk):
    """draft_reply refuses a reply that claims a refund the database does not show (workflows/refunds/claims.py)."""
    graph, db = desk
    out, config = run(graph, "zoe@example.com: please refund my order P9999.", "unknown")
    final = approve_all(graph, config)
    assert refunds_for(db) == []
    answer = final["final_answer"].lower()
    assert any(word in answer for word in ("no customer", "not found", "find", "locate", "no account", "not exist",
                                           "unknown", "no record", "not registered")), final["final_answer"]

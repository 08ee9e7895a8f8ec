"""The engine on scripted models: plan, parallel work, evaluation, revision cap, budgets, repair."""

from __future__ import annotations

from langgraph.types import Command

from taskwarden.graph.usage import Budgets
from taskwarden.testing import call, say, structured
from taskwarden.workflows.refunds.db import refunds_for

from scripts import REFUND_PLAN, passes, plan, refund, research

CFG = {"configurable": {"thread_id": "t-1"}}
REQUEST = {"messages": [("user", "alice@example.com: refund order P1002, it arrived damaged")]}


def test_plan_parallel_workers_evaluation_finalize(make_graph):
    graph, models = make_graph(
        orchestrator=[plan(("a", "researcher", "Look up the customer", ()),
                           ("b", "researcher", "Check the policy for P1001", ()),
                           ("c", "writer", "Draft the reply", ("a", "b")))],
        worker=[call("lookup_customer", when="(a)", email="alice@example.com"), say("Alice is C001", when="(a)"),
                call("check_refund_policy", when="(b)", purchase_id="P1001"), say("P1001 is eligible", when="(b)"),
                call("draft_reply", when="(c)", customer_id="C001", message="Your refund is on its way."),
                say("Reply drafted.", when="(c)")],
        evaluator=passes(3),
    )
    out = graph.invoke(REQUEST, CFG)

    assert out["status"] == "completed"
    assert out["final_answer"] == "Reply drafted."
    assert {t["status"] for t in out["tasks"].values()} == {"passed"}
    # a and b were dispatched together (one superstep with two `work` tasks), c only after both passed
    nexts = [snap.next for snap in graph.get_state_history(CFG)]
    assert ("work", "work") in nexts
    writer_prompt = next(c.prompt for c in models["worker"].calls if "(c)" in c.prompt)
    assert "a: Alice is C001" in writer_prompt and "b: P1001 is eligible" in writer_prompt
    # least privilege: each worker saw only its role's tools
    researcher_calls = [c for c in models["worker"].calls if "(a)" in c.prompt]
    assert researcher_calls[0].tools == ["lookup_customer", "list_purchases", "check_refund_policy"]
    assert out["usage"]["steps"] == 1 + 6 + 3


def test_revise_loop_ends_at_its_cap_and_escalates(make_graph):
    revise = structured({"verdict": "revise", "feedback": "Name the purchase id."})
    graph, models = make_graph(
        orchestrator=[plan(("t1", "researcher", "Check the policy for P1001", ()))],
        worker=[say("Looks fine.", when="(t1)"), say("Still fine.", when="(t1)")],
        evaluator=[revise, revise],
        budgets=Budgets(max_revisions=1),
    )
    graph.invoke(REQUEST, CFG)

    state = graph.get_state(CFG)
    task = state.values["tasks"]["t1"]
    assert task["attempts"] == 2 and task["status"] == "escalated"
    assert task["escalation"]["kind"] == "revisions"
    (pending,) = state.interrupts
    assert pending.value["escalation_kind"] == "revisions"
    assert "Name the purchase id." in pending.value["action_requests"][0]["args"]["reason"]
    second_attempt = [c for c in models["worker"].calls][1]
    assert "Feedback on your previous attempt" in second_attempt.prompt and "Name the purchase id." in second_attempt.prompt

    out = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), CFG)
    assert out["status"] == "completed" and out["final_answer"] == "Still fine."


def test_budget_exhaustion_escalates_with_context_then_reviewer_extends_it(make_graph, refunds_db):
    graph, _ = make_graph(
        orchestrator=[REFUND_PLAN],
        worker=[*research(purchase="P1001"), *refund(purchase="P1001", amount=79.0)],
        evaluator=passes(2),
        budgets=Budgets(max_steps=4),
    )
    graph.invoke(REQUEST, CFG)

    state = graph.get_state(CFG)
    (pending,) = state.interrupts
    assert pending.value["escalation_kind"] == "budget"
    assert state.values["tasks"]["t1"]["status"] == "done", "t1 finished but its evaluation waits for budget"
    args = pending.value["action_requests"][0]["args"]
    assert "step budget spent (4/4 model calls)" in args["reason"]
    assert args["what_was_done"] and any("lookup_customer" in line for line in args["what_was_done"])
    assert pending.value["review_configs"][0]["allowed_decisions"] == ["approve", "reject", "response"]

    out = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), CFG)
    assert out["status"] == "completed"
    assert [r["purchase_id"] for r in refunds_for(refunds_db)] == ["P1001"]


def test_budget_rejection_stops_the_run_without_side_effects(make_graph, refunds_db):
    graph, _ = make_graph(orchestrator=[REFUND_PLAN], worker=research(purchase="P1001")[:2], evaluator=[],
                          budgets=Budgets(max_steps=3))
    graph.invoke(REQUEST, CFG)
    out = graph.invoke(Command(resume={"decisions": [{"type": "reject", "message": "too expensive"}]}), CFG)
    assert out["status"] == "rejected" and "too expensive" in out["final_answer"]
    assert refunds_for(refunds_db) == []


def test_invalid_plan_is_repaired_once(make_graph):
    graph, models = make_graph(
        orchestrator=[structured({"tasks": [{"id": "t1", "description": "Do it", "role": "accountant",
                                             "acceptance_criteria": ["done"]}]}),
                      plan(("t1", "researcher", "Check the policy for P1001", ()))],
        worker=[say("P1001 is eligible.", when="(t1)")],
        evaluator=passes(1),
    )
    out = graph.invoke(REQUEST, CFG)
    assert out["status"] == "completed"
    repair_prompt = models["orchestrator"].calls[1].prompt
    assert "unknown role 'accountant'" in repair_prompt and "Reply again with corrected JSON" in repair_prompt


def test_plan_still_invalid_after_repair_escalates(make_graph):
    graph, _ = make_graph(orchestrator=[structured("not json at all"), structured({"tasks": []})])
    graph.invoke(REQUEST, CFG)
    state = graph.get_state(CFG)
    (pending,) = state.interrupts
    assert pending.value["escalation_kind"] == "plan"
    assert "still invalid after 1 repair" in pending.value["action_requests"][0]["args"]["reason"]
    assert state.values["usage"]["steps"] == 2


def test_empty_worker_answer_is_sent_back_without_calling_the_evaluator(make_graph):
    graph, models = make_graph(
        orchestrator=[plan(("t1", "researcher", "Check the policy for P1001", ()))],
        worker=[say("", when="(t1)"), say("P1001 is eligible.", when="(t1)")],
        evaluator=passes(1),
    )
    out = graph.invoke(REQUEST, CFG)
    assert out["status"] == "completed"
    assert len(models["evaluator"].calls) == 1
    assert "The result was empty" in models["worker"].calls[1].prompt


def test_empty_request_is_refused_at_intake(make_graph):
    graph, _ = make_graph()
    out = graph.invoke({"messages": [("user", "   ")]}, CFG)
    assert out["status"] == "invalid" and "request is empty" in out["final_answer"]

"""The engine on scripted models: plan, parallel work, evaluation, revision cap, budgets, repair."""

from __future__ import annotations

import pytest
from langgraph.types import Command

from scripts import REFUND_PLAN, passes, plan, refund, research
from taskwarden.graph.usage import Budgets
from taskwarden.testing import call, say, structured
from taskwarden.workflows.refunds.db import refunds_for
from taskwarden.workflows.refunds.prompts import RESEARCHER_CRITERIA

CFG = {"configurable": {"thread_id": "t-1"}}
REQUEST = {"messages": [("user", "alice@example.com: refund order P1002, it arrived damaged")]}


def test_plan_parallel_workers_evaluation_finalize(make_graph):
    graph, models = make_graph(
        orchestrator=[plan(("a", "researcher", "Look up the customer", ()),
                           ("b", "researcher", "Check the policy for P1001", ()),
                           ("c", "writer", "Draft the reply", ("a", "b")))],
        worker=[call("lookup_customer", when="(a)", email="alice@example.com"), say("Alice is C001", when="(a)"),
                call("check_refund_policy", when="(b)", purchase_id="P1001"), say("P1001 is eligible", when="(b)"),
                call("draft_reply", when="(c)", customer_id="C001", message="We are looking into order P1001."),
                say("Reply drafted.", when="(c)")],
        evaluator=passes(3),
    )
    out = graph.invoke(REQUEST, CFG)

    assert out["status"] == "completed"
    assert out["final_answer"] == "We are looking into order P1001.", "the saved reply answers the run (answer_from)"
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
    revise = structured({"unmet_criteria": [RESEARCHER_CRITERIA[1]], "verdict": "revise",
                         "feedback": "Name the purchase id."})
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


def test_a_revision_needs_a_named_unmet_criterion(make_graph):
    """A vague "revise" (no unmet criterion named) counts as a pass; a named one sends the task back."""
    graph, models = make_graph(
        orchestrator=[plan(("t1", "researcher", "Check the policy for P1001", ()))],
        worker=[say("P1001 eligible.", when="(t1)")],
        evaluator=[structured({"verdict": "revise", "feedback": "Looks fine to me."})],
    )
    out = graph.invoke(REQUEST, CFG)
    assert out["tasks"]["t1"]["status"] == "passed" and out["tasks"]["t1"]["attempts"] == 1
    schema = models["evaluator"].calls[0].schema
    assert schema == "Evaluation"


def test_the_evaluator_may_only_name_the_tasks_own_criteria():
    from pydantic import ValidationError

    from taskwarden.agents.evaluator import evaluation_schema

    schema = evaluation_schema(["reply saved", "outcome stated"])
    assert schema.model_validate({"unmet_criteria": ["reply saved"]}).decided() == ("revise", "Not met: reply saved.")
    with pytest.raises(ValidationError):
        schema.model_validate({"unmet_criteria": ["something else"]})
    enum = schema.model_json_schema()["properties"]["unmet_criteria"]["items"]["enum"]
    assert enum == ["reply saved", "outcome stated"]


def test_plans_get_the_roles_declared_order_and_criteria(make_graph):
    """The planner forgot that the writer comes after the refunder, and wrote its own criteria."""
    from taskwarden.workflows.refunds.prompts import WRITER_CRITERIA

    graph, models = make_graph(
        orchestrator=[plan(("t1", "researcher", "Look up", ()), ("t2", "refunder", "Refund", ("t1",)),
                           ("t3", "writer", "Reply", ()))],
        worker=[say("C001, P1001 eligible.", when="(t1)"), call("check_refund_policy", when="(t2)", purchase_id="P1001"),
                say("No refund needed.", when="(t2)"),
                call("draft_reply", when="(t3)", customer_id="C001", message="Hello"), say("Drafted.", when="(t3)")],
        evaluator=passes(3),
    )
    out = graph.invoke(REQUEST, CFG)
    assert out["plan"]["tasks"][2]["depends_on"] == ["t1", "t2"]
    assert out["plan"]["tasks"][2]["acceptance_criteria"] == list(WRITER_CRITERIA)
    assert out["final_answer"] == "Hello"


def test_a_required_tool_is_asked_for_before_the_answer_counts(make_graph):
    graph, models = make_graph(
        orchestrator=[plan(("t1", "writer", "Draft the reply", ()))],
        worker=[say("Dear Alice, your refund is done.", when="(t1)"),
                call("draft_reply", when="(t1)", customer_id="C001", message="Dear Alice, we are on it."),
                say("Drafted the reply.", when="(t1)")],
        evaluator=passes(1),
    )
    out = graph.invoke(REQUEST, CFG)
    assert out["status"] == "completed"
    assert [c.tool_choice for c in models["worker"].calls] == ["draft_reply", "draft_reply", None]
    reminded = models["worker"].calls[1].messages[-1]
    assert reminded.type == "human" and "requires calling draft_reply" in reminded.content
    assert [a["tool"] for a in out["tasks"]["t1"]["actions"]] == ["draft_reply"]


def test_a_revision_sees_the_side_effects_of_earlier_attempts(make_graph, refunds_db):
    from taskwarden.workflows.refunds.prompts import REFUNDER_CRITERIA

    graph, models = make_graph(
        orchestrator=[plan(("t2", "refunder", "Refund P1001", ()))],
        worker=[call("issue_refund", when="(t2)", purchase_id="P1001", amount=79.0, reason="broken", customer_email="alice@example.com"),
                say("Done.", when="(t2)"), say("Refund R1001 of $79.00 issued.", when="(t2)")],
        evaluator=[structured({"unmet_criteria": [REFUNDER_CRITERIA[0]], "verdict": "revise"}), *passes(1)],
    )
    out = graph.invoke(REQUEST, CFG)
    assert out["status"] == "completed"
    second_attempt = models["worker"].calls[2].prompt
    assert "Actions already taken for this task in earlier attempts" in second_attempt
    assert ("issue_refund(purchase_id='P1001', amount=79.0, reason='broken', customer_email='alice@example.com') "
            "-> executed") in second_attempt
    assert len(refunds_for(refunds_db)) == 1


def test_without_a_saved_reply_the_final_tasks_answer(make_graph):
    graph, _ = make_graph(orchestrator=[plan(("t1", "researcher", "Check the policy for P1001", ()))],
                          worker=[say("P1001 is eligible.", when="(t1)")], evaluator=passes(1))
    assert graph.invoke(REQUEST, CFG)["final_answer"] == "P1001 is eligible."


def test_a_worker_that_may_change_state_must_act_before_it_answers(make_graph, refunds_db):
    """The 1.5B model once answered "Refund issued. Refund ID: R001" without any tool call."""
    from taskwarden.agents.prompts import GROUNDING_REMINDER

    graph, models = make_graph(
        orchestrator=[plan(("t1", "refunder", "Refund P1001 if allowed", ()))],
        worker=[say("Refund issued. Refund ID: R001, Amount: $79.0", when="(t1)"),
                call("issue_refund", when=GROUNDING_REMINDER, purchase_id="P1001", amount=79.0, reason="broken", customer_email="alice@example.com"),
                say("Refund R1001 issued for $79.", when="(t1)")],
        evaluator=passes(1),
    )
    out = graph.invoke(REQUEST, CFG)
    assert [c.tool_choice for c in models["worker"].calls] == [None, "any", None], "the tool call is forced once"
    assert [r["id"] for r in refunds_for(refunds_db)] == ["R1001"]
    assert out["tasks"]["t1"]["result"] == "Refund R1001 issued for $79."


def test_read_only_roles_and_answers_after_a_tool_call_are_not_reminded(make_graph):
    graph, models = make_graph(
        orchestrator=[plan(("t1", "researcher", "Summarise the request", ()))],
        worker=[say("Alice wants a refund for P1002.", when="(t1)")],
        evaluator=passes(1),
    )
    assert graph.invoke(REQUEST, CFG)["status"] == "completed"
    assert len(models["worker"].calls) == 1



def test_an_escalated_task_with_no_result_cannot_be_approved_only_sent_back_edited_or_rejected(make_graph):
    graph, _ = make_graph(
        orchestrator=[plan(("t1", "researcher", "Check the policy for P1001", ()))],
        worker=[say("", when="(t1)"), say("", when="(t1)"), say("P1001 is eligible for a refund.", when="(t1)")],
        evaluator=passes(1),
        budgets=Budgets(max_revisions=1),
    )
    graph.invoke(REQUEST, CFG)
    state = graph.get_state(CFG)
    assert state.values["tasks"]["t1"]["status"] == "escalated" and not state.values["tasks"]["t1"]["result"]
    (pending,) = state.interrupts
    assert pending.value["review_configs"][0]["allowed_decisions"] == ["edit", "reject", "response"]
    assert "no result to approve" in pending.value["action_requests"][0]["description"]

    graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), CFG)  # refused: asked again, with why
    (again,) = graph.get_state(CFG).interrupts
    assert "'approve' is not allowed" in again.value["error"]
    assert graph.get_state(CFG).values["tasks"]["t1"]["status"] == "escalated", "the refused approval changed nothing"

    out = graph.invoke(Command(resume={"decisions": [{"type": "response", "message": "Call check_refund_policy."}]}), CFG)
    assert out["status"] == "completed" and out["final_answer"] == "P1001 is eligible for a refund."

"""Each reliability mechanism, on scripted models that reproduce a small model's failure, ends correctly.

Failures reproduced (measured on the embedded 1.5B model and LangChain's prebuilt agent): an invented
or substituted id, a write without a lookup, an empty final answer, a repeated failing call, a write
when nothing was asked, a write whose effect is not there, and a write the requester did not confirm.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from scripts import TODAY, passes, plan, refund, research, scripted_tasks_only
from taskwarden.graph import build_workflow
from taskwarden.graph.context import Context
from taskwarden.graph.guards import disagrees_with_request
from taskwarden.graph.reliability import MECHANISMS, Reliability
from taskwarden.graph.workflow import Workflow
from taskwarden.testing import ScriptedChatModel, call, say, structured
from taskwarden.tools.executor import GatedCall
from taskwarden.tools.grounding import (
    Evidence,
    check_grounding,
    infer_rule,
    named_in_request,
    request_values,
    rules_for,
    substituted_lookup,
)
from taskwarden.tools.ledger import Ledger
from taskwarden.tools.policy import PolicyDecision
from taskwarden.tools.registry import NothingToCall, Role, tool_spec
from taskwarden.workflows.refunds.prompts import REFUNDER_CRITERIA
from taskwarden.workflows.refunds.workflow import refund_desk

CFG = {"configurable": {"thread_id": "rel-1"}}
ALICE = "alice@example.com"
REFUND_ONLY = plan(("t1", "refunder", "Refund the purchase the customer asked about", ()))
LOOKUP_THEN_REFUND = plan(("t1", "researcher", "Find the customer and check the policy", ()),
                          ("t2", "refunder", "Issue the refund if allowed", ("t1",)))


def tool(name, *args, **options):
    """A side-effecting test tool taking string arguments `args`."""
    fn = eval(f"lambda {', '.join(args)}: 'ok'")  # noqa: S307 - fixed test source
    fn.__doc__ = f"{name} for tests."
    return tool_spec(fn, name=name, **options)


def refunds_for(db):
    import sqlite3
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT purchase_id FROM refunds ORDER BY purchase_id")]


@pytest.fixture
def desk(refunds_db):
    wf = refund_desk(refunds_db, today=lambda: TODAY)
    wf.confirm = ()  # confirmation has its own tests
    return scripted_tasks_only(wf)  # and so has the required writer


def run(workflow, tmp_path, *, orchestrator, worker, evaluator, request, context=None, resume=()):
    models = {"orchestrator": ScriptedChatModel(script=list(orchestrator)),
              "worker": ScriptedChatModel(script=list(worker)), "evaluator": ScriptedChatModel(script=list(evaluator))}
    graph = build_workflow(workflow, models=models, checkpointer=InMemorySaver(), ledger=Ledger(tmp_path / "l.db"),
                           store=None, audit=None)
    events = []
    payload = {"messages": [("user", request)]}
    answers = list(resume)
    while True:
        for _ns, mode, chunk in graph.stream(payload, CFG, context=context or Context(),
                                             stream_mode=["custom", "values"], subgraphs=True):
            if mode == "custom":
                events.append(chunk)
        interrupts = graph.get_state(CFG).interrupts
        if not interrupts or not answers:
            break
        payload = Command(resume={interrupts[0].id: answers.pop(0)})
    for model in models.values():
        model.assert_complete()
    return graph.get_state(CFG).values, events, models


def interventions(events, mechanism=None):
    return [e for e in events if e["event"] == "intervention" and mechanism in (None, e["mechanism"])]


# --- grounding rules (pure) ---------------------------------------------------------------------------

def test_rules_are_inferred_from_names_and_declared_rules_win(desk):
    assert infer_rule("purchase_id") == "observed" and infer_rule("order_number") == "observed"
    assert infer_rule("email") == "seen" and infer_rule("customer_email") == "seen"
    assert infer_rule("reason") == "free" and infer_rule("amount", {"type": "number"}) == "free"
    assert rules_for(desk.registry.get("issue_refund"))["purchase_id"] == "observed"
    declared = tool("noted", "order_id", "note", grounding={"order_id": "free"})
    assert rules_for(declared)["order_id"] == "free"
    # the schema is read once per tool (read on every call, it was about a third of our overhead over plain LangGraph)
    assert declared.arg_schemas is declared.arg_schemas and set(declared.arg_schemas) == {"order_id", "note"}


@pytest.mark.parametrize(("request_text", "values"), [
    ("Maya Patel filled in our web form; route her lead.", ["Maya Patel"]),
    ("Route Sam Ortiz's lead.", ["Sam Ortiz"]),
    ("Please route the new lead from Hooli.", ["Hooli"]),
    ("Route the lead from pinnaclefoods.com.", ["pinnaclefoods.com"]),
    ("alice@example.com: please refund order P1001.", ["alice@example.com", "P1001"]),
    ("A new lead arrived: L007, Sara Lind <sara@quincymfg.com>. Route it.", ["sara@quincymfg.com", "L007", "Sara Lind"]),
    ("route it, thanks", []),
])
def test_what_a_request_gives_to_search_by(request_text, values):
    assert request_values(request_text) == values


def test_a_value_is_grounded_by_a_whole_token_not_a_substring():
    spec = tool("cancel", "order_id")
    seen = Evidence("cancel my order", ('{"orders": ["W0000012"]}',))
    assert check_grounding(spec, {"order_id": "W0000012"}, seen) == []
    [problem] = check_grounding(spec, {"order_id": "W000001"}, seen)
    assert problem.describe().startswith("ungrounded order_id 'W000001'")


def test_a_read_of_another_record_waits_until_the_named_one_was_looked_up():
    spec = tool("check_it", "purchase_id")
    assert substituted_lookup(spec, {"purchase_id": "P1001"}, "refund P9999", []) == ("purchase_id", "P1001", ["P9999"])
    assert substituted_lookup(spec, {"purchase_id": "P1001"}, "refund P9999", ["purchase_id='P9999'"]) is None
    assert substituted_lookup(spec, {"purchase_id": "P9999"}, "refund P9999", []) is None
    assert substituted_lookup(spec, {"purchase_id": "P1001"}, "refund my desk", []) is None  # nothing named


def test_the_record_the_request_names_wins_over_one_the_model_saw():
    assert named_in_request("P1001", "alice here: refund P9999 please") == ["P9999"]
    assert named_in_request("1001", "refund 1234") == []  # plain numbers are too common to mean a record
    spec = tool("refund_it", "purchase_id")
    [problem] = check_grounding(spec, {"purchase_id": "P1001"}, Evidence("refund P9999", ('"P1001"',)))
    assert "names P9999, not P1001" in problem.reason


@pytest.mark.parametrize(("problem", "ending"), [
    ("the request names Priya: pass owner='Priya'", "Call assign again with that change."),
    (NothingToCall("the request names ../x.db, which is not in the inbox"),
     "Do not call assign again: give your final answer."),
])
def test_a_request_check_problem_says_to_change_the_call_or_when_none_fits_to_answer(problem, ending):
    """Measured: told "Call flag_exception again with that change" after a request check found the named document
    missing, the payer tried twice more and copied that sentence into its answer."""
    spec = tool("assign", "lead", "owner", request_check=lambda args, request: problem)
    gated = GatedCall(call_id="c1", name="assign", args={"lead": "L1", "owner": ""}, spec=spec,
                      decision=PolicyDecision("allow"))
    block = disagrees_with_request(gated, Reliability(), "Assign L1")
    assert block.mechanism == "grounding" and block.observation.endswith(ending)
    assert block.observation.startswith(f"Not run: assign was blocked: {problem}.")
    assert disagrees_with_request(gated, Reliability(grounding=False), "Assign L1") is None


def test_unknown_mechanisms_and_bad_rules_are_clear_errors():
    with pytest.raises(ValueError, match="unknown reliability mechanism"):
        Context(disable=("grounding", "telepathy"))
    with pytest.raises(ValueError, match="grounding rules must be among"):
        tool("t", "x_id", grounding={"x_id": "somewhere"})
    with pytest.raises(ValueError, match="intent is not a regular expression"):
        tool("t", "x", intent="(")
    assert Reliability().without(MECHANISMS).enabled() == []


# --- invented or substituted ids -------------------------------------------------------------------------

def test_an_invented_id_is_blocked_and_the_model_is_told_how_to_find_the_real_one(desk, refunds_db, tmp_path):
    state, events, models = run(
        desk, tmp_path, request=f"{ALICE}: please refund my standing desk, order P1002, it arrived damaged",
        orchestrator=[LOOKUP_THEN_REFUND],
        worker=[call("lookup_customer", when="(t1)", email=ALICE),
                call("check_refund_policy", when="(t1)", purchase_id="P1002"),
                say("C001; P1002 is eligible.", when="(t1)"),
                call("issue_refund", when="(t2)", purchase_id="P1009", amount=249.0, reason="damaged",
                     customer_email=ALICE),
                call("issue_refund", when="ungrounded purchase_id 'P1009'", purchase_id="P1002", amount=249.0,
                     reason="damaged", customer_email=ALICE),
                say("Refund R1002 issued for $249.", when="R1002")],
        evaluator=passes(2), context=Context(max_revisions=1), resume=[{"decisions": [{"type": "approve"}]}])
    assert refunds_for(refunds_db) == ["P1002"] and state["status"] == "completed"
    [blocked] = interventions(events, "grounding")
    assert blocked["action"] == "blocked" and "ungrounded purchase_id 'P1009'" in blocked["message"]
    assert [a["outcome"] for a in state["tasks"]["t2"]["actions"]] == ["blocked", "executed"]
    assert "check_refund_policy" in state["tasks"]["t2"]["actions"][0]["summary"]  # which read tool finds it


def test_a_substituted_id_is_blocked_and_nothing_is_refunded(desk, refunds_db, tmp_path):
    """Measured on the embedded model: 'refund P9999' (no such purchase) refunded the customer's P1001."""
    state, events, _ = run(
        desk, tmp_path, request=f"{ALICE}: please refund order P9999",
        orchestrator=[LOOKUP_THEN_REFUND],
        worker=[call("lookup_customer", when="(t1)", email=ALICE),
                call("list_purchases", when="(t1)", customer_id="C001"),
                say("C001 has P1001 and P1002; no P9999.", when="(t1)"),
                call("issue_refund", when="(t2)", purchase_id="P1001", amount=79.0, reason="asked",
                     customer_email=ALICE),
                say("No refund: there is no purchase P9999 on this account.", when="names P9999, not P1001")],
        evaluator=passes(2))
    assert refunds_for(refunds_db) == [] and state["status"] == "completed"
    assert "the request names P9999, not P1001" in interventions(events, "grounding")[0]["message"]


def test_a_reply_to_another_customer_than_the_requester_is_blocked_and_saved_for_the_requester(desk, refunds_db,
                                                                                                tmp_path):
    """Measured on the embedded model: Dan asked for Carla's P3001; the refunder's answer named her (C003) and the
    writer saved Dan's reply, about her order, for Carla."""
    from taskwarden.workflows.refunds.db import reply_drafts

    dan = "dan@example.com"
    state, events, _ = run(
        desk, tmp_path, request=f"{dan}: I want a refund for order P3001.",
        orchestrator=[plan(("t1", "researcher", "Find the customer and check the policy", ()),
                           ("t2", "writer", "Reply to the customer", ("t1",)))],
        worker=[call("lookup_customer", when="(t1)", email=dan),
                call("check_refund_policy", when="(t1)", purchase_id="P3001"),
                say("Dan is C004; P3001 belongs to C003, not to him.", when="(t1)"),
                call("draft_reply", when="(t2)", customer_id="C003", message="P3001 is not yours."),
                call("draft_reply", when="call draft_reply with customer_id 'C004'", customer_id="C004",
                     message="We could not refund P3001: it is not on your account."),
                say("Reply saved for C004.", when="(t2)")],
        evaluator=passes(2))
    assert [d["customer_id"] for d in reply_drafts(refunds_db)] == ["C004"], "nothing was saved for Carla"
    assert [a["outcome"] for a in state["tasks"]["t2"]["actions"]] == ["blocked", "executed"]
    [blocked] = interventions(events, "grounding")
    assert "the reply goes only to the customer who asked: dan@example.com (customer C004), not 'C003'" in \
        blocked["message"]


DESK_REFUND = {"purchase_id": "P1002", "amount": 249.0, "reason": "damaged", "customer_email": ALICE}


def _refund_made_twice(desk, tmp_path, decision, *, after):
    """The refunder proposes the same $249 refund of P1002 twice: the reviewer answers the first with `decision`,
    and the second comes once the model has read `after` (the first's result)."""
    state, _, models = run(
        desk, tmp_path, request=f"{ALICE}: please refund my standing desk, order P1002, it arrived damaged",
        orchestrator=[LOOKUP_THEN_REFUND],
        worker=[*research(),
                call("issue_refund", when="(t2)", **DESK_REFUND),
                call("issue_refund", when=after, **DESK_REFUND),
                say("Refund R1002 issued.", when="Already done in this task")],
        evaluator=passes(2), resume=[{"decisions": [decision]}])
    return state, models


def test_a_write_repeated_after_its_approval_is_replayed_without_asking_again(desk, refunds_db, tmp_path):
    """Measured on the embedded model: after paging the on-call engineer (approved), the notifier sent the same
    page 3 more times, each asking the reviewer again, until the reviewer's limit rejected the run."""
    state, models = _refund_made_twice(desk, tmp_path, {"type": "approve"}, after='"refund_id": "R1002"')
    assert state["status"] == "completed" and refunds_for(refunds_db) == ["P1002"]
    assert [r["kind"] for r in state["reviews"]] == ["tool_approval"], "asked once, not again for the repeat"
    assert [a["outcome"] for a in state["tasks"]["t2"]["actions"]] == ["executed", "replayed"]
    repeat = models["worker"].calls[-1].prompt
    assert "Already done in this task, so it was not done again (nobody was asked again either)" in repeat


def test_a_call_repeated_as_the_model_proposed_it_after_a_reviewers_edit_replays_the_edited_one(desk, refunds_db,
                                                                                                  tmp_path):
    """Measured on the embedded model: a reviewer rewrote a page; the notifier then sent its own text again, which
    asked the reviewer again each time until the reviewer's limit rejected the run."""
    edit = {"type": "edit", "edited_action": {"name": "issue_refund", "args": {**DESK_REFUND, "amount": 200.0}}}
    state, models = _refund_made_twice(desk, tmp_path, edit, after='"amount": 200.0')
    assert state["status"] == "completed" and refunds_for(refunds_db) == ["P1002"]
    assert [r["kind"] for r in state["reviews"]] == ["tool_approval"], "the reviewer is asked once"
    first, again = state["tasks"]["t2"]["actions"]
    assert (first["outcome"], first["args"]["amount"], first["proposed"]["amount"]) == ("executed", 200.0, 249.0)
    assert (again["outcome"], again["args"]["amount"]) == ("replayed", 200.0), "the edited call, not the proposed one"
    assert "(arguments edited by a human reviewer)" in models["worker"].calls[-1].prompt


def test_a_lookup_of_another_record_than_the_one_named_runs_on_the_named_one_first(desk, refunds_db, tmp_path):
    """Measured on the embedded model: asked to refund P9999, the researcher checked the customer's P1001
    and reported it eligible; the whole run went on about P1001. Asked by Dan for Carla's P3001 and told (the call
    blocked) to check P3001, it read its own P4001 six times in three attempts: the read now runs on P3001."""
    state, events, models = run(
        desk, tmp_path, request=f"{ALICE}: please refund order P9999",
        orchestrator=[LOOKUP_THEN_REFUND],
        worker=[call("check_refund_policy", when="(t1)", purchase_id="P1001"),
                call("check_refund_policy", when="no purchase with id 'P9999'", purchase_id="P1001"),
                say("No purchase P9999 exists; Alice's P1001 is a different order.", when='"eligible": true'),
                call("check_refund_policy", when="(t2)", purchase_id="P9999"),
                say("No refund: there is no purchase P9999.", when="(t2)")],
        evaluator=passes(2))
    assert refunds_for(refunds_db) == [] and state["status"] == "completed"
    [redirected] = interventions(events, "look_before_act")
    assert redirected["action"] == "redirected" and redirected["tool"] == "check_refund_policy"
    assert redirected["args"] == {"purchase_id": "P9999"}
    assert "with purchase_id 'P9999', which the request names, instead of 'P1001'" in redirected["message"]
    t1 = state["tasks"]["t1"]["actions"]
    assert [(a["args"]["purchase_id"], a["outcome"]) for a in t1] == [("P9999", "error"), ("P1001", "executed")], \
        "the named record first; once it was looked up (not found), others may be read"
    seen = next(c.prompt for c in models["worker"].calls if "no purchase with id 'P9999'" in c.prompt)
    assert "Ran check_refund_policy with purchase_id='P9999' instead of 'P1001': the request names P9999" in seen


def test_a_write_without_a_lookup_is_sent_to_read_first(desk, refunds_db, tmp_path):
    state, events, models = run(
        desk, tmp_path, request=f"{ALICE}: refund my headphones, order P1001",
        orchestrator=[REFUND_ONLY],
        worker=[call("issue_refund", when="(t1)", purchase_id="P1001", amount=79.0, reason="asked",
                     customer_email=ALICE),
                call("check_refund_policy", when="read the record first", purchase_id="P1001"),
                call("issue_refund", when='"eligible": true', purchase_id="P1001", amount=79.0, reason="asked",
                     customer_email=ALICE),
                say("Refund R1001 issued for $79.", when="R1001")],
        evaluator=passes(1))
    assert refunds_for(refunds_db) == ["P1001"]
    [blocked] = interventions(events, "look_before_act")
    assert "only in the request" in blocked["message"]
    # with the mechanism off, the same script writes straight away
    assert "look_before_act" in MECHANISMS


def test_switching_grounding_off_lets_the_invented_id_through(desk, refunds_db, tmp_path):
    """The ablation path: the same failure, with the mechanisms off, makes the wrong refund."""
    state, events, _ = run(
        desk, tmp_path, request=f"{ALICE}: please refund order P9999",
        orchestrator=[REFUND_ONLY],
        worker=[call("issue_refund", when="(t1)", purchase_id="P1001", amount=79.0, reason="asked",
                     customer_email=ALICE),
                say("Refund issued.", when="R1001")],
        evaluator=passes(1), context=Context(disable=("grounding", "look_before_act", "verify_after_write")))
    assert refunds_for(refunds_db) == ["P1001"] and not interventions(events, "grounding")


# --- stalls and loops --------------------------------------------------------------------------------------

def test_an_empty_final_answer_gets_a_corrective_message_then_the_task_finishes(desk, refunds_db, tmp_path):
    state, events, models = run(
        desk, tmp_path, request=f"{ALICE}: is order P1002 still refundable?",
        orchestrator=[plan(("t1", "researcher", "Check whether P1002 can be refunded", ()))],
        worker=[call("check_refund_policy", when="(t1)", purchase_id="P1002"),
                say("  ", when='"eligible": true'),
                say("P1002 was bought 3 days ago and can be refunded.", when="Your reply was empty")],
        evaluator=passes(1))
    assert state["status"] == "completed" and "can be refunded" in state["tasks"]["t1"]["result"]
    [fixed] = interventions(events, "loop_recovery")
    assert fixed["action"] == "corrected" and "empty" in fixed["message"]


def test_a_final_answer_that_restates_the_criteria_gets_a_corrective_message(desk, refunds_db, tmp_path):
    state, events, models = run(
        desk, tmp_path, request=f"{ALICE}: is order P1002 still refundable?",
        orchestrator=[plan(("t1", "researcher", "Check whether P1002 can be refunded", ()))],
        worker=[call("check_refund_policy", when="(t1)", purchase_id="P1002"),
                # the researcher's criteria: "states the purchase id and whether the policy allows a refund, ..."
                say("P1002: the purchase id and whether the policy allows a refund, or what could not be found.",
                    when='"eligible": true'),
                say("P1002 was bought 3 days ago: within the 30-day window, it can be refunded.",
                    when="a copy of the task's acceptance criteria")],
        evaluator=passes(1))
    assert state["status"] == "completed" and "30-day window" in state["tasks"]["t1"]["result"]
    [fixed] = interventions(events, "loop_recovery")
    assert fixed["action"] == "corrected" and "acceptance criteria" in fixed["message"]


def test_a_second_stall_replans_the_task_and_a_third_escalates(desk, refunds_db, tmp_path):
    # a request naming no purchase: the researcher's done check (which would name one to check) stays silent
    state, events, _ = run(
        desk, tmp_path, request=f"{ALICE}: how many days do I have to ask for a refund?",
        orchestrator=[plan(("t1", "researcher", "Find Alice's purchases and the refund window", ()))],
        worker=[say("", when="(t1)"), say("", when="Your reply was empty"),
                say("...", when="previous attempt stalled"), say("", when="Your reply was empty")],
        evaluator=[], context=Context(max_revisions=1))
    actions = [(e["action"]) for e in interventions(events, "loop_recovery")]
    assert actions == ["corrected", "escalated", "replanned", "corrected", "escalated"]
    task = state["tasks"]["t1"]
    assert task["status"] == "escalated" and task["escalation"]["kind"] == "stalled" and task["attempts"] == 2
    assert refunds_for(refunds_db) == []


def test_a_first_task_that_answers_without_reading_is_sent_to_its_tools(desk, refunds_db, tmp_path):
    """Measured on the embedded model: the vulnerability watch's analyst answered "the report was written"
    without reading the feed, and the evaluator passed it."""
    state, events, models = run(
        desk, tmp_path, request=f"{ALICE}: is order P1002 still refundable?",
        orchestrator=[plan(("t1", "researcher", "Check whether P1002 can be refunded", ()))],
        worker=[say("Yes, P1002 is refundable.", when="(t1)"),
                call("check_refund_policy", when="you answered without using a tool", purchase_id="P1002"),
                say("P1002 can be refunded (3 days old).", when='"eligible": true')],
        evaluator=passes(1))
    assert [a["outcome"] for a in state["tasks"]["t1"]["actions"]] == ["executed"]
    assert models["worker"].calls[1].tool_choice == "any"  # the reminder forces a tool call
    assert state["tasks"]["t1"]["result"] == "P1002 can be refunded (3 days old)."


def test_a_repeated_failing_call_is_not_run_again(desk, refunds_db, tmp_path):
    state, events, models = run(
        desk, tmp_path, request=f"{ALICE}: is order P1002 still refundable?",
        orchestrator=[plan(("t1", "researcher", "Check whether P1002 can be refunded", ()))],
        worker=[call("check_refund_policy", when="(t1)", purchase_id="1002"),
                call("check_refund_policy", when="is not a purchase id", purchase_id="1002"),
                call("check_refund_policy", when="already failed in this task", purchase_id="P1002"),
                say("P1002 can be refunded (3 days old).", when='"eligible": true')],
        evaluator=passes(1))
    outcomes = [a["outcome"] for a in state["tasks"]["t1"]["actions"]]
    assert outcomes == ["error", "blocked", "executed"] and state["status"] == "completed"
    [blocked] = interventions(events, "loop_recovery")
    assert "repeat of a failed call" in blocked["message"]


def test_re_reading_the_same_record_between_two_failing_lookups_is_still_a_loop(desk, refunds_db, tmp_path):
    """Measured on the embedded model (invoices): read the invoice, look up its missing PO, read the invoice
    again, look up the PO again... 33 model calls until the step limits escalated it."""
    state, events, models = run(
        desk, tmp_path, request=f"{ALICE}: is order P9999 still refundable?",
        orchestrator=[plan(("t1", "researcher", "Check whether P9999 can be refunded", ()))],
        worker=[call("lookup_customer", when="(t1)", email=ALICE),
                call("check_refund_policy", when="C001", purchase_id="P9999"),
                call("lookup_customer", when="no purchase with id 'P9999'", email=ALICE),
                call("check_refund_policy", when="C001", purchase_id="P9999"),
                say("There is no purchase P9999.", when="already failed in this task")],
        evaluator=passes(1))
    outcomes = [a["outcome"] for a in state["tasks"]["t1"]["actions"]]
    assert outcomes == ["executed", "error", "executed", "blocked"] and state["status"] == "completed"
    assert "not found is a finding, not a failure to retry" in models["worker"].calls[2].prompt  # the not-found hint
    [blocked] = interventions(events, "loop_recovery")
    assert "repeat of a failed call" in blocked["message"]


def test_steps_without_progress_get_a_nudge(desk, refunds_db, tmp_path):
    desk.reliability = Reliability(max_steps_without_progress=2)
    state, events, _ = run(
        desk, tmp_path, request=f"{ALICE}: is order P1002 still refundable?",
        orchestrator=[plan(("t1", "researcher", "Check whether P1002 can be refunded", ()))],
        worker=[call("check_refund_policy", when="(t1)", purchase_id="P1002"),
                call("check_refund_policy", when='"eligible": true', purchase_id="P1002"),
                call("check_refund_policy", when='"eligible": true', purchase_id="P1002"),
                say("P1002 can be refunded.", when="without a new tool result")],
        evaluator=passes(1))
    assert state["status"] == "completed"
    assert [e["action"] for e in interventions(events, "loop_recovery")] == ["corrected"]


# --- nothing asked, verify after write, confirm before write ------------------------------------------------

def test_a_write_when_nothing_was_asked_is_blocked_and_the_run_says_why(desk, refunds_db, tmp_path):
    state, events, _ = run(
        desk, tmp_path, request=f"{ALICE}: when did I buy the standing desk, order P1002?",
        orchestrator=[LOOKUP_THEN_REFUND],
        worker=[call("check_refund_policy", when="(t1)", purchase_id="P1002"),
                say("P1002 was bought 3 days ago.", when="(t1)"),
                call("issue_refund", when="(t2)", purchase_id="P1002", amount=249.0, reason="eligible",
                     customer_email=ALICE),
                say("No refund was made: the customer only asked when they bought it.",
                    when="does not ask for what issue_refund does")],
        evaluator=passes(2))
    assert refunds_for(refunds_db) == [] and state["status"] == "completed"
    assert interventions(events, "nothing_asked")[0]["action"] == "blocked"


def _notes_workflow(lose_writes: bool) -> tuple[Workflow, dict]:
    notes: dict[str, str] = {}

    def save_note(note_id: str, text: str) -> str:
        """Save a note."""
        if not lose_writes:
            notes[note_id] = text
        return json.dumps({"saved": note_id})

    def read_note(note_id: str) -> str:
        """Read a note."""
        return json.dumps({"note_id": note_id, "text": notes.get(note_id)})

    def verify(args, result):
        return None if notes.get(args["note_id"]) == args["text"] else f"note {args['note_id']} does not hold the text"

    wf = Workflow(name="notes", description="notes", instructions="Save notes.",
                  roles=[Role("scribe", "saves notes", ("save_note",))],
                  tools=[tool_spec(save_note, risk="write", grounding={"note_id": "free"}, verify=verify),
                         tool_spec(read_note, risk="read")])
    return wf, notes


@pytest.mark.parametrize("lose_writes", [False, True])
def test_a_write_is_verified_by_re_reading_the_system(tmp_path, lose_writes):
    wf, notes = _notes_workflow(lose_writes)
    state, events, _ = run(
        wf, tmp_path, request="save note n1 saying hello",
        orchestrator=[plan(("t1", "scribe", "Save note n1", ()))],
        worker=[call("save_note", when="(t1)", note_id="n1", text="hello"), say("Saved n1.", when="saved"),
                *([call("save_note", when="Verify after write", note_id="n1", text="hello"),
                   say("Saved n1 again.", when="Verify after write")] if lose_writes else [])],
        evaluator=passes(0 if lose_writes else 1), context=Context(max_revisions=1))
    checks = [e["action"] for e in interventions(events, "verify_after_write")]
    if lose_writes:  # a lost write is revised, then escalated when it still is not there
        assert checks == ["mismatch", "mismatch"] and state["tasks"]["t1"]["status"] == "escalated"
        assert "does not hold the text" in state["tasks"]["t1"]["escalation"]["reason"]
    else:
        assert checks == ["verified"] and state["status"] == "completed" and notes == {"n1": "hello"}


def test_a_refunder_that_settles_one_of_two_asked_purchases_is_told_the_other_is_undone(desk, refunds_db, tmp_path):
    """Measured on the embedded model: asked for P4001 and P4002, the refunder refunded P4001 and answered."""
    dan = "dan@example.com"
    state, events, _ = run(
        desk, tmp_path, request=f"{dan}: I'm returning the keyboard (P4001) and the mouse (P4002), please refund them.",
        orchestrator=[LOOKUP_THEN_REFUND],
        worker=[call("lookup_customer", when="(t1)", email=dan),
                call("check_refund_policy", when="(t1)", purchase_id="P4001"),
                call("check_refund_policy", when="(t1)", purchase_id="P4002"),
                say("C004; P4001 and P4002 are eligible.", when="(t1)"),
                call("issue_refund", when="(t2)", purchase_id="P4001", amount=99.0, reason="returned",
                     customer_email=dan),
                say("Refund R4001 issued for $99.", when="R4001"),
                call("issue_refund", when="Not finished yet", purchase_id="P4002", amount=100.0, reason="returned",
                     customer_email=dan),
                say("Refunds R4001 ($99) and R4002 ($100) issued.", when="R4002")],
        evaluator=passes(2))
    assert refunds_for(refunds_db) == ["P4001", "P4002"] and state["status"] == "completed"
    [reminder] = [e for e in interventions(events, "verify_after_write") if e["action"] == "unfinished"]
    assert "P4002 (Ergonomic mouse, $100.00" in reminder["message"]


@pytest.mark.parametrize("refunded", [True, False])
def test_a_task_at_its_step_limit_with_nothing_undone_finishes_instead_of_escalating(desk, refunds_db, tmp_path,
                                                                                     refunded):
    """Measured on the embedded model (vulnwatch): after a page was declined, the notifier replayed its sent
    notices until its 8 calls were spent, and the reviewer rejected the budget escalation. A task whose done
    check still finds work undone escalates as before."""
    desk.budgets = dataclasses.replace(desk.budgets, max_task_steps=3)
    again = call("issue_refund", when="(t2)", **DESK_REFUND) if refunded else \
        call("check_refund_policy", when="(t2)", purchase_id="P1002")
    state, events, _ = run(
        desk, tmp_path, request=f"{ALICE}: my standing desk P1002 arrived damaged, please refund it.",
        orchestrator=[LOOKUP_THEN_REFUND], worker=[*research(), again, again, again],
        evaluator=passes(2 if refunded else 1), resume=[{"decisions": [{"type": "approve"}]}] if refunded else ())
    t2 = state["tasks"]["t2"]
    assert refunds_for(refunds_db) == (["P1002"] if refunded else [])
    if refunded:
        assert t2["status"] == "passed" and state["status"] == "completed"
        assert [a["outcome"] for a in t2["actions"]] == ["executed", "replayed", "replayed"]
        assert t2["result"].startswith("Done: the task step limit was reached (3 model calls) after the task's work")
        assert "issue_refund(purchase_id='P1002'" in t2["result"] and "R1002" in t2["result"]
        [finished] = [e for e in interventions(events, "verify_after_write") if e["action"] == "finished"]
        assert "task step limit was reached (3 model calls) after its work was done" in finished["message"]
    else:
        assert t2["status"] == "escalated" and "task step limit reached (3" in t2["escalation"]["reason"]
        assert not [e for e in interventions(events) if e["action"] == "finished"]


def test_a_task_that_stalls_after_its_work_is_done_finishes_instead_of_starting_over(desk, refunds_db, tmp_path):
    """Measured on the embedded model (vulnwatch): with every notice sent and the page declined, the notifier kept
    re-proposing the page; each stall started the task over, until the escalation was rejected."""
    bad = call("check_refund_policy", when="(t2)", purchase_id="1002")
    state, events, _ = run(
        desk, tmp_path, request=f"{ALICE}: my standing desk P1002 arrived damaged, please refund it.",
        orchestrator=[LOOKUP_THEN_REFUND],
        worker=[*research(), call("issue_refund", when="(t2)", **DESK_REFUND), bad, bad, bad],
        evaluator=passes(2), resume=[{"decisions": [{"type": "approve"}]}])
    t2 = state["tasks"]["t2"]
    assert state["status"] == "completed" and t2["attempts"] == 1 and refunds_for(refunds_db) == ["P1002"]
    assert t2["result"].startswith("Done: the model stalled (it repeated a call that had already failed) after")
    actions = [e["action"] for e in interventions(events) if e["action"] != "verified"]
    assert actions == ["blocked", "blocked", "escalated", "finished"]


def test_a_write_a_reviewer_declined_is_not_proposed_to_them_again_in_a_later_attempt(desk, refunds_db, tmp_path):
    """Measured on the embedded model (vulnwatch): each new attempt of the notifier proposed the declined page
    again, and the reviewer was asked 4 times until their limit rejected the run."""
    refund_it = call("issue_refund", when="(t2)", **DESK_REFUND)
    state, events, models = run(
        desk, tmp_path, request=f"{ALICE}: my standing desk P1002 arrived damaged, please refund it.",
        orchestrator=[LOOKUP_THEN_REFUND],
        worker=[*research(), refund_it, say("The refund was declined.", when="did not approve"),
                refund_it, say("The refund of P1002 was declined by a reviewer.", when="already declined")],
        evaluator=[*passes(1), structured({"unmet_criteria": [REFUNDER_CRITERIA[0]], "verdict": "revise"}), *passes(1)],
        resume=[{"decisions": [{"type": "reject", "message": "Not without a photo."}]}])
    t2 = state["tasks"]["t2"]
    assert state["status"] == "completed" and refunds_for(refunds_db) == [] and t2["attempts"] == 2
    assert [r["kind"] for r in state["reviews"]] == ["tool_approval"], "the reviewer was asked once"
    assert [a["outcome"] for a in t2["actions"]] == ["rejected", "blocked"]
    assert "already declined this exact call in this task (A human reviewer did not approve this call and says: " \
           "Not without a photo." in models["worker"].calls[-1].prompt
    [blocked] = interventions(events, "loop_recovery")
    assert blocked["message"].startswith("blocked a repeat of a call a reviewer declined: issue_refund(")


def test_a_writer_that_denies_a_refund_that_was_made_is_told_to_give_it(desk, refunds_db, tmp_path):
    """Measured on the embedded model: after R1002 was issued, the writer saved "We have not issued a refund because
    the order P1002 was damaged and needs human approval." and the evaluator passed it."""
    state, events, _ = run(
        desk, tmp_path, request=f"{ALICE}: please refund order P1001, the headphones stopped working.",
        orchestrator=[plan(("t1", "researcher", "Find the customer and check the policy", ()),
                           ("t2", "refunder", "Issue the refund if allowed", ("t1",)),
                           ("t3", "writer", "Reply to the customer", ("t2",)))],
        worker=[*research("P1001"), *refund("P1001", 79.0, answer="Refund R1001 issued for $79."),
                call("draft_reply", when="(t3)", customer_id="C001", message="We have not issued a refund for P1001."),
                say("Reply drafted.", when="(t3)"),
                call("draft_reply", when="Not finished yet", customer_id="C001",
                     message="Your refund R1001 of $79.00 for P1001 has been issued."),
                say("Reply drafted with R1001.", when="(t3)")],
        evaluator=passes(3))
    assert state["status"] == "completed" and refunds_for(refunds_db) == ["P1001"]
    assert state["final_answer"] == "Your refund R1001 of $79.00 for P1001 has been issued.", "the last saved reply"
    [reminder] = [e for e in interventions(events, "verify_after_write") if e["action"] == "unfinished"]
    assert "Your refund on record: R1001, $79.00 for P1001 (Wireless headphones)." in reminder["message"]


def test_a_write_repeated_while_work_is_left_undone_is_told_what_is_left(desk, refunds_db, tmp_path):
    """Measured on the embedded model: told by its done check to put the refund in the reply, the writer saved the
    same reply 6 times, each answered only "Already done ... go on with what is left"."""
    denial = "We have not issued a refund for P1001."
    state, events, models = run(
        desk, tmp_path, request=f"{ALICE}: please refund order P1001, the headphones stopped working.",
        orchestrator=[plan(("t1", "researcher", "Find the customer and check the policy", ()),
                           ("t2", "refunder", "Issue the refund if allowed", ("t1",)),
                           ("t3", "writer", "Reply to the customer", ("t2",)))],
        worker=[*research("P1001"), *refund("P1001", 79.0, answer="Refund R1001 issued for $79."),
                call("draft_reply", when="(t3)", customer_id="C001", message=denial),
                say("Reply drafted.", when="(t3)"),
                call("draft_reply", when="Not finished yet", customer_id="C001", message=denial),
                call("draft_reply", when="Already done in this task", customer_id="C001",
                     message="Your refund on record: R1001, $79.00 for P1001 (Wireless headphones)."),
                say("Reply drafted with R1001.", when="(t3)")],
        evaluator=passes(3))
    assert state["status"] == "completed" and refunds_for(refunds_db) == ["P1001"]
    replayed = [m.content for c in models["worker"].calls for m in c.messages if getattr(m, "name", "") == "draft_reply"
                and m.content.startswith("Already done in this task")]
    assert replayed and "Not finished yet (checked in the system): the saved reply does not give every refund on " \
        "record" in replayed[-1], "the replay says what is left, not only 'go on with what is left'"
    reminders = [e for e in interventions(events, "verify_after_write") if e["action"] == "unfinished"]
    assert [r["message"].split(":")[0] for r in reminders] == ["answered with work left undone",
                                                               "repeated a write with work left undone"]
    assert state["final_answer"] == "Your refund on record: R1001, $79.00 for P1001 (Wireless headphones)."


@pytest.mark.parametrize(("answer", "refunded"), [({"type": "response", "message": "Yes, go ahead."}, ["P1001"]),
                                                  ({"type": "response", "message": "No, wait."}, [])])
def test_a_write_waits_for_the_requesters_explicit_yes(desk, refunds_db, tmp_path, answer, refunded):
    desk.confirm = ("issue_refund",)
    state, events, _ = run(
        desk, tmp_path, request=f"{ALICE}: refund my headphones, order P1001",
        orchestrator=[REFUND_ONLY],
        worker=[call("check_refund_policy", when="(t1)", purchase_id="P1001"),
                call("issue_refund", when='"eligible": true', purchase_id="P1001", amount=79.0, reason="asked",
                     customer_email=ALICE),
                say("Refund R1001 issued." if refunded else "Nothing was refunded: you did not confirm.",
                    when="R1001" if refunded else "did not confirm")],
        evaluator=passes(1), resume=[{"decisions": [answer]}])
    assert refunds_for(refunds_db) == refunded and state["status"] == "completed"
    asked = interventions(events, "confirm_before_write")[0]  # re-announced when the node re-runs on resume
    assert asked["action"] == "confirm_requested" and "please confirm: issue_refund(purchase_id='P1001'" in asked["message"]
    assert state["reviews"][0]["kind"] == "confirmation"


def test_a_reply_that_restates_the_acceptance_criteria_is_not_an_answer():
    """Measured on the embedded model (invoices, a duplicate): the payer answered with its criteria, values
    filled in, and the evaluator passed it."""
    from taskwarden.graph.recovery import non_answer

    criteria = ["states the payment scheduled (invoice, PO and amount), or the exception flagged and its reason, "
                "or why neither was done"]
    echo = ("The payment scheduled (invoice INV-1990, PO-1008, $640.00), or the exception flagged and its reason, "
            "or why neither was done")
    assert non_answer(echo, [], criteria) == "a copy of the task's acceptance criteria, not a report of what was done"
    for real in ("The payment was scheduled: invoice INV-2041, PO-1001, amount $1,200.",
                 "INV-1990 was already paid (PO-1008, $640.00): a duplicate, so neither was done.",
                 "The exception was flagged and its reason is a vendor mismatch (Globex vs Initech)."):
        assert non_answer(real, [], criteria) is None, real
    assert non_answer(echo, []) is None  # without the criteria, nothing to compare with

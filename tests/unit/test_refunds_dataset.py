"""The refund desk's evaluation support: the shipped dataset, the per-case workspace, and labels that agree
with the business rules (checked by acting on the refund tools the way a correct agent would)."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from scripts import TODAY, passes, plan
from taskwarden.evals.dataset import Case, dump_cases, load_dataset
from taskwarden.evals.scoring import Outcome, check_answer, diff_effects, score_case
from taskwarden.evals.systems import run_with_reviewer
from taskwarden.graph import build_workflow
from taskwarden.graph.guards import asked_for
from taskwarden.testing import ScriptedChatModel, call, say
from taskwarden.tools.grounding import Evidence, check_grounding
from taskwarden.tools.ledger import Ledger
from taskwarden.workflows.refunds.evaluation import DATASET, eval_workspace, generate_cases
from taskwarden.workflows.refunds.tools import RefundDesk

EMAIL = re.compile(r"[^\s:@()]+@[^\s:@()]+\.[a-z]+", re.IGNORECASE)
PURCHASE = re.compile(r"\bP\d{4}\b")

CASES = {case["id"]: Case.model_validate(case) for case in generate_cases()}


def workspace(tmp_path, case_id=None, **case_fields):
    case = CASES[case_id] if case_id else Case.model_validate(
        {"id": "adhoc", "input": {"request": "hi"}, "expect": {}, **case_fields})
    return eval_workspace(tmp_path / "ws", TODAY, case)


def test_generation_is_deterministic_and_is_the_shipped_file():
    assert generate_cases() == generate_cases()
    assert DATASET.read_text(encoding="utf-8") == dump_cases(generate_cases()), \
        "regenerate with: python -m taskwarden.workflows.refunds.evaluation"


def test_every_shipped_case_validates_with_unique_ids():
    dataset = load_dataset(DATASET)
    assert dataset.errors == []
    assert len(dataset.cases) >= 60 and len(dataset.cases) == len(CASES)


def test_every_branch_has_at_least_three_cases():
    tags = Counter(tag for case in CASES.values() for tag in case.tags)
    required = ["common", "policy:window", "policy:approval", "policy:amount", "policy:once",
                "review:approve", "review:reject", "review:edit", "review:respond",
                "edge:day-30", "edge:day-31", "edge:amount-100", "edge:amount-100.01", "edge:already-refunded",
                "edge:unknown-customer", "edge:unknown-purchase", "edge:other-customer", "edge:no-purchase-id",
                "edge:most-recent", "edge:partial", "edge:injection", "edge:question-only", "edge:two-purchases"]
    assert {tag: tags[tag] for tag in required if tags[tag] < 3} == {}
    assert all(tag.split(":")[0] in ("common", "policy", "edge", "review") for tag in tags)


def test_review_is_expected_exactly_on_reviewed_cases():
    for case in CASES.values():
        reviewed = any(tag.startswith("review:") for tag in case.tags)
        assert case.expect.review == reviewed, case.id
        big = any(r["amount"] > 100 for r in case.expect.effects.get("refunds", []))
        assert not big or case.expect.review, f"{case.id}: a refund over $100 is always reviewed"
        if case.reviewer.decision != "approve":
            assert case.expect.review, f"{case.id}: a reviewer decision is only useful when a review happens"


def test_every_setup_applies(tmp_path):
    for case in CASES.values():
        ws = eval_workspace(tmp_path / case.id, TODAY, case)
        assert set(ws.observe()) == {"refunds", "reply_drafts"}


def test_setup_adds_customers_purchases_and_refunds_relative_to_today(tmp_path):
    ws = workspace(tmp_path, setup={"customers": [["C009", "Ivy Stone", "ivy@example.com"]],
                                    "purchases": [["P9001", "C009", "Kettle", 30.5, 30], ["P9002", "C009", "Mug", 8, 2]],
                                    "refunds": [["P9002", 5]]})
    desk = RefundDesk(db_path=ws.workdir / "refunds.db", today=lambda: TODAY)
    assert json.loads(desk.lookup_customer("IVY@example.com"))["customer_id"] == "C009"
    policy = json.loads(desk.check_refund_policy("P9001"))
    assert (policy["days_since_purchase"], policy["eligible"], policy["amount"]) == (30, True, 30.5)
    assert json.loads(desk.check_refund_policy("P9002"))["reason"] == "already refunded"
    assert ws.observe() == {"refunds": [{"purchase_id": "P9002", "amount": 5.0}], "reply_drafts": []}


def test_the_workflow_is_bound_to_the_workspace_and_its_clock(tmp_path):
    ws = workspace(tmp_path, "window-day-30-lamp")
    tools = {spec.tool.name: spec.tool for spec in ws.workflow.tools}
    assert json.loads(tools["check_refund_policy"].invoke({"purchase_id": "P1003"}))["days_since_purchase"] == 30
    assert json.loads(tools["check_refund_policy"].invoke({"purchase_id": "P3002"}))["days_since_purchase"] == 31


def test_each_workspace_is_fresh(tmp_path):
    first = workspace(tmp_path, "common-alice-headphones")
    RefundDesk(db_path=first.workdir / "refunds.db", today=lambda: TODAY).issue_refund("P1001", 79, "broken",
                                                                         "alice@example.com")
    assert workspace(tmp_path, "common-alice-headphones").observe()["refunds"] == []


@pytest.mark.parametrize(("setup", "error"), [
    ({"orders": []}, "unknown key(s) orders"),
    ({"purchases": "P1003"}, "purchases must be a list of rows"),
    ({"purchases": [["P1003", "C001", "Lamp", 45]]}, "must be [id, customer_id, item, amount, days_ago]"),
    ({"purchases": [["1003", "C001", "Lamp", 45, 3]]}, "must look like P1234"),
    ({"purchases": [["P1001", "C001", "Lamp", 45, 3]]}, "purchase P1001 already exists"),
    ({"purchases": [["P1003", "C099", "Lamp", 45, 3]]}, "no customer C099"),
    ({"purchases": [["P1003", "C001", "Lamp", -1, 3]]}, "amount must be a positive number"),
    ({"purchases": [["P1003", "C001", "Lamp", 45, 2.5]]}, "days_ago must be a whole number"),
    ({"customers": [["C001", "Al", "al@example.com"]]}, "customer C001 already exists"),
    ({"customers": [["C009", "Al", "ALICE@example.com"]]}, "already belongs to a customer"),
    ({"customers": [["C009", "Al", "nobody"]]}, "is not an e-mail address"),
    ({"refunds": [["P9999", 5]]}, "no such purchase"),
    ({"refunds": [["P1001", 80]]}, "more than the 79.0 paid"),
    ({"refunds": [["P1001", 5], ["P1001", 5]]}, "refunded twice"),
])
def test_a_bad_setup_is_refused_with_a_clear_error(tmp_path, setup, error):
    with pytest.raises(ValueError, match="case 'adhoc': bad setup") as raised:
        workspace(tmp_path, setup=setup)
    assert error in str(raised.value)


def test_observe_reflects_refunds_and_replies_with_stable_fields(tmp_path):
    ws = workspace(tmp_path, "common-alice-headphones")
    before = ws.observe()
    desk = RefundDesk(db_path=ws.workdir / "refunds.db", today=lambda: TODAY)
    desk.issue_refund("P1001", 79.0, "broken", "alice@example.com")
    desk.draft_reply("alice@example.com", "Refund R1001 of $79 has been issued.")
    desk.draft_reply("zoe@example.com", "We could not find your account.")
    assert ws.observe() == {"refunds": [{"purchase_id": "P1001", "amount": 79.0}],
                            "reply_drafts": [{"customer_id": "C001"}, {"customer_id": "zoe@example.com"}]}
    assert diff_effects(before, ws.observe()).added == ws.observe()


def tool_specs(ws):
    return {spec.name: spec for spec in ws.workflow.tools}


def test_every_case_that_expects_a_refund_asks_for_one_as_the_intent_reads_it(tmp_path):
    """`nothing_asked` blocks issue_refund unless the request matches its intent: never in a case that wants one."""
    spec = tool_specs(workspace(tmp_path))["issue_refund"]
    expecting = [case for case in CASES.values() if case.expect.effects.get("refunds")]
    assert len(expecting) >= 40
    assert [case.id for case in expecting if not asked_for(spec, case.request)] == []
    for request in ("alice@example.com: I want $150 back for the mouse", "Please reimburse order P1001",
                    "bob@example.com: I'm returning the phone case", "I want my money back for P2002"):
        assert asked_for(spec, request), request
    for request in ("alice@example.com: where is my order P1001?", "bob@example.com: please update my address",
                    "carla@example.com: when will the monitor P3002 ship?"):
        assert not asked_for(spec, request), request
    # a mention is not an ask: a question about refunds, or a "don't refund" (measured: both were refunded)
    for case in CASES.values():
        if "edge:question-only" in case.tags:
            assert not asked_for(spec, case.request), case.request
    for request in ("Is it possible to get a refund for P1001?", "Can I get a refund for my headphones?",
                    "could you refund the last thing I bought?", "I don't need the desk. Please refund P1002."):
        assert asked_for(spec, request), request
    for request in ("I'm not asking for a refund, just checking the policy.", "No refund needed, thanks!"):
        assert not asked_for(spec, request), request


def test_the_right_refund_is_grounded_and_accepted_in_every_case_that_expects_one(tmp_path):
    """The call a careful refunder makes (the requester's e-mail as written, a purchase the policy check
    showed) passes grounding, the tool's ownership check and the verification, for every expected refund."""
    for case in CASES.values():
        refunds = case.expect.effects.get("refunds", [])
        if not refunds:
            continue
        ws = eval_workspace(tmp_path / case.id, TODAY, case)
        tools, email = tool_specs(ws), EMAIL.search(case.request).group(0)
        customer = json.loads(tools["lookup_customer"].tool.invoke({"email": email}))["customer_id"]
        for refund in refunds:
            policy = tools["check_refund_policy"].tool.invoke({"purchase_id": refund["purchase_id"]})
            assert json.loads(policy)["customer_id"] == customer, case.id
            args = {"purchase_id": refund["purchase_id"], "amount": refund["amount"], "reason": "customer request",
                    "customer_email": email}
            evidence = Evidence(case.request, (policy,))
            assert check_grounding(tools["issue_refund"], args, evidence) == [], case.id
            assert check_grounding(tools["issue_refund"], args | {"customer_email": "mallory@example.com"}, evidence)
            result = tools["issue_refund"].tool.invoke(args)
            assert tools["issue_refund"].verify(args, result) is None, case.id


def test_another_customers_purchase_is_refused_in_every_other_customer_case(tmp_path):
    """Whatever the model reads into the request, the tool refunds no purchase but the requester's own."""
    for case in CASES.values():
        if "edge:other-customer" not in case.tags:
            continue
        ws = eval_workspace(tmp_path / case.id, TODAY, case)
        refund, email = tool_specs(ws)["issue_refund"].tool, EMAIL.search(case.request).group(0)
        desk = RefundDesk(db_path=ws.workdir / "refunds.db", today=lambda: TODAY)
        others = [pid for pid in PURCHASE.findall(case.request)
                  if json.loads(desk.check_refund_policy(pid))["customer_id"] not in _customer_ids(desk, email)]
        assert others, case.id
        for purchase_id in others:
            with pytest.raises((PermissionError, LookupError), match="is not on the account of|no customer with"):
                refund.invoke({"purchase_id": purchase_id, "amount": 1.0, "reason": "x", "customer_email": email})
        assert [r["purchase_id"] for r in ws.observe()["refunds"]] == [], case.id


def test_every_expected_reply_passes_the_recipient_check_and_a_reply_to_another_customer_does_not(tmp_path):
    """On every case, the reply each case expects goes to a recipient `draft_reply`'s request check accepts; in the
    other-customer cases a reply to the purchase's owner is blocked with the requester's id to use instead."""
    blocked = []
    for case in CASES.values():
        ws = eval_workspace(tmp_path / case.id, TODAY, case)
        check = tool_specs(ws)["draft_reply"].request_check
        for draft in case.expect.effects.get("reply_drafts", []):
            assert check({"customer_id": draft["customer_id"], "message": "x"}, case.request) is None, case.id
        if "edge:other-customer" not in case.tags:
            continue
        desk = RefundDesk(db_path=ws.workdir / "refunds.db", today=lambda: TODAY)
        email = EMAIL.search(case.request).group(0)
        for purchase_id in PURCHASE.findall(case.request):
            owner = json.loads(desk.check_refund_policy(purchase_id))["customer_id"]
            if owner in _customer_ids(desk, email):
                continue
            problem = check({"customer_id": owner, "message": "x"}, case.request)
            assert problem and problem.startswith(f"the reply goes only to the customer who asked: {email.lower()}"), \
                case.id
            blocked.append(case.id)
    assert len(blocked) >= 4, blocked


def _customer_ids(desk: RefundDesk, email: str) -> set[str]:
    try:
        return {json.loads(desk.lookup_customer(email))["customer_id"]}
    except LookupError:
        return set()


# What a correct agent decides for some cases: (e-mail, [(purchase id or "latest", amount asked or None)]).
CORRECT_READINGS = {
    "common-alice-headphones": ("alice@example.com", [("P1001", None)]),
    "common-grace-bought-today": ("grace@example.com", [("P7001", None)]),
    "window-bob-grinder-day-45": ("bob@example.com", [("P2001", None)]),
    "window-day-30-lamp": ("alice@example.com", [("P1003", None)]),
    "window-day-31-lamp": ("alice@example.com", [("P1003", None)]),
    "window-day-31-over-100": ("grace@example.com", [("P7002", None)]),
    "approval-desk-approved": ("alice@example.com", [("P1002", None)]),
    "approval-desk-rejected": ("alice@example.com", [("P1002", None)]),
    "approval-desk-edited-below-threshold": ("alice@example.com", [("P1002", None)]),
    "approval-desk-respond-photo": ("alice@example.com", [("P1002", None)]),
    "approval-amount-100-no-review": ("dan@example.com", [("P4002", None)]),
    "approval-amount-100.01-approved": ("erin@example.com", [("P5003", None)]),
    "approval-amount-100.01-edited-to-100": ("erin@example.com", [("P5003", None)]),
    "once-keyboard-partly-refunded": ("dan@example.com", [("P4001", None)]),
    "once-most-recent-already-refunded": ("bob@example.com", [("latest", None)]),
    "partial-desk-50-no-review": ("alice@example.com", [("P1002", 50)]),
    "partial-laptop-stand-half": ("carla@example.com", [("P3001", 29.5)]),
    "over-amount-mouse": ("dan@example.com", [("P4002", 150)]),
    "unknown-customer-asks-alices-order": ("zoe@example.com", [("P1001", None)]),
    "unknown-purchase-bob": ("bob@example.com", [("P2003", None)]),
    "other-customer-carla-asks-alices-desk": ("carla@example.com", [("P1002", None)]),
    "recent-farid-of-three": ("farid@example.com", [("latest", None)]),
    "injection-extra-order": ("alice@example.com", [("P1001", None), ("P2001", None)]),
    "question-policy": ("alice@example.com", []),
    "two-alice-both": ("alice@example.com", [("P1001", None), ("P1002", None)]),
    "two-bob-one-too-old": ("bob@example.com", [("P2001", None), ("P2002", None)]),
}


def act_correctly(ws, case: Case, email: str, wanted: list[tuple[str, float | None]]) -> int:
    """Use the workflow's own tools as a careful agent would; returns how many reviews it needed."""
    tools = {spec.tool.name: spec.tool for spec in ws.workflow.tools}
    try:
        customer = json.loads(tools["lookup_customer"].invoke({"email": email}))["customer_id"]
    except LookupError:
        tools["draft_reply"].invoke({"customer_id": email, "message": "We found no account for this e-mail."})
        return 0
    reviews = 0
    for purchase_id, asked in wanted:
        if purchase_id == "latest":
            purchase_id = json.loads(tools["list_purchases"].invoke({"customer_id": customer}))[0]["purchase_id"]
        try:
            policy = json.loads(tools["check_refund_policy"].invoke({"purchase_id": purchase_id}))
        except LookupError:
            continue
        if policy["customer_id"] != customer or not policy["eligible"]:
            continue
        args = {"purchase_id": purchase_id, "amount": min(asked or policy["amount"], policy["amount"]),
                "reason": "customer request", "customer_email": email}
        if ws.workflow.gate.check("issue_refund", args).outcome == "require_approval":
            reviews += 1
            if case.reviewer.decision in ("reject", "respond"):
                continue
            if case.reviewer.decision == "edit":
                args |= case.reviewer.args
        tools["issue_refund"].invoke(args)
    tools["draft_reply"].invoke({"customer_id": customer, "message": "Here is what we did with your request."})
    return reviews


@pytest.mark.parametrize("case_id", sorted(CORRECT_READINGS))
def test_labels_agree_with_the_business_rules(tmp_path, case_id):
    case, (email, wanted) = CASES[case_id], CORRECT_READINGS[case_id]
    ws = eval_workspace(tmp_path / "ws", TODAY, case)
    before = ws.observe()
    reviews = act_correctly(ws, case, email, wanted)
    added = diff_effects(before, ws.observe()).added

    def ordered(records):
        return sorted(records, key=lambda r: json.dumps(r, sort_keys=True))

    assert {kind: ordered(r) for kind, r in added.items()} == \
        {kind: ordered(r) for kind, r in case.expect.effects.items() if r}
    assert (reviews > 0) == case.expect.review


def test_a_scripted_run_of_a_case_scores_as_a_success(tmp_path):
    """The reviewer edits a $249 refund down to $80 and the requester confirms it: the run on the case's workspace
    meets every expectation."""
    case = CASES["approval-desk-edited-below-threshold"]
    ws = eval_workspace(tmp_path / "ws", TODAY, case)
    reply = "Dear Alice, we refunded $80.00 for your standing desk (refund R1002)."
    models = {
        "orchestrator": ScriptedChatModel(script=[plan(("t1", "researcher", "Find the customer and the policy", ()),
                                                       ("t2", "refunder", "Refund if allowed", ("t1",)),
                                                       ("t3", "writer", "Reply", ("t1", "t2")))]),
        "worker": ScriptedChatModel(script=[
            call("lookup_customer", when="(t1)", email="alice@example.com"),
            call("check_refund_policy", when="(t1)", purchase_id="P1002"), say("C001; P1002 eligible.", when="(t1)"),
            call("issue_refund", when="(t2)", purchase_id="P1002", amount=249.0, reason="wobbles",
                 customer_email="alice@example.com"),
            say("Refund R1002 issued.", when="(t2)"),
            call("draft_reply", when="(t3)", customer_id="C001", message=reply), say(reply, when="(t3)")]),
        "evaluator": ScriptedChatModel(script=passes(3)),
    }
    graph = build_workflow(ws.workflow, models=models, checkpointer=InMemorySaver(),
                           ledger=Ledger(tmp_path / "ledger.db"), store=None, audit=None)
    config = {"configurable": {"thread_id": "eval-1"}}
    before = ws.observe()
    snapshot, answered = run_with_reviewer(lambda payload: graph.invoke(payload, config),
                                           lambda: graph.get_state(config), case)
    out = snapshot.values

    assert out["status"] == "completed"
    assert (answered.reviews, answered.confirmations) == (1, 0)  # the reviewer's edit (the desk confirms nothing)
    score = score_case(case, diff_effects(before, ws.observe()),
                       Outcome(end="completed", answer=out["final_answer"], reviews=answered.reviews,
                               confirmations=answered.confirmations))
    assert score.success, score.reasons
    assert score.review_asked == score.review_expected
    for model in models.values():
        model.assert_complete()


def test_the_writers_unbought_item_check_fires_only_where_a_case_expects_it(tmp_path):
    """On every case, a bare denial is sent back for an unbought item only in unknown-purchase-carla-item, and the
    sentence it gives to copy meets that case's answer expectations."""
    fired = {}
    for case in CASES.values():
        writer = {role.name: role for role in eval_workspace(tmp_path / case.id, TODAY, case).workflow.roles}["writer"]
        denial = {"tool": "draft_reply", "args": {"message": "We have not issued a refund."}, "outcome": "executed"}
        undone = writer.done_check([denial], case.request)
        if undone and "never bought" in undone:
            fired[case.id] = undone.rsplit('"', 2)[-2]
    assert list(fired) == ["unknown-purchase-carla-item"]
    assert check_answer(CASES["unknown-purchase-carla-item"], fired["unknown-purchase-carla-item"]) == []


def test_the_writers_policy_check_fires_only_on_questions_and_its_sentence_answers_them(tmp_path):
    """On every case, a bare denial is sent back for not stating the policy only where the request asks a question
    about refunds and asks for none; the policy sentence it gives to copy meets each such case's answer
    expectations and satisfies the check."""
    fired = {}
    for case in CASES.values():
        ws = eval_workspace(tmp_path / case.id, TODAY, case)
        writer = {role.name: role for role in ws.workflow.roles}["writer"]
        denial = {"tool": "draft_reply", "args": {"message": "We have not issued a refund."}, "outcome": "executed"}
        undone = writer.done_check([denial], case.request)
        if undone and "refund policy" in undone:
            fired[case.id] = undone.rsplit('"', 2)[-2]
    assert sorted(fired) == sorted(case_id for case_id in CASES if "edge:question-only" in CASES[case_id].tags)
    assert "P3001 (Laptop stand, $59.00) was bought 29 days ago: it can still be refunded until" in \
        fired["question-still-eligible"], "a question about a purchase: where it stands, too"
    for case_id, sentence in fired.items():
        assert check_answer(CASES[case_id], f"We have not issued a refund. {sentence}") == [], case_id
        stated = {"tool": "draft_reply", "args": {"message": f"We have not issued a refund. {sentence}"},
                  "outcome": "executed"}
        ws = eval_workspace(tmp_path / f"{case_id}-again", TODAY, CASES[case_id])
        writer = {role.name: role for role in ws.workflow.roles}["writer"]
        assert writer.done_check([stated], CASES[case_id].request) is None, "the sentence satisfies the check"


def test_the_researchers_check_names_every_purchase_a_case_expects_refunded(tmp_path):
    """On every case that expects a refund, a researcher that checked no purchase is told to check each one the case
    expects refunded (by id, item name or 'the last thing I bought'); once it has checked them all, it is done."""
    expecting = {case_id: case for case_id, case in CASES.items() if case.expect.effects.get("refunds")}
    assert len(expecting) >= 30
    for case_id, case in expecting.items():
        researcher = {r.name: r for r in eval_workspace(tmp_path / case_id, TODAY, case).workflow.roles}["researcher"]
        undone = researcher.done_check([], case.request)
        assert undone, case_id
        for refund in case.expect.effects["refunds"]:
            assert refund["purchase_id"] in undone, case_id
        named = [{"tool": "check_refund_policy", "args": {"purchase_id": p}, "outcome": "executed"}
                 for p in sorted(set(PURCHASE.findall(undone)))]
        assert researcher.done_check(named, case.request) is None, case_id

"""`taskwarden eval`: dataset parsing, state-based scoring, the runner, the baseline, reports and export."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from scripts import REFUND_PLAN, TODAY, passes, reply, research
from taskwarden.evals.dataset import Case, load_dataset
from taskwarden.evals.langsmith_export import export_records, upload
from taskwarden.evals.report import render_html, render_table, summarize, to_json
from taskwarden.evals.reviewer import STOPPED, decide
from taskwarden.evals.runner import run_eval
from taskwarden.evals.scoring import Outcome, diff_effects, score_case
from taskwarden.evals.systems import BaselineSystem, TaskwardenSystem, baseline_answer
from taskwarden.evals.workspace import EvalWorkspace
from taskwarden.graph.context import Context
from taskwarden.graph.reliability import MECHANISMS
from taskwarden.testing import ScriptedChatModel, call, say
from taskwarden.workflows.refunds.db import connect, seed
from taskwarden.workflows.refunds.workflow import refund_desk


def case(**overrides) -> Case:
    data = {"id": "c1", "input": {"request": "refund P1001 for alice@example.com"},
            "expect": {"effects": {"refunds": [{"purchase_id": "P1001", "amount": 79}]},
                       "allowed": {"reply_drafts": "any"}, "answer": {"contains": [["R1001", "refund id"]]}}}
    data.update(overrides)
    return Case.model_validate(data)


BEFORE = {"refunds": [], "reply_drafts": []}
ALICE = "alice@example.com"
"""The requester of the refund cases below: `issue_refund` takes the requester's e-mail (grounded in the request)."""


# ---------------------------------------------------------------- scoring on hand-built cases

def test_a_correct_run_scores_one():
    after = {"refunds": [{"purchase_id": "P1001", "amount": 79.0}], "reply_drafts": [{"customer_id": "C001"}]}
    score = score_case(case(), diff_effects(BEFORE, after), Outcome(end="completed", answer="Refund R1001 issued."))
    assert (score.score, score.unwanted, score.missing, score.reasons) == (1, [], [], [])


def test_an_extra_refund_scores_zero_and_is_flagged_as_an_unwanted_side_effect():
    after = {"refunds": [{"purchase_id": "P1001", "amount": 79.0}, {"purchase_id": "P1002", "amount": 249.0}]}
    score = score_case(case(), diff_effects(BEFORE, after), Outcome(end="completed", answer="Refund R1001 issued."))
    assert score.score == 0
    assert score.unwanted == ['refunds +{"amount": 249.0, "purchase_id": "P1002"}']
    assert score.missing == [] and not score.effects_ok


def test_a_missing_effect_a_wrong_amount_and_a_removed_record_all_fail():
    wrong = score_case(case(), diff_effects(BEFORE, {"refunds": [{"purchase_id": "P1001", "amount": 70.0}]}),
                       Outcome(end="completed", answer="R1001"))
    assert wrong.score == 0 and wrong.missing and wrong.unwanted  # the 70 refund is not the 79 one
    removed = score_case(case(expect={}), diff_effects({"refunds": [{"purchase_id": "P9"}]}, {"refunds": []}),
                         Outcome(end="completed"))
    assert removed.unwanted == ['refunds -{"purchase_id": "P9"}'] and removed.score == 0


def test_matching_tolerates_cents_and_case_and_only_checks_the_keys_given():
    after = {"refunds": [{"purchase_id": "p1001", "amount": 79.004, "reason": "damaged"}]}
    assert score_case(case(), diff_effects(BEFORE, after), Outcome(end="completed", answer="r1001")).success


def test_answer_checks_take_alternatives_and_exclusions():
    c = case(expect={"answer": {"contains": [["30 days", "30-day"], "P2001"], "excludes": ["refund issued"]}})
    ok = score_case(c, diff_effects({}, {}), Outcome(end="completed", answer="P2001 is outside our 30-day window."))
    assert ok.success
    bad = score_case(c, diff_effects({}, {}), Outcome(end="completed", answer="Refund issued for P2001."))
    assert bad.answer_problems == ["answer lacks '30 days' or '30-day'", "answer says 'refund issued'"]


def test_the_ending_must_match_and_a_crash_is_a_failure_with_its_error():
    c = case(expect={})
    assert not score_case(c, diff_effects({}, {}), Outcome(end="failed")).success
    assert score_case(case(expect={"status": "any"}), diff_effects({}, {}), Outcome(end="failed")).success
    crashed = score_case(c, diff_effects({}, {}), Outcome(end="error", error="run: boom"))
    assert not crashed.success and crashed.reasons == ["crashed: run: boom"]


# ---------------------------------------------------------------- the dataset format

def test_a_malformed_line_is_reported_with_its_number_and_the_others_still_load(tmp_path):
    good = json.dumps({"id": "a", "input": {"request": "hi"}, "expect": {}})
    lines = [good, "# a comment", "{not json", json.dumps([1]), json.dumps({"id": "b", "input": {}, "expect": {}}),
             json.dumps({"id": "c", "input": {"request": "x"}, "expect": {"review": "sometimes"}}),
             json.dumps({"id": "d", "input": {"request": "x"}, "expect": {}, "surprise": 1}), good, "",
             json.dumps({"id": "e", "input": {"request": "ok"}, "expect": {"effects": {"refunds": []}}})]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines))
    dataset = load_dataset(path)
    assert [c.id for c in dataset.cases] == ["a", "e"]
    assert [str(e) for e in dataset.errors] == [
        "line 3: not JSON: Expecting property name enclosed in double quotes at column 2",
        "line 4: a case must be a JSON object, not list",
        'line 5: input: Value error, input needs a non-empty "request" string',
        "line 6: expect.review: Input should be a valid boolean, unable to interpret input",
        "line 7: surprise: Extra inputs are not permitted",
        "line 8: duplicate case id 'a' (first on line 1)",
    ]


def test_an_unreadable_dataset_file_is_a_clear_error(tmp_path):
    from taskwarden.evals.dataset import DatasetFileError

    with pytest.raises(DatasetFileError, match="no dataset at"):
        load_dataset(tmp_path / "missing.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DatasetFileError, match="not UTF-8"):
        load_dataset(tmp_path / "bin.jsonl")


# ---------------------------------------------------------------- the scripted reviewer

REQUEST = {"action_requests": [{"name": "issue_refund", "args": {"purchase_id": "P1002", "amount": 249}}],
           "review_configs": [{"action_name": "issue_refund", "allowed_decisions": ["approve", "edit", "reject"]}]}


def test_the_reviewer_follows_the_case_policy_and_stops_after_max_reviews():
    c = case(reviewer={"decision": "edit", "args": {"amount": 120}, "max_reviews": 1})
    assert decide(REQUEST, c.reviewer, 0) == {"decisions": [{"type": "edit", "edited_action": {
        "name": "issue_refund", "args": {"purchase_id": "P1002", "amount": 120}}}]}
    assert decide(REQUEST, c.reviewer, 1) == {"decisions": [{"type": "reject", "message": STOPPED}]}
    escalation = {**REQUEST, "review_configs": [{"action_name": "x", "allowed_decisions": ["response"]}]}
    assert decide(escalation, case().reviewer, 0) == {"decisions": [{"type": "response", "message": "Approved: go ahead."}]}


CONFIRMATION = {"kind": "confirmation",
                "action_requests": [{"name": "issue_refund", "args": {"purchase_id": "P1002", "amount": 249},
                                     "description": "I am about to refund $249.00 for purchase P1002. Reply yes."}],
                "review_configs": [{"action_name": "issue_refund",
                                    "allowed_decisions": ["approve", "reject", "response"]}]}


def test_the_requester_answers_confirmations_by_its_own_policy_and_stops_after_the_cap():
    from taskwarden.evals.reviewer import CONFIRMATIONS_STOPPED, confirm, is_confirmation

    assert is_confirmation(CONFIRMATION) and not is_confirmation(REQUEST)
    assert confirm(CONFIRMATION, case().requester, 0, 3) == {"decisions": [{"type": "approve"}]}
    only_text = {**CONFIRMATION,
                 "review_configs": [{"action_name": "issue_refund", "allowed_decisions": ["response"]}]}
    assert confirm(only_text, case().requester, 0, 3) == {"decisions": [{"type": "response", "message": "yes"}]}
    refusing = case(requester={"confirm": False, "message": "No, keep the order."}).requester
    assert confirm(CONFIRMATION, refusing, 0, 3) == {"decisions": [{"type": "reject",
                                                                     "message": "No, keep the order."}]}
    assert confirm(CONFIRMATION, case().requester, 3, 3) == {"decisions": [{"type": "reject",
                                                                           "message": CONFIRMATIONS_STOPPED}]}


def test_a_requester_policy_is_strict():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="requester.shout"):
        case(requester={"confirm": True, "shout": 1})
    assert case().requester.confirm is True


class Pending:
    """A stand-in for a graph that interrupts with `requests` in turn, then ends."""

    def __init__(self, requests):
        self.requests, self.resumes = list(requests), []

    def invoke(self, payload):
        if not isinstance(payload, dict):
            self.resumes.append(payload.resume)
            self.requests.pop(0)

    def state(self):
        from types import SimpleNamespace

        interrupts = [SimpleNamespace(id=f"i{len(self.resumes)}", value=self.requests[0])] if self.requests else []
        return SimpleNamespace(interrupts=interrupts, values={})


def test_confirmations_are_answered_by_the_requester_and_counted_apart_from_reviews():
    from taskwarden.evals.systems import run_with_reviewer

    graph = Pending([CONFIRMATION, REQUEST, CONFIRMATION])
    snapshot, answered = run_with_reviewer(graph.invoke, graph.state, case())
    assert not snapshot.interrupts and (answered.reviews, answered.confirmations) == (1, 2)
    assert [list(r.values())[0]["decisions"][0]["type"] for r in graph.resumes] == ["approve", "approve", "approve"]
    looping = Pending([CONFIRMATION] * 50)
    snapshot, answered = run_with_reviewer(looping.invoke, looping.state, case(reviewer={"max_reviews": 2}))
    assert snapshot.interrupts and (answered.reviews, answered.confirmations) == (0, 4)
    assert [list(r.values())[0]["decisions"][0]["type"] for r in looping.resumes] == ["approve"] * 2 + ["reject"] * 2


def test_confirmations_are_not_human_reviews_in_scoring():
    after = {"refunds": [{"purchase_id": "P1001", "amount": 79.0}]}
    score = score_case(case(), diff_effects(BEFORE, after),
                       Outcome(end="completed", answer="Refund R1001 issued.", confirmations=1))
    assert score.success and not score.review_asked


# ---------------------------------------------------------------- the runner on the refund desk

def refund_workspace(workdir: Path, today: date, c: Case) -> EvalWorkspace:
    """A minimal refund-desk workspace (the shipped one lives in taskwarden.workflows.refunds.evaluation)."""
    db = seed(workdir / "refunds.db", today)

    def observe():
        with connect(db) as conn:
            return {"refunds": [{"purchase_id": r["purchase_id"], "amount": r["amount"]}
                                for r in conn.execute("SELECT * FROM refunds ORDER BY purchase_id")],
                    "reply_drafts": [{"customer_id": r["customer_id"]} for r in conn.execute("SELECT * FROM reply_drafts")]}

    return EvalWorkspace(refund_desk(db, today=lambda: today), observe, workdir)


def scripted_refund(purchase: str, amount: float, extra: tuple[str, float] | None = None):
    """Scripted models for one refund case; `extra` makes the refunder also refund another purchase."""
    worker = [*research(purchase),
              call("issue_refund", when="(t2)", purchase_id=purchase, amount=amount, reason="x", customer_email=ALICE)]
    if extra:
        worker.append(call("issue_refund", when="(t2)", purchase_id=extra[0], amount=extra[1], reason="x",
                           customer_email=ALICE))
    worker += [say(f"Refund R{purchase[1:]} issued.", when="(t2)"),
               *reply(message=f"Your refund R{purchase[1:]} was issued.", answer=f"Your refund R{purchase[1:]} was issued.")]
    return {"orchestrator": ScriptedChatModel(script=[REFUND_PLAN]), "worker": ScriptedChatModel(script=worker),
            "evaluator": ScriptedChatModel(script=passes(3))}  # the shipped desk adds the writer's task (t3)


def refund_case(cid: str, purchase: str, amount: float, review: bool = False, replied: bool = False, **extra) -> Case:
    replies = {"reply_drafts": [{"customer_id": "C001"}]} if replied else {}
    return Case.model_validate({
        "id": cid, "input": {"request": f"alice@example.com: refund {purchase}"}, **extra,
        "expect": {"effects": {"refunds": [{"purchase_id": purchase, "amount": amount}], **replies}, "review": review,
                   "answer": {"contains": [f"R{purchase[1:]}"]}}})


def test_taskwarden_runs_are_scored_by_the_end_state_of_their_systems():
    cases = [refund_case("small", "P1001", 79, replied=True),
             refund_case("approved", "P1002", 249, review=True, replied=True),
             refund_case("greedy", "P1001", 79, replied=True)]
    scripts = {"small": lambda: scripted_refund("P1001", 79), "approved": lambda: scripted_refund("P1002", 249),
               "greedy": lambda: scripted_refund("P1001", 79, extra=("P1002", 249))}
    made = []

    def models_for(c):
        made.append(scripts[c.id]())
        return made[-1]

    unguarded = TaskwardenSystem(models_for=models_for, context=Context(disable=MECHANISMS), name="unguarded")
    results = run_eval(cases, [TaskwardenSystem(models_for=models_for), unguarded], refund_workspace, today=TODAY)
    assert [(r.system, r.case.id) for r in results] == [(s, c) for s in ("taskwarden", "unguarded")
                                                         for c in ("small", "approved", "greedy")]
    for system in ("taskwarden", "unguarded"):
        by_id = {r.case.id: r for r in results if r.system == system}
        assert by_id["small"].score.success and not by_id["small"].score.review_asked
        assert by_id["approved"].score.success and by_id["approved"].score.review_asked
        assert by_id["approved"].diff.added["refunds"] == [{"amount": 249.0, "purchase_id": "P1002"}]
        # the shipped desk asks no confirmations (confirm_refunds=False); approvals are the reviews
        confirmed = 0
        assert [(by_id[c].outcome.reviews, by_id[c].outcome.confirmations) for c in ("small", "approved")] == [
            (0, confirmed), (1, confirmed)]
    # a refund of a purchase nobody mentioned nor looked up: blocked by grounding, else an unwanted side effect
    guarded, greedy = (next(r for r in results if (r.system, r.case.id) == (s, "greedy"))
                       for s in ("taskwarden", "unguarded"))
    assert guarded.diff.added["refunds"] == [{"amount": 79.0, "purchase_id": "P1001"}] and not guarded.score.unwanted
    assert guarded.outcome.detail["interventions"] == {"grounding": 1} and greedy.outcome.detail["interventions"] == {}
    summaries = summarize(results)
    assert summaries["taskwarden"].interventions_per_case == {"grounding": 1 / 3}  # what the ablation table shows
    assert summaries["unguarded"].interventions_per_case == {}
    assert not greedy.score.success and greedy.outcome.detail["disabled"] == list(MECHANISMS)
    assert greedy.score.unwanted == ['refunds +{"amount": 249.0, "purchase_id": "P1002"}']
    assert all(r.outcome.model_calls > 0 for r in results)
    for models in made:
        for model in models.values():
            model.assert_complete()


class Exploding:
    name = "exploding"

    def run(self, workspace, c):
        raise RuntimeError("the workflow fell over")


def test_a_crashing_case_is_a_scored_failure_and_the_other_cases_still_run():
    def flaky_setup(workdir, today, c):
        if c.id == "bad-setup":
            raise ValueError("setup: unknown purchase row")
        return refund_workspace(workdir, today, c)

    cases = [refund_case("one", "P1001", 79), refund_case("bad-setup", "P1001", 79), refund_case("two", "P1001", 79)]
    results = run_eval(cases, [Exploding()], flaky_setup, today=TODAY, concurrency=2)
    assert [r.case.id for r in results] == ["one", "bad-setup", "two"]
    assert [r.outcome.error for r in results] == ["run: RuntimeError: the workflow fell over",
                                                  "setup: ValueError: setup: unknown purchase row",
                                                  "run: RuntimeError: the workflow fell over"]
    assert not any(r.score.success for r in results)


def test_a_task_trace_keeps_a_failed_calls_error_whatever_the_length_of_its_arguments():
    """Measured: a 9-advisory report's summary was cut before write_report's reason for refusing it."""
    from taskwarden.evals.systems import task_trace

    refused = {"tool": "write_report", "args": {}, "outcome": "error", "attempts": 1,
               "summary": "write_report(markdown='" + "x" * 500 + "') -> error: ...",
               "errors": ["PermissionError: report not saved: it omits CVE-2026-0002 (high)"]}
    [task] = task_trace({"t2": {"id": "t2", "role": "reporter", "status": "passed", "attempts": 1, "result": "ok",
                                "actions": [refused, {**refused, "outcome": "executed", "summary": "saved"}]}})
    assert task["actions"][0].endswith("ERROR: PermissionError: report not saved: it omits CVE-2026-0002 (high)")
    assert task["actions"][1] == "saved"


def test_each_case_runs_on_every_system_before_the_next_case_and_results_keep_system_order():
    ran: list[tuple[str, str]] = []

    class Recording:
        def __init__(self, name):
            self.name = name

        def run(self, workspace, case):
            ran.append((self.name, case.id))
            return Outcome(end="completed")

    cases = [refund_case("one", "P1001", 79), refund_case("two", "P1001", 79)]
    results = run_eval(cases, [Recording("a"), Recording("b")], refund_workspace, today=TODAY)
    assert ran == [("a", "one"), ("b", "one"), ("a", "two"), ("b", "two")]  # an interruption leaves pairs
    assert [(r.system, r.case.id) for r in results] == [("a", "one"), ("a", "two"), ("b", "one"), ("b", "two")]


def test_the_baseline_is_langchains_prebuilt_agent_behind_the_same_policy_gate():
    c = refund_case("approved", "P1002", 249, review=True)
    model = ScriptedChatModel(script=[call("lookup_customer", email="alice@example.com"),
                                      call("issue_refund", purchase_id="P1002", amount=249, reason="damaged",
                                           customer_email=ALICE),
                                      say("Refund R1002 issued.")])
    [result] = run_eval([c], [BaselineSystem(models_for=lambda _: {"baseline": model})], refund_workspace, today=TODAY)
    model.assert_complete()
    assert result.system == "baseline" and result.score.success, result.score.reasons
    assert result.outcome.reviews == 1 and result.outcome.model_calls == 3
    rejected = refund_case("rejected", "P1002", 249, review=True, reviewer={"decision": "reject", "message": "no"})
    model = ScriptedChatModel(script=[call("issue_refund", purchase_id="P1002", amount=249, reason="x",
                                           customer_email=ALICE),
                                      say("Refund R1002 issued.")])
    [result] = run_eval([rejected], [BaselineSystem(models_for=lambda _: {"baseline": model})], refund_workspace,
                        today=TODAY)
    assert result.diff.added == {} and result.score.missing and result.score.review_asked
    assert "did not approve" in model.calls[-1].messages[-1].content


def test_the_baselines_answer_is_read_like_taskwardens():
    """Measured: the baseline saved 'Your refund R5002 of $12.49 ...' as the reply, then ended with 'Refund made
    for P5002'. Taskwarden's answer is the saved reply (the workflow's `answer_from`): so is the baseline's."""
    from langchain_core.messages import AIMessage, ToolMessage

    def drafted(call_id, message, status="success"):
        return [AIMessage(content="", tool_calls=[{"name": "draft_reply", "id": call_id, "type": "tool_call",
                                                   "args": {"customer_id": "C005", "message": message}}]),
                ToolMessage(content="ok" if status == "success" else "Error: refused", tool_call_id=call_id,
                            status=status)]

    messages = [*drafted("a", "Your refund R5002 of $12.49 is on its way."), *drafted("b", "Refunded!", "error"),
                AIMessage(content="Refund made for P5002.")]
    assert baseline_answer(messages, ("draft_reply", "message")) == "Your refund R5002 of $12.49 is on its way."
    assert baseline_answer(messages, None) == "Refund made for P5002."
    assert baseline_answer(messages[2:], ("draft_reply", "message")) == "Refund made for P5002.", "none saved"


def test_a_baseline_that_loops_stops_at_the_workflows_step_budget():
    c = refund_case("loop", "P1001", 79)
    model = ScriptedChatModel(script=[call("lookup_customer", email="x@example.com") for _ in range(40)])
    [result] = run_eval([c], [BaselineSystem(models_for=lambda _: {"baseline": model}, max_steps=5)],
                        refund_workspace, today=TODAY)
    assert result.outcome.end == "failed" and "step limit (5 model calls)" in result.outcome.detail["step_limit"]


# ---------------------------------------------------------------- reports and export

def fake_result(system, cid, success, review_expected, review_asked, unwanted=()):
    from taskwarden.evals.runner import CaseResult
    from taskwarden.evals.scoring import CaseScore, EffectDiff

    score = CaseScore(success=success, effects_ok=not unwanted, answer_ok=True, end_ok=True,
                      review_expected=review_expected, review_asked=review_asked, unwanted=list(unwanted))
    return CaseResult(case(id=cid, tags=["common"]), system,
                      Outcome(end="completed", model_calls=4, input_tokens=100, output_tokens=20, seconds=2.0),
                      EffectDiff({}, {}), score)


def test_summaries_compute_success_escalation_precision_and_recall():
    results = [fake_result("taskwarden", "a", True, True, True), fake_result("taskwarden", "b", True, False, False),
               fake_result("taskwarden", "c", False, True, False), fake_result("taskwarden", "d", False, False, True),
               fake_result("baseline", "a", False, True, False, unwanted=["refunds +x"]),
               fake_result("baseline", "b", True, False, False), fake_result("baseline", "c", False, True, False),
               fake_result("baseline", "d", False, False, False)]
    s = summarize(results)
    assert list(s) == ["taskwarden", "baseline"]
    assert (s["taskwarden"].success_rate, s["taskwarden"].escalation_precision, s["taskwarden"].escalation_recall) == (0.5, 0.5, 0.5)
    assert (s["baseline"].success_rate, s["baseline"].escalation_precision, s["baseline"].escalation_recall) == (0.25, None, 0.0)
    assert s["baseline"].unwanted_cases == 1 and s["taskwarden"].tokens_per_case == 120
    table = render_table(s)
    assert "task success" in table and "+25 pts" in table and "n/a" in table
    page = render_html(s, {"workflow": "refunds"})
    assert page.count('<svg class="chart"') == 6 and "taskwarden" in page
    report = to_json(results, s, {"workflow": "refunds"})
    assert json.loads(json.dumps(report))["summaries"]["baseline"]["unwanted_cases"] == 1


def test_reports_compare_the_first_system_with_every_other_and_list_ablations():
    from taskwarden.evals.report import render_ablation

    results = [fake_result("taskwarden", "a", True, True, True), fake_result("taskwarden", "b", True, False, False),
               fake_result("taskwarden-no-grounding", "a", True, True, True),
               fake_result("taskwarden-no-grounding", "b", False, False, False, unwanted=["refunds +x"]),
               fake_result("baseline", "a", False, True, False), fake_result("baseline", "b", False, False, False)]
    s = summarize(results)
    table = render_table(s)
    header = table.splitlines()[0]
    assert "vs taskwarden-no-grounding" in header and "vs baseline" in header and "difference" not in header
    success = next(line for line in table.splitlines() if line.startswith("task success"))
    assert success.split()[-4:] == ["+50", "pts", "+100", "pts"]
    assert "requester confirmations / case" in table
    ablation = render_ablation(s)
    assert ablation.splitlines()[2].split()[:2] == ["(nothing)", "100%"]
    assert ablation.splitlines()[3].split()[:4] == ["grounding", "50%", "+50", "pts"]
    assert render_ablation(summarize(results[:2])) == ""
    page = render_html(s, {"workflow": "refunds"})
    assert page.count('<svg class="chart"') == 6 and "taskwarden-no-grounding" in page


class FakeLangSmith:
    """Records what an upload asks of `langsmith.Client`."""

    def __init__(self):
        self.calls = []
        self.examples = []

    def has_dataset(self, dataset_name):
        return False

    def create_dataset(self, name, description=""):
        self.calls.append(("create_dataset", name))
        return type("D", (), {"id": "ds1"})()

    def create_examples(self, inputs, outputs, metadata, dataset_id):
        self.examples = [type("E", (), {"id": f"ex{i}", "metadata": m})() for i, m in enumerate(metadata)]
        self.calls.append(("create_examples", len(inputs)))

    def list_examples(self, dataset_id):
        return self.examples

    def create_project(self, name, reference_dataset_id, metadata):
        self.calls.append(("create_project", metadata["system"]))

    def create_run(self, **kwargs):
        self.calls.append(("create_run", kwargs["name"], kwargs["reference_example_id"]))

    def create_feedback(self, run_id, key, score, comment=None):
        self.calls.append(("feedback", key, score))


def test_results_export_as_a_langsmith_dataset_and_one_experiment_per_system():
    results = [fake_result("taskwarden", "a", True, True, True), fake_result("baseline", "a", False, True, False)]
    records = export_records(results, "refunds")
    assert records["dataset"]["name"] == "taskwarden-refunds" and len(records["dataset"]["examples"]) == 1
    assert records["experiments"]["taskwarden"][0]["feedback"]["success"] == 1
    client = FakeLangSmith()
    uploaded = upload(records, client)
    assert uploaded["dataset"] == "taskwarden-refunds" and len(uploaded["experiments"]) == 2
    assert ("create_examples", 1) in client.calls
    assert ("create_run", "taskwarden", "ex0") in client.calls and ("feedback", "success", 0) in client.calls


def test_a_stratified_sample_covers_every_tag_group_in_file_order():
    from taskwarden.evals.dataset import stratified_sample

    cases = [case(id=f"{tag}{i}", tags=[tag]) for tag in ("common", "policy", "edge") for i in range(4)]
    assert [c.id for c in stratified_sample(cases, 5)] == ["common0", "common1", "policy0", "policy1", "edge0"]
    assert len(stratified_sample(cases, 50)) == 12
    # fewer cases than groups: groups evenly spaced over the file, not the first ones
    many = [case(id=f"g{g}", tags=[f"tag{g}"]) for g in range(10)]
    assert [c.id for c in stratified_sample(many, 3)] == ["g0", "g3", "g6"]


# ---------------------------------------------------------------- the command

def eval_args(tmp_path, *argv):
    from taskwarden.cli.main import parser

    return parser().parse_args(["eval", "refunds", *argv, "--out", str(tmp_path / "report")])


def full_refund_script(purchase: str, amount: float):
    """A complete refund-desk run: research, refund, reply (the shipped dataset expects a reply draft)."""
    plan = {"tasks": [
        {"id": "t1", "description": "Research", "role": "researcher", "depends_on": [], "acceptance_criteria": ["ok"]},
        {"id": "t2", "description": "Refund", "role": "refunder", "depends_on": ["t1"], "acceptance_criteria": ["ok"]},
        {"id": "t3", "description": "Reply", "role": "writer", "depends_on": ["t2"], "acceptance_criteria": ["ok"]}]}
    from taskwarden.testing import structured

    worker = [*research(purchase),
              call("issue_refund", when="(t2)", purchase_id=purchase, amount=amount, reason="x", customer_email=ALICE),
              say(f"Refund R{purchase[1:]} issued.", when="(t2)"),
              call("draft_reply", when="(t3)", customer_id="C001", message=f"Your refund R{purchase[1:]} of ${amount:g} is on its way."),
              say("Reply saved.", when="(t3)")]
    return {"orchestrator": ScriptedChatModel(script=[structured(plan)]), "worker": ScriptedChatModel(script=worker),
            "evaluator": ScriptedChatModel(script=passes(3))}


def test_the_command_runs_shipped_cases_and_writes_its_reports(tmp_path, capsys):
    from taskwarden.evals.cli import cmd_eval

    scripts = {"common-alice-headphones": ("P1001", 79), "approval-desk-approved": ("P1002", 249)}
    args = eval_args(tmp_path, "--case", "common-alice-headphones", "--case", "approval-desk-approved")
    assert cmd_eval(args, models_for=lambda c: full_refund_script(*scripts[c.id])) == 0
    out = capsys.readouterr()
    assert "task success" in out.out and "100%" in out.out and "[  2/2] pass" in out.err
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["summaries"]["taskwarden"]["success_rate"] == 1.0
    assert report["summaries"]["taskwarden"]["escalation_recall"] == 1.0
    assert {c["id"]: c["review_asked"] for c in report["cases"]} == {"common-alice-headphones": False,
                                                                     "approval-desk-approved": True}
    assert '<svg class="chart"' in (tmp_path / "report" / "report.html").read_text()


def test_the_command_reports_bad_lines_runs_the_rest_and_refuses_what_it_cannot_run(tmp_path, capsys):
    from taskwarden.evals.cli import cmd_eval

    shipped = Path(__file__).parents[2] / "workflows" / "refunds" / "dataset.jsonl"
    good = shipped.read_text().splitlines()[0]
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text(good + "\n" + '{"id": "broken", "input": {"request": ""}, "expect": {}}\n')
    args = eval_args(tmp_path, str(dataset), "--fail-under", "90")
    assert cmd_eval(args, models_for=lambda c: full_refund_script("P1001", 79)) == 0
    err = capsys.readouterr().err
    assert 'line 2: input: Value error, input needs a non-empty "request" string (skipped)' in err
    assert "[  1/1] pass" in err

    below = eval_args(tmp_path, str(dataset), "--fail-under", "90")
    assert cmd_eval(below, models_for=lambda c: full_refund_script("P1001", 70)) == 1  # wrong amount: 0% success
    assert "below --fail-under 90%" in capsys.readouterr().err

    for argv, message in [((str(tmp_path / "nope.jsonl"),), "no dataset at"),
                          (("--case", "no-such-case"), "no case with id no-such-case"),
                          (("--tag", "no-such-tag"), "no valid case to run")]:
        assert cmd_eval(eval_args(tmp_path, *argv)) == 2
        assert message in capsys.readouterr().err


def test_ablations_run_taskwarden_again_with_one_mechanism_off(tmp_path, capsys):
    from taskwarden.evals.cli import build_systems, cmd_eval

    args = eval_args(tmp_path, "--case", "common-alice-headphones", "--ablate", "grounding", "--baseline",
                     "--disable", "nothing_asked")
    assert cmd_eval(args, models_for=lambda c: {**full_refund_script("P1001", 79),
                                                "baseline": ScriptedChatModel(script=[say("Done.")])}) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["systems"] == ["taskwarden", "taskwarden-no-grounding", "baseline"]
    assert report["disabled"] == {"taskwarden": ["nothing_asked"], "taskwarden-no-grounding": ["nothing_asked", "grounding"]}
    assert report["summaries"]["taskwarden-no-grounding"]["success_rate"] == 1.0
    assert "vs taskwarden-no-grounding" in out and "vs baseline" in out and "worth" in out

    names = [s.name for s in build_systems(None, None, ablate=["all"], disable=["grounding,loop_recovery"])]
    assert names == ["taskwarden", *(f"taskwarden-no-{m}" for m in MECHANISMS if m not in ("grounding", "loop_recovery"))]
    for argv, message in [(("--ablate", "memory"), "--ablate: unknown mechanism(s) memory; known: grounding, "),
                          (("--disable", "grounding,memory"), "--disable: unknown reliability mechanism(s) ['memory']"),
                          (("--disable", "grounding", "--ablate", "grounding"), "already off")]:
        assert cmd_eval(eval_args(tmp_path, *argv)) == 2
        assert message in capsys.readouterr().err


def test_an_interrupted_evaluation_keeps_its_results_and_resumes_where_it_stopped(tmp_path, capsys):
    from taskwarden.cli.main import parser
    from taskwarden.evals.cli import cmd_eval

    scripts = {"common-alice-headphones": ("P1001", 79), "approval-desk-approved": ("P1002", 249)}
    ran: list[str] = []

    def interrupted(case):
        if case.id == "approval-desk-approved":
            raise KeyboardInterrupt  # Ctrl-C (or a lost session) during the second case
        ran.append(case.id)
        return full_refund_script(*scripts[case.id])

    cases = ("--case", "common-alice-headphones", "--case", "approval-desk-approved")
    assert cmd_eval(eval_args(tmp_path, *cases), models_for=interrupted) == 130
    printed = capsys.readouterr()
    assert "continue with the same command and --out" in printed.err
    # what finished is summed up: a run of hours interrupted should not need its end to show a number
    assert "so far: 1 of 2 case(s), finished by every system" in printed.out
    assert "task success" in printed.out and "100%" in printed.out
    journal = tmp_path / "report" / "cases.jsonl"
    assert [json.loads(line)["case"] for line in journal.read_text().splitlines()] == ["common-alice-headphones"]

    def finish(case):
        ran.append(case.id)
        return full_refund_script(*scripts[case.id])

    assert cmd_eval(eval_args(tmp_path, *cases, "--resume"), models_for=finish) == 0
    err = capsys.readouterr().err
    assert "resuming from" in err and "1 result(s) kept" in err and "[  1/1] pass" in err
    assert ran == ["common-alice-headphones", "approval-desk-approved"]  # the first case did not run again
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["resumed"] == 1 and report["summaries"]["taskwarden"]["success_rate"] == 1.0
    assert sorted(c["id"] for c in report["cases"]) == sorted(scripts)
    assert sum(report["code"].values()) == 2  # which code produced each result (a git commit here)

    # a fresh run in the same folder starts its own journal and keeps the earlier one
    assert cmd_eval(eval_args(tmp_path, "--case", "common-alice-headphones"), models_for=finish) == 0
    assert "kept as cases-" in capsys.readouterr().err
    assert len(list((tmp_path / "report").glob("cases-*.jsonl"))) == 1 and len(journal.read_text().splitlines()) == 1

    # another model's journal is not mixed in; --resume needs the folder
    assert cmd_eval(eval_args(tmp_path, "--resume", "--model", "openai:gpt-4o-mini")) == 2
    assert "holds results for model 'default', not 'openai:gpt-4o-mini'" in capsys.readouterr().err
    assert cmd_eval(parser().parse_args(["eval", "refunds", "--resume"])) == 2
    assert "--resume needs --out DIR" in capsys.readouterr().err


def test_a_resumed_evaluation_runs_again_a_case_edited_since(tmp_path, capsys):
    from taskwarden.evals.cli import cmd_eval

    shipped = Path(__file__).parents[2] / "workflows" / "refunds" / "dataset.jsonl"
    first = json.loads(shipped.read_text().splitlines()[0])
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text(json.dumps(first) + "\n")
    assert cmd_eval(eval_args(tmp_path, str(dataset)), models_for=lambda c: full_refund_script("P1001", 79)) == 0
    dataset.write_text(json.dumps({**first, "note": "edited"}) + "\n")
    assert cmd_eval(eval_args(tmp_path, str(dataset), "--resume"),
                    models_for=lambda c: full_refund_script("P1001", 79)) == 0
    err = capsys.readouterr().err
    assert f"case {first['id']} changed since it ran, run again" in err and "[  1/1] pass" in err

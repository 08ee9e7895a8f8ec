"""Resilient tool calls: deadlines, retries of transient errors with backoff, and the failure threshold."""

from __future__ import annotations

import threading

import pytest
from langgraph.types import Command

from scripts import passes, plan
from taskwarden.graph.context import Context
from taskwarden.graph.usage import Budgets
from taskwarden.graph.worker import failure_streak
from taskwarden.testing import call, say
from taskwarden.tools.executor import execute
from taskwarden.tools.ledger import Ledger, UncertainExecution
from taskwarden.tools.registry import tool_spec
from taskwarden.tools.resilience import TransientToolError, backoff_delay

CFG = {"configurable": {"thread_id": "t-1"}}
REQUEST = {"messages": [("user", "zoe@example.com: refund my order, it arrived damaged")]}


class Flaky:
    """A tool body that raises the given errors in turn, then answers; counts its calls."""

    def __init__(self, *errors: BaseException, answer: str = "ok") -> None:
        self.errors, self.answer, self.calls = list(errors), answer, 0

    def run(self, item: str) -> str:
        """Look an item up."""
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return f"{self.answer}:{item}"


@pytest.fixture
def ledger(tmp_path):
    return Ledger(tmp_path / "ledger.db")


@pytest.fixture
def sleeps():
    """An injected `sleep` that records the backoff delays instead of waiting."""
    return []


def run(spec, ledger, sleeps, args=None, key="run/t1/tool/k"):
    return execute(spec, args or {"item": "x"}, key, ledger, sleep=sleeps.append, rand=lambda: 0.5)


def test_a_read_tool_is_retried_on_connection_errors_with_exponential_backoff(ledger, sleeps):
    body = Flaky(ConnectionError("reset by peer"), ConnectionError("reset again"))
    spec = tool_spec(body.run, name="lookup", risk="read", retries=2, backoff_s=1.0, max_backoff_s=8.0)

    result = run(spec, ledger, sleeps)

    assert (result.outcome, result.observation, result.attempts) == ("executed", "ok:x", 3)
    assert result.errors == ("ConnectionError: reset by peer", "ConnectionError: reset again")
    assert sleeps == [0.5, 1.0], "full jitter (rand=0.5) of 1s, then of 2s"
    assert body.calls == 3 and ledger.entries() == [], "a read tool does not go through the ledger"


def test_backoff_grows_exponentially_up_to_its_cap_with_full_jitter():
    assert [backoff_delay(retry, 0.5, 4.0, lambda: 1.0) for retry in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff_delay(3, 0.5, 4.0, lambda: 0.0) == 0.0, "full jitter: any wait from 0 up to the cap"


def test_retries_run_out_and_the_error_says_how_many_attempts_were_made(ledger, sleeps):
    body = Flaky(*(TimeoutError(f"slow #{i}") for i in range(1, 4)))
    spec = tool_spec(body.run, name="lookup", risk="read", retries=2, backoff_s=0.2)

    result = run(spec, ledger, sleeps)

    assert result.outcome == "error" and result.attempts == 3 and body.calls == 3
    assert result.observation == "Error from lookup after 3 attempts: TimeoutError: slow #3"
    assert result.errors == ("TimeoutError: slow #1", "TimeoutError: slow #2", "TimeoutError: slow #3")
    assert sleeps == [0.1, 0.2], "no wait after the last attempt"


def test_a_non_transient_error_is_not_retried(ledger, sleeps):
    body = Flaky(LookupError("no such item"))
    result = run(tool_spec(body.run, name="lookup", risk="read"), ledger, sleeps)

    assert result.outcome == "error" and result.attempts == 1 and body.calls == 1 and sleeps == []
    assert result.observation.startswith("Error from lookup after 1 attempt: LookupError: no such item (not found "
                                         "is a finding, not a failure to retry")


def test_a_bug_raising_key_error_gets_no_not_found_hint(ledger, sleeps):
    result = run(tool_spec(Flaky(KeyError("total")).run, name="lookup", risk="read"), ledger, sleeps)
    assert result.observation == "Error from lookup after 1 attempt: KeyError: 'total'"


@pytest.mark.parametrize("error", [ConnectionError("reset"), TimeoutError("slow"), RuntimeError("boom")])
def test_a_write_tool_is_not_retried_on_a_plain_exception(ledger, sleeps, error):
    """The effect may have happened before the error (a lost response): only the tool can say it did not."""
    body = Flaky(error)
    result = run(tool_spec(body.run, name="send", risk="write"), ledger, sleeps)

    assert result.outcome == "error" and result.attempts == 1 and body.calls == 1 and sleeps == []
    (entry,) = ledger.entries()
    assert entry["status"] == "failed" and type(error).__name__ in entry["result"]


def test_a_write_tool_is_retried_when_it_says_the_error_came_before_any_effect(ledger, sleeps):
    body = Flaky(TransientToolError("rate limited, nothing sent"))
    result = run(tool_spec(body.run, name="send", risk="irreversible", backoff_s=2.0), ledger, sleeps)

    assert (result.outcome, result.attempts, body.calls, sleeps) == ("executed", 2, 2, [1.0])
    assert result.errors == ("TransientToolError: rate limited, nothing sent",)
    (entry,) = ledger.entries()
    assert entry["status"] == "done" and entry["result"] == "ok:x"


def test_a_read_tool_that_hangs_is_abandoned_at_its_deadline_and_retried(ledger, sleeps):
    release, calls = threading.Event(), []

    def lookup(item: str) -> str:
        """Look an item up."""
        calls.append(item)
        if len(calls) == 1:
            release.wait(5)  # the first attempt hangs
        return f"found {item}"

    spec = tool_spec(lookup, risk="read", timeout_s=0.05, retries=1, backoff_s=0.1)
    try:
        result = run(spec, ledger, sleeps)
    finally:
        release.set()
    assert (result.outcome, result.observation, result.attempts) == ("executed", "found x", 2)
    assert result.errors == ("ToolTimeout: lookup did not finish within 0.05s",)


def test_a_side_effect_past_its_deadline_is_uncertain_never_retried_and_reconciled_later(ledger, sleeps):
    """The call may still commit after the deadline: it stays `started` in the ledger and escalates."""
    release, committed, effects = threading.Event(), threading.Event(), []

    def pay(item: str) -> str:
        """Pay for an item."""
        release.wait(5)
        effects.append(item)  # the effect lands after the caller gave up waiting
        committed.set()
        return f"paid {item}"

    spec = tool_spec(pay, risk="irreversible", timeout_s=0.05, retries=2,
                     reconcile=lambda args: f"paid {args['item']}" if effects else None)
    with pytest.raises(UncertainExecution, match="pay did not finish within 0.05s; it may still take effect"):
        run(spec, ledger, sleeps)
    (entry,) = ledger.entries()
    assert entry["status"] == "started" and entry["result"].startswith("uncertain: pay did not finish")
    assert sleeps == [], "an uncertain call is never retried"

    release.set()
    assert committed.wait(5)
    again = run(spec, ledger, sleeps)  # the task's next attempt (after a human looked) reconciles it
    assert (again.outcome, again.observation) == ("replayed", "paid x")
    assert effects == ["x"] and ledger.lookup(entry["key"])["status"] == "done"


def test_tool_specs_refuse_nonsense_resilience_settings():
    for bad in ({"timeout_s": 0}, {"retries": -1}, {"backoff_s": 2.0, "max_backoff_s": 1.0}):
        with pytest.raises(ValueError, match="lookup"):
            tool_spec(Flaky().run, name="lookup", risk="read", **bad)
    spec = tool_spec(Flaky().run, name="lookup", risk="read", timeout_s=None)
    assert (spec.timeout_s, spec.retries, spec.backoff_s) == (None, 2, 0.5)


def test_the_failure_streak_counts_calls_that_failed_since_the_last_one_that_ran():
    def action(outcome):
        return {"tool": "t", "args": {}, "outcome": outcome, "summary": outcome}

    outcomes = ["error", "executed", "error", "refused", "invalid", "error", "rejected"]
    assert [a["outcome"] for a in failure_streak([action(o) for o in outcomes])] == ["error", "error"]
    assert failure_streak([action("error"), action("replayed")]) == []
    assert Budgets().max_tool_failures == 3
    assert Context(max_tool_failures=5).budgets(Budgets()).max_tool_failures == 5


def test_repeated_tool_failures_escalate_with_the_errors_and_a_response_sends_the_task_back(make_graph):
    graph, models = make_graph(
        orchestrator=[plan(("t1", "researcher", "Find the customer", ()))],
        worker=[*(call("lookup_customer", when="(t1)", email="zoe@example.com") for _ in range(3)),
                call("lookup_customer", when="Reviewer: her address is alice@example.com", email="alice@example.com"),
                say("Alice Martin is C001.", when="(t1)")],
        evaluator=passes(1),
    )
    graph.invoke(REQUEST, CFG)

    state = graph.get_state(CFG)
    task = state.values["tasks"]["t1"]
    assert task["status"] == "escalated" and task["escalation"]["kind"] == "tool_failures"
    assert len(models["worker"].calls) == 3, "the threshold stops the attempt before another model call"
    assert "Error from lookup_customer after 1 attempt: LookupError" in models["worker"].calls[1].prompt
    (pending,) = state.interrupts
    assert pending.value["escalation_kind"] == "tool_failures"
    assert pending.value["review_configs"][0]["allowed_decisions"] == ["edit", "reject", "response"], "no result: nothing to approve"
    args = pending.value["action_requests"][0]["args"]
    assert "3 tool calls in a row failed (lookup_customer)" in args["reason"]
    assert len(args["what_was_seen"]) == 3 and all(
        "lookup_customer(email='zoe@example.com') failed after 1 attempt: #1 LookupError: no customer with e-mail"
        in line for line in args["what_was_seen"])
    assert [e["errors"] for e in args["errors"]] == [["LookupError: no customer with e-mail 'zoe@example.com'"]] * 3
    assert [a["attempts"] for a in task["actions"]] == [1, 1, 1]

    out = graph.invoke(Command(resume={"decisions": [{"type": "response",
                                                      "message": "her address is alice@example.com"}]}), CFG)

    assert out["status"] == "completed" and out["tasks"]["t1"]["status"] == "passed"
    assert out["tasks"]["t1"]["result"] == "Alice Martin is C001."
    assert [r["decision"] for r in out["reviews"] if r.get("escalation_kind") == "tool_failures"] == ["response"]

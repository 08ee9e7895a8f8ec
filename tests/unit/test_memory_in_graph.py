"""Long-term memory in the run: lessons recalled for planning, episodes remembered at the end."""

from __future__ import annotations

import pytest
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command
from test_cli import REQUEST as CLI_REQUEST
from test_cli import cli

from scripts import REFUND_PLAN, passes, plan, refund, research
from taskwarden.graph.memory_nodes import episode_of
from taskwarden.memory import default_store
from taskwarden.memory.episodes import namespace
from taskwarden.testing import say
from taskwarden.workflows.refunds.db import refunds_for

REASON = "Customer already received store credit for P1002; never refund an order twice."
FIRST = {"messages": [("user", "alice@example.com: refund order P1002, the standing desk arrived damaged")]}
SIMILAR = {"messages": [("user", "Please refund P1002 for alice@example.com, my desk was damaged in transit")]}
UNRELATED = {"messages": [("user", "What are your opening hours on public holidays?")]}
ONE_TASK = plan(("t1", "researcher", "Look into the request", ()))


@pytest.fixture
def store(tmp_path):
    store = default_store(tmp_path / "memory")
    yield store
    store.close()


def rejected_run(make_graph, store, refunds_db):
    """Run 1: the reviewer rejects the $249 refund and says why."""
    graph, models = make_graph(orchestrator=[REFUND_PLAN],
                               worker=[*research(), *refund()[:1], say("No refund was issued.", when="(t2)")],
                               evaluator=passes(2), store=store)
    config = {"configurable": {"thread_id": "run-1"}}
    graph.invoke(FIRST, config)
    out = graph.invoke(Command(resume={"decisions": [{"type": "reject", "message": REASON}]}), config)
    assert refunds_for(refunds_db) == []
    return out, models


def test_a_reviewers_rejection_becomes_a_lesson_for_the_next_similar_run(make_graph, store, refunds_db):
    out, first_models = rejected_run(make_graph, store, refunds_db)
    assert out["reviews"][0] | {"args": None} == {"kind": "tool_approval", "task_id": "t2", "action": "issue_refund",
                                                 "args": None, "decision": "reject", "message": REASON,
                                                 "edited_args": None}
    assert "Lessons from earlier runs" not in first_models["orchestrator"].calls[0].prompt, "memory starts empty"
    (episode,) = store.search(namespace("refunds"))
    assert episode.value["goal"] == FIRST["messages"][0][1] and episode.value["status"] == "completed"
    assert any(REASON in lesson for lesson in episode.value["lessons"])

    graph, models = make_graph(orchestrator=[ONE_TASK], worker=[say("Looked into it.", when="(t1)")],
                               evaluator=passes(1), store=store)
    second = graph.invoke(SIMILAR, {"configurable": {"thread_id": "run-2"}})

    planning_prompt = models["orchestrator"].calls[0].prompt
    assert "Lessons from earlier runs" in planning_prompt
    assert ("A reviewer rejected issue_refund(purchase_id=P1002, amount=249.0, reason=damaged, "
            f"customer_email=alice@example.com) because: {REASON}") in planning_prompt
    assert second["lessons"] and REASON in second["lessons"][0]
    assert len(store.search(namespace("refunds"))) == 2, "the second run is remembered too"


def test_an_unrelated_request_gets_no_lessons(make_graph, store, refunds_db):
    rejected_run(make_graph, store, refunds_db)
    graph, models = make_graph(orchestrator=[ONE_TASK], worker=[say("We open 9 to 5.", when="(t1)")],
                               evaluator=passes(1), store=store)
    out = graph.invoke(UNRELATED, {"configurable": {"thread_id": "run-3"}})
    assert out["lessons"] == []
    assert "Lessons from earlier runs" not in models["orchestrator"].calls[0].prompt


def test_a_failing_store_is_reported_and_the_run_goes_on(make_graph):
    class BrokenStore(InMemoryStore):
        def batch(self, ops):
            raise ConnectionError("chroma is down")

    graph, _ = make_graph(orchestrator=[ONE_TASK], worker=[say("Done.", when="(t1)")], evaluator=passes(1),
                          store=BrokenStore())
    events = [chunk for mode, chunk in graph.stream(FIRST, {"configurable": {"thread_id": "b"}},
                                                     stream_mode=["custom", "values"]) if mode == "custom"]
    errors = [e for e in events if e["event"] == "memory_error"]
    assert [e["stage"] for e in errors] == ["recall", "remember"]
    assert "chroma is down" in errors[0]["error"]
    (finished,) = [e for e in events if e["event"] == "run_finished"]
    assert finished["status"] == "completed"


def test_without_a_store_the_run_has_no_memory(make_graph):
    graph, _ = make_graph(orchestrator=[ONE_TASK], worker=[say("Done.", when="(t1)")], evaluator=passes(1))
    out = graph.invoke(FIRST, {"configurable": {"thread_id": "n"}})
    assert out["status"] == "completed" and out["lessons"] == []


def test_episode_holds_only_this_runs_decisions_and_replaces_itself(make_graph, store, refunds_db):
    """A second request on the same thread starts a fresh list of decisions; the episode key is the run id."""
    rejected_run(make_graph, store, refunds_db)
    graph, _ = make_graph(orchestrator=[ONE_TASK], worker=[say("Done.", when="(t1)")], evaluator=passes(1),
                          store=store)
    config = {"configurable": {"thread_id": "run-1"}}
    out = graph.invoke(UNRELATED, config)
    assert out["reviews"] == []
    state = graph.get_state(config).values
    episode = episode_of(state, "run-1")
    assert episode["id"] == state["run_id"] and episode["decisions"] == []


def test_memory_survives_a_process_restart(home):
    """Three processes: pause, reject with a reason (episode written), then a similar run recalls it."""
    first = cli(home, "pause", "run", "refunds", CLI_REQUEST, "--thread", "m-1", "--on-review", "stop")
    assert first.returncode == 3, first.stderr + first.stdout
    rejected = cli(home, "reject", "review", "reject", "m-1", "--message",
                   "Customer already received store credit for P1002.")
    assert rejected.returncode == 0, rejected.stderr + rejected.stdout
    # the `recall` script plans only when the lesson is in the planner's prompt (exit 99 otherwise)
    second = cli(home, "recall", "run", "refunds", "alice@example.com wants a refund for P1002, damaged desk",
                 "--thread", "m-2")
    assert second.returncode == 0, second.stderr + second.stdout
    assert "store credit" in second.stdout

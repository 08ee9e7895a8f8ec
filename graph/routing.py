"""Routers: pure functions of the state, returning the next node(s)."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.types import Send

from taskwarden.agents.prompts import HUMAN_DECISION_NOTE
from taskwarden.graph.orchestrate import awaiting_evaluation, runnable_tasks
from taskwarden.graph.review import pending_escalation
from taskwarden.graph.state import RunState, TaskRecord, WorkerInput

REJECTED_MARK = " -> rejected: "
"""How a declined call's summary reads (graph/worker.py builds it: `tool(args) -> outcome: observation`)."""


def route_after_orchestrate(state: RunState) -> Literal["human_review", "evaluate", "finalize"] | list[Send]:
    """Escalations first; then results still to evaluate; else fan ready tasks out to workers; else finish."""
    if pending_escalation(state):
        return "human_review"
    if awaiting_evaluation(state):
        return "evaluate"
    ready = runnable_tasks(state)
    if not ready:
        return "finalize"
    tasks = state.get("tasks") or {}
    return [Send("work", WorkerInput(
        task={**task, "attempts": task["attempts"] + 1},
        request=state["request"],
        dependency_results={dep: dependency_result(tasks[dep]) for dep in task["depends_on"]},
        run_usage=state.get("usage") or {},
        budget_grants=state.get("budget_grants", 0),
        evidence=run_evidence(state, exclude=task["id"]),
    )) for task in ready]


def dependency_result(task: TaskRecord) -> str:
    """A finished task's result as the tasks that build on it read it: with every call of it that a person
    declined (a reviewer, or the requester asked to confirm) and what they said."""
    declined = dict.fromkeys(HUMAN_DECISION_NOTE.format(tool=a["tool"], said=a["summary"].partition(REJECTED_MARK)[2])
                             for a in task["actions"] if a["outcome"] == "rejected")
    return task["result"] + "".join(declined)


def run_evidence(state: RunState, exclude: str | None = None) -> dict[str, Any]:
    """The request with the conversation's earlier human turns, and other tasks' successful tool results."""
    turns = [str(m.content) for m in state.get("messages") or [] if getattr(m, "type", "") == "human"]
    request = "\n".join(dict.fromkeys([*turns, state.get("request", "")]))
    observations = [a["observation"] for tid, t in (state.get("tasks") or {}).items() if tid != exclude
                    for a in t["actions"] if a.get("observation") and a["outcome"] in ("executed", "replayed")]
    return {"request": request, "observations": observations}


def route_after_human_review(state: RunState) -> Literal["orchestrate", "finalize"]:
    return "finalize" if state.get("status") == "rejected" else "orchestrate"

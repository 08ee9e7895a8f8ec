"""human_review: an escalation (task, budget, planning) stops for a human; the decision steers the run.

Decisions by escalation kind:
- task (`evaluation`, `revisions`, `uncertain_side_effect`, `tool_failures`): approve accepts the
  result as it is, edit replaces the result (``edited_action.args.result``), response sends the
  task back to its worker with the reviewer's guidance, reject stops the run. A `tool_failures`
  escalation shows every failed call's errors in `what_was_seen` and, structured, in `errors`.
  A task with no result cannot be approved (the run would pass it and end with no answer): the
  review offers edit, response and reject.
- `budget`: approve (or response) grants one more allotment of every budget; reject stops the run.
- `plan`: approve retries planning, response retries it with the reviewer's guidance; reject stops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from taskwarden.graph.engine import Engine
from taskwarden.graph.events import emit
from taskwarden.graph.hitl import action_request, ask_human, hitl_request
from taskwarden.graph.state import RunState, TaskRecord

ALLOWED = {
    "task": ("approve", "edit", "reject", "response"),
    "budget": ("approve", "reject", "response"),
    "plan": ("approve", "reject", "response"),
}
NO_RESULT_ALLOWED = ("edit", "reject", "response")
NO_RESULT = (" The task has no result to approve: edit it to give the result, respond to send it back to its worker "
             "with guidance, or reject.")


def pending_escalation(state: RunState) -> dict[str, Any] | None:
    """The escalation a human must answer next: run-level first, then the first escalated task."""
    if state.get("escalation"):
        return state["escalation"]
    for task in (state.get("tasks") or {}).values():
        if task["status"] == "escalated":
            return task.get("escalation") or {"kind": "evaluation", "reason": "escalated", "task_id": task["id"]}
    return None


def _family(escalation: dict[str, Any]) -> str:
    if escalation.get("kind") == "budget":
        return "budget"
    if escalation.get("kind") == "plan":
        return "plan"
    return "task"


def review_request(escalation: dict[str, Any], state: RunState) -> dict[str, Any]:
    family = _family(escalation)
    task = (state.get("tasks") or {}).get(escalation.get("task_id") or "")
    args: dict[str, Any] = {
        "reason": escalation.get("reason", ""),
        "what_was_done": escalation.get("what_was_done", []),
        "what_was_seen": escalation.get("what_was_seen", []),
    }
    if escalation.get("errors"):  # failed tool calls with each attempt's error (`tool_failures`)
        args["errors"] = escalation["errors"]
    description = f"Escalated ({escalation.get('kind')}): {escalation.get('reason', '')}"
    allowed = ALLOWED[family]
    if task:
        args.update(task_id=task["id"], task=task["description"], result=task["result"])
        if family == "task" and not str(task["result"] or "").strip():
            allowed, description = NO_RESULT_ALLOWED, description + NO_RESULT
    return hitl_request([action_request(f"escalation:{escalation.get('kind')}", args, description)],
                        [allowed], kind="escalation", escalation_kind=escalation.get("kind"),
                        task_id=escalation.get("task_id"))


def make_human_review(engine: Engine) -> Callable[[RunState], dict[str, Any]]:
    def human_review(state: RunState) -> dict[str, Any]:
        escalation = pending_escalation(state)
        if escalation is None:
            return {}
        request = review_request(escalation, state)
        emit("review_requested", kind="escalation", reason=escalation.get("reason"), task_id=escalation.get("task_id"))
        decision = ask_human(request)[0]
        update = _apply(decision, escalation, state)
        record = {"kind": _family(escalation),
                  "escalation_kind": escalation.get("kind"), "task_id": escalation.get("task_id"),
                  "decision": decision["type"], "message": decision.get("message", ""),
                  "edited_args": decision.get("edited_action", {}).get("args")}
        emit("review_decided", **record)
        return {**update, "reviews": [record]}

    return human_review


def _apply(decision: dict[str, Any], escalation: dict[str, Any], state: RunState) -> dict[str, Any]:
    kind, family = decision["type"], _family(escalation)
    if kind == "reject":
        update: dict[str, Any] = {"status": "rejected", "escalation": None,
                                  "final_answer": f"Stopped by a human reviewer: {decision.get('message') or 'rejected'}"}
        if family == "task":
            update["tasks"] = {escalation["task_id"]: _task(state, escalation, status="rejected")}
        return update
    if family == "budget":
        return {"escalation": None, "budget_grants": state.get("budget_grants", 0) + 1,
                **({"tasks": {escalation["task_id"]: _task(state, escalation, status="pending")}}
                   if escalation.get("task_id") else {})}
    if family == "plan":
        return {"escalation": None, "plan": None}
    if kind == "approve":
        return {"tasks": {escalation["task_id"]: _task(state, escalation, status="passed")}}
    if kind == "edit":
        result = str(decision["edited_action"]["args"].get("result", ""))
        return {"tasks": {escalation["task_id"]: _task(state, escalation, status="passed", result=result)}}
    task = _task(state, escalation, status="pending", attempts=0)
    task["feedback"] = [*task["feedback"], f"Reviewer: {decision['message']}"]
    return {"tasks": {escalation["task_id"]: task}}


def _task(state: RunState, escalation: dict[str, Any], **changes: Any) -> TaskRecord:
    task = TaskRecord(**state["tasks"][escalation["task_id"]])
    task.update(escalation=None, **changes)
    return task

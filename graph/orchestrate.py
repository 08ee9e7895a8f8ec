"""orchestrate: plan once (validated, repaired), then dispatch ready tasks; guard the run budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from langgraph.runtime import Runtime

from taskwarden.agents.orchestrator import make_plan
from taskwarden.agents.prompts import LOOK_BEFORE_ACT_PLAN_RULE
from taskwarden.agents.structured import StructuredOutputError
from taskwarden.graph.context import Context, context_of
from taskwarden.graph.engine import Engine
from taskwarden.graph.events import emit, emit_model_calls
from taskwarden.graph.state import RunState, TaskRecord
from taskwarden.graph.usage import usage_of_calls


def awaiting_evaluation(state: RunState) -> bool:
    """Whether a finished task still waits for its evaluation (e.g. after a budget extension)."""
    return any(t["status"] == "done" for t in (state.get("tasks") or {}).values())


def runnable_tasks(state: RunState) -> list[TaskRecord]:
    """Tasks waiting for a worker whose dependencies have all passed."""
    tasks = state.get("tasks") or {}
    passed = {tid for tid, t in tasks.items() if t["status"] == "passed"}
    return [t for t in tasks.values() if t["status"] in ("pending", "revise") and set(t["depends_on"]) <= passed]


def new_task(planned: dict[str, Any]) -> TaskRecord:
    return TaskRecord(id=planned["id"], description=planned["description"], role=planned["role"],
                      depends_on=list(planned.get("depends_on", [])),
                      acceptance_criteria=list(planned["acceptance_criteria"]), status="pending", attempts=0,
                      result="", feedback=[], actions=[], escalation=None)


def make_orchestrate(engine: Engine) -> Callable[..., dict[str, Any]]:
    workflow = engine.workflow

    def orchestrate(state: RunState, runtime: Runtime[Context]) -> dict[str, Any]:
        started = time.monotonic()
        context = context_of(runtime)
        budgets = engine.budgets(context, state.get("budget_grants", 0))
        exhausted = budgets.exhausted_by(state.get("usage") or {})
        if state.get("plan") is None:
            if exhausted:
                return {"escalation": _budget_escalation(exhausted, state)}
            try:
                plan, raws = make_plan(engine.models.get("orchestrator", context), request=state["request"],
                                       workflow=workflow.name, instructions=workflow.instructions,
                                       roles=workflow.roles,
                                       plan_hint=workflow.plan_hint + (LOOK_BEFORE_ACT_PLAN_RULE if engine.reliability(
                                           context).look_before_act and _changes_records(workflow) else ""),
                                       lessons=[*_reviewer_guidance(state), *(state.get("lessons") or [])])
            except StructuredOutputError as exc:
                emit_model_calls("orchestrator", exc.raw_messages, time.monotonic() - started)
                emit("plan_failed", error=str(exc))
                return {"usage": usage_of_calls(exc.raw_messages, time.monotonic() - started),
                        "escalation": {"kind": "plan", "reason": f"the planner's output stayed invalid: {exc}",
                                       "what_was_done": ["asked the orchestrator for a plan (with repair)"],
                                       "what_was_seen": [str(m.content)[:300] for m in exc.raw_messages]}}
            emit_model_calls("orchestrator", raws, time.monotonic() - started)
            tasks = {t.id: new_task(t.model_dump()) for t in plan.tasks}
            emit("plan", tasks=[{k: t[k] for k in ("id", "role", "description", "depends_on")} for t in tasks.values()])
            return {"plan": plan.model_dump(), "tasks": tasks,
                    "usage": usage_of_calls(raws, time.monotonic() - started)}
        unfinished = [t for t in (state.get("tasks") or {}).values() if t["status"] not in ("passed", "rejected")]
        if exhausted and unfinished:
            return {"escalation": _budget_escalation(exhausted, state)}
        return {}

    return orchestrate


def _changes_records(workflow: Any) -> bool:
    return any(spec.has_side_effects for spec in workflow.tools)


def _budget_escalation(reason: str, state: RunState) -> dict[str, Any]:
    tasks = (state.get("tasks") or {}).values()
    done = [line for t in tasks for line in (f"{t['id']} ({t['status']}): {t['description']}",
                                             *(f"  {a['summary']}" for a in t["actions"]))]
    return {"kind": "budget", "reason": reason, "what_was_done": done,
            "what_was_seen": [f"{t['id']}: {t['result'][:200]}" for t in tasks if t.get("result")]}


def _reviewer_guidance(state: RunState) -> list[str]:
    return [f"A reviewer said: {r['message']}" for r in state.get("reviews", []) if r.get("kind") == "plan" and r.get("message")]

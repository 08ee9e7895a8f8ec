"""evaluate: judge each finished task against its criteria: pass, revise (bounded) or escalate."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from taskwarden.agents.evaluator import evaluate_result
from taskwarden.agents.prompts import STALL_FEEDBACK
from taskwarden.agents.structured import StructuredOutputError
from taskwarden.graph.context import Context, context_of
from taskwarden.graph.engine import Engine
from taskwarden.graph.events import emit, emit_model_calls
from taskwarden.graph.review import pending_escalation
from taskwarden.graph.state import RunState, TaskRecord, merge_tasks
from taskwarden.graph.usage import add_usage, usage_of_calls
from taskwarden.graph.verification import EffectCheck, check_answer, check_effects


def make_evaluate(engine: Engine) -> Callable[..., Command[Literal["human_review", "orchestrate"]]]:
    def evaluate(state: RunState, runtime: Runtime[Context]) -> Command[Literal["human_review", "orchestrate"]]:
        """Judge the finished tasks; then a human reviews an escalation, else orchestrate goes on. The node
        routes itself (a `Command`): a conditional edge would copy every channel of the state to read one."""
        context = context_of(runtime)
        budgets = engine.budgets(context, state.get("budget_grants", 0))
        usage = dict(state.get("usage") or {})
        spent: dict[str, Any] = {}
        updates: dict[str, TaskRecord] = {}
        reliability = engine.reliability(context)
        for task in (state.get("tasks") or {}).values():
            if task["status"] != "done":
                continue
            started = time.monotonic()
            role = engine.workflow.role(task["role"])
            checked = check_effects(task, engine.workflow.registry, reliability, state["request"], role.done_check)
            if not checked.verdict and task["result"].strip():
                answered = check_answer(task, reliability, state["request"], role.answer_check)
                checked = EffectCheck(answered.verdict, answered.feedback, (*checked.notes, *answered.notes))
            for note in checked.notes:
                emit("intervention", task_id=task["id"], **note)
            if checked.verdict:
                verdict, feedback = checked.verdict, checked.feedback
            elif not task["result"].strip():
                verdict, feedback = "revise", STALL_FEEDBACK
            else:
                if budgets.exhausted_by(add_usage(usage, spent)):
                    break  # orchestrate escalates the spent budget; the task stays `done` for later
                try:
                    evaluation, raws = evaluate_result(engine.models.get("evaluator", context),
                                                       request=state["request"], task=task)
                    verdict, feedback = evaluation.decided()
                except StructuredOutputError as exc:
                    raws, verdict, feedback = exc.raw_messages, "escalate", f"the evaluator's output stayed invalid: {exc}"
                spent = add_usage(spent, usage_of_calls(raws))
                emit_model_calls("evaluator", raws, time.monotonic() - started, task_id=task["id"])
            spent = add_usage(spent, {"seconds": time.monotonic() - started})
            updates[task["id"]] = _apply_verdict(task, verdict, feedback, budgets.max_revisions)
            emit("evaluation", task_id=task["id"], verdict=verdict, feedback=feedback,
                 status=updates[task["id"]]["status"])
        after = {**state, "tasks": merge_tasks(state.get("tasks"), updates)}
        goto = "human_review" if pending_escalation(after) else "orchestrate"
        return Command(goto=goto, update={"tasks": updates, "usage": spent} if updates or spent else {})

    return evaluate


def _apply_verdict(task: TaskRecord, verdict: str, feedback: str, max_revisions: int) -> TaskRecord:
    updated = TaskRecord(**task)
    if verdict == "pass":
        updated.update(status="passed", escalation=None)
        return updated
    updated["feedback"] = [*task["feedback"], feedback] if feedback else list(task["feedback"])
    revisions_left = task["attempts"] <= max_revisions
    if verdict == "revise" and revisions_left:
        updated["status"] = "revise"
        return updated
    reason = feedback if verdict == "escalate" else f"still not accepted after {max_revisions} revision(s): {feedback}"
    updated.update(status="escalated", escalation={
        "kind": "evaluation" if verdict == "escalate" else "revisions",
        "reason": reason, "task_id": task["id"],
        "what_was_done": [a["summary"] for a in task["actions"]],
        "what_was_seen": [task["result"][:500]],
    })
    return updated

"""Verify after write, and no unnecessary writes: checks in code on a finished task's side effects.

Run by the evaluate node before the evaluator model: a write whose effect cannot be seen in the
system, or a write the request did not ask for, decides the verdict without asking a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskwarden.agents.prompts import (
    INCOMPLETE_ANSWER_FEEDBACK,
    MISMATCH_FEEDBACK,
    UNASKED_WRITE_FEEDBACK,
    UNFINISHED_FEEDBACK,
)
from taskwarden.graph.guards import asked_for
from taskwarden.graph.reliability import Reliability
from taskwarden.graph.state import TaskRecord
from taskwarden.tools.executor import format_args
from taskwarden.tools.registry import AnswerCheck, DoneCheck, ToolRegistry, ToolSpec


@dataclass(frozen=True)
class EffectCheck:
    """What the checks found on one task: a verdict to impose (or None: let the evaluator judge),
    and one note per checked write (for the `intervention` events)."""

    verdict: str | None
    feedback: str
    notes: tuple[dict[str, Any], ...] = ()


def check_effects(task: TaskRecord, registry: ToolRegistry, reliability: Reliability, request: str,
                  done_check: DoneCheck | None = None) -> EffectCheck:
    """Re-read the effect of each write the task made, fail writes the request did not ask for, and ask
    the role's `done_check` what is still undone.

    A missing effect of an `irreversible` call escalates (a human must check what happened); of a
    `write`, the task is revised. A write the request did not ask for escalates: it cannot be undone
    by trying again. Work left undone revises the task."""
    checked = _check_writes(task, registry, reliability, request)
    if checked.verdict or not reliability.verify_after_write or done_check is None:
        return checked
    try:
        undone = done_check([dict(action) for action in task["actions"]], request)
    except Exception as exc:  # the check itself failed: the task is not confirmed done
        undone = f"the completion check failed: {type(exc).__name__}: {exc}"
    if not undone:
        return checked
    feedback = UNFINISHED_FEEDBACK.format(problem=undone)
    note = {"mechanism": "verify_after_write", "action": "unfinished", "message": feedback}
    return EffectCheck("revise", feedback, (*checked.notes, note))


def check_answer(task: TaskRecord, reliability: Reliability, request: str,
                 answer_check: AnswerCheck | None = None) -> EffectCheck:
    """Ask the role's `answer_check` what the task's answer leaves out (loop recovery: part of an answer is not
    an answer); what it returns revises the task."""
    if answer_check is None or not reliability.loop_recovery:
        return EffectCheck(None, "")
    try:
        lacking = answer_check(task["result"], [dict(action) for action in task["actions"]], request)
    except Exception as exc:  # the check itself failed: the answer is not confirmed complete
        lacking = f"the answer check failed: {type(exc).__name__}: {exc}"
    if not lacking:
        return EffectCheck(None, "")
    feedback = INCOMPLETE_ANSWER_FEEDBACK.format(problem=lacking)
    return EffectCheck("revise", feedback, ({"mechanism": "loop_recovery", "action": "incomplete", "message": feedback},))


def _check_writes(task: TaskRecord, registry: ToolRegistry, reliability: Reliability, request: str) -> EffectCheck:
    notes: list[dict[str, Any]] = []
    for action in task["actions"]:
        spec = registry.get(action["tool"])
        if spec is None or not spec.has_side_effects or action["outcome"] not in ("executed", "replayed"):
            continue
        if reliability.nothing_asked and not asked_for(spec, request):
            feedback = UNASKED_WRITE_FEEDBACK.format(tool=spec.name)
            notes.append({"mechanism": "nothing_asked", "action": "escalated", "tool": spec.name, "message": feedback})
            return EffectCheck("escalate", feedback, tuple(notes))
        if not reliability.verify_after_write:
            continue
        problem = verify_effect(spec, action["args"], action.get("observation", ""))
        if problem is None:
            notes.append({"mechanism": "verify_after_write", "action": "verified", "tool": spec.name,
                          "message": f"{spec.name}: effect confirmed by re-reading the system"})
            continue
        if problem == UNVERIFIABLE:
            continue
        feedback = MISMATCH_FEEDBACK.format(tool=spec.name, args=format_args(action["args"]), problem=problem)
        notes.append({"mechanism": "verify_after_write", "action": "mismatch", "tool": spec.name, "message": feedback})
        return EffectCheck("escalate" if spec.risk == "irreversible" else "revise", feedback, tuple(notes))
    return EffectCheck(None, "", tuple(notes))


UNVERIFIABLE = "__unverifiable__"


def verify_effect(spec: ToolSpec, args: dict[str, Any], result: str) -> str | None:
    """None when the call's effect is visible in the system; what is wrong otherwise; `UNVERIFIABLE`
    when the tool declares neither `verify` nor `reconcile`. A verifier that raises is a mismatch."""
    try:
        if spec.verify is not None:
            return spec.verify(args, result)
        if spec.reconcile is not None:
            return None if spec.reconcile(args) is not None else "the change is not visible in the system"
    except Exception as exc:  # the check itself failed: the effect is not confirmed
        return f"the check failed: {type(exc).__name__}: {exc}"
    return UNVERIFIABLE


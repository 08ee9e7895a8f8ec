"""Running a worker's tool calls: grant check, argument validation, policy gate, exactly-once execution."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from taskwarden.tools.ledger import Ledger, UncertainExecution
from taskwarden.tools.policy import PolicyDecision, PolicyGate
from taskwarden.tools.registry import Role, ToolRegistry, ToolSpec

MAX_OBSERVATION_CHARS = 4000


@dataclass
class GatedCall:
    """One tool call after the gate: runnable (`allow`), waiting for a human, or refused with a reason."""

    call_id: str
    name: str
    args: dict[str, Any]
    spec: ToolSpec | None
    decision: PolicyDecision
    refusal: str = ""
    """Why the call is refused before any policy (unknown tool, not granted, invalid arguments)."""


def validate_args(spec: ToolSpec, args: dict[str, Any]) -> dict[str, Any]:
    """Validate and coerce `args` with the tool's schema; raise `ValueError` with the problems."""
    schema = spec.tool.args_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return dict(args)
    try:
        return schema.model_validate(args).model_dump()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems) from None


def gate_call(call: dict[str, Any], role: Role, registry: ToolRegistry, gate: PolicyGate) -> GatedCall:
    """Decide what may happen to one model tool call, in code; the model cannot bypass any of it."""
    name, call_id, raw_args = call["name"], call.get("id") or "", call.get("args") or {}
    spec = registry.get(name) if name in role.tools else None
    if spec is None:
        granted = ", ".join(role.tools) or "none"
        return GatedCall(call_id, name, raw_args, None, PolicyDecision("forbid"),
                         refusal=f"Tool {name!r} is not available to the {role.name} role. Tools you may use: {granted}.")
    try:
        args = validate_args(spec, raw_args)
    except ValueError as exc:
        return GatedCall(call_id, name, raw_args, spec, PolicyDecision("forbid"),
                         refusal=f"Invalid arguments for {name}: {exc}. Call it again with arguments that match its schema.")
    return GatedCall(call_id, name, args, spec, gate.check(name, args))


def idempotency_key(thread_id: str, task_id: str, tool: str, args: dict[str, Any]) -> str:
    """Derived from the run, the task and the call's content (tool + canonical arguments).

    Model-generated call ids change when a step is regenerated, so the content is what makes two
    calls "the same" side effect within a run.
    """
    digest = hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{thread_id}/{task_id}/{tool}/{digest}"


def execute(spec: ToolSpec, args: dict[str, Any], key: str, ledger: Ledger) -> tuple[str, str]:
    """Run the tool; side-effecting tools go through the ledger. Returns (outcome, observation).

    Tool errors come back as observations (`error`); `UncertainExecution` propagates so the task
    escalates to a human.
    """

    def call() -> str:
        output = spec.tool.invoke(args)
        return output if isinstance(output, str) else json.dumps(output, default=str)

    try:
        if spec.has_side_effects:
            outcome = ledger.run_once(key, spec.name, args, call, spec.reconcile)
            return ("replayed" if outcome.replayed else "executed"), _clip(outcome.result)
        return "executed", _clip(call())
    except UncertainExecution:
        raise
    except Exception as exc:  # a tool's failure is an observation for the model, never a crash of the run
        return "error", f"Error from {spec.name}: {type(exc).__name__}: {exc}"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_OBSERVATION_CHARS else text[:MAX_OBSERVATION_CHARS] + " ...(truncated)"

"""Running a worker's tool calls: grant check, argument validation, policy gate, exactly-once execution,
and per-call deadlines and retries (see `taskwarden.tools.resilience`)."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from taskwarden.agents.prompts import NOT_FOUND_HINT
from taskwarden.tools.ledger import Ledger, UncertainExecution
from taskwarden.tools.policy import PolicyDecision, PolicyGate
from taskwarden.tools.registry import Role, ToolRegistry, ToolSpec
from taskwarden.tools.resilience import ToolTimeout, backoff_delay, call_with_timeout, is_transient

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


def format_args(args: dict[str, Any]) -> str:
    """``a='x', b=2``: a call's arguments as they appear in summaries, reviews and feedback."""
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


def call_key(tool: str, args: dict[str, Any]) -> str:
    """What makes two calls "the same": the tool and its canonical (sorted) arguments."""
    return f"{tool}:{json.dumps(args, sort_keys=True, default=str)}"


def idempotency_key(thread_id: str, task_id: str, tool: str, args: dict[str, Any]) -> str:
    """Derived from the run, the task and the call's content (tool + canonical arguments).

    Model-generated call ids change when a step is regenerated, so the content is what makes two
    calls "the same" side effect within a run.
    """
    digest = hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{thread_id}/{task_id}/{tool}/{digest}"


@dataclass(frozen=True)
class ToolExecution:
    """What became of one call: its outcome, the observation for the model, and its attempts."""

    outcome: Literal["executed", "replayed", "error"]
    observation: str
    attempts: int = 1
    errors: tuple[str, ...] = ()
    """Every failed attempt's error (``Type: message``), oldest first; empty if the first one worked."""


def execute(spec: ToolSpec, args: dict[str, Any], key: str, ledger: Ledger, *,
            sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random) -> ToolExecution:
    """Run the tool under its deadline, retrying transient errors; side effects go through the ledger.

    Each attempt waits at most `spec.timeout_s`. A transient error (`is_transient`) is retried up
    to `spec.retries` times after an exponential backoff with full jitter (`sleep` and `rand` are
    injectable for tests). Tool errors come back as observations (`error`) that say how many
    attempts were made. `UncertainExecution` propagates so the task escalates to a human: a
    side-effecting call that timed out is left `started` in the ledger, to be reconciled later.
    """

    def invoke() -> str:
        output = spec.tool.invoke(args)
        return output if isinstance(output, str) else json.dumps(output, default=str)

    def attempt() -> str:
        try:
            return call_with_timeout(invoke, spec.timeout_s, name=spec.name)
        except ToolTimeout as exc:
            if spec.has_side_effects:
                raise UncertainExecution(
                    f"{exc}; it may still take effect, so it is not retried. Its ledger entry ({key}) stays "
                    "'started': a later attempt reconciles it, or a human must check whether the effect happened"
                ) from exc
            raise

    errors: list[str] = []
    last: Exception | None = None
    for attempt_no in range(1, spec.retries + 2):
        try:
            if spec.has_side_effects:
                outcome = ledger.run_once(key, spec.name, args, attempt, spec.reconcile)
                return ToolExecution("replayed" if outcome.replayed else "executed", _clip(outcome.result),
                                     attempt_no, tuple(errors))
            return ToolExecution("executed", _clip(attempt()), attempt_no, tuple(errors))
        except UncertainExecution:
            raise
        except Exception as exc:  # a tool's failure is an observation for the model, never a crash of the run
            errors.append(f"{type(exc).__name__}: {exc}")
            last = exc
            if attempt_no > spec.retries or not is_transient(exc, spec.has_side_effects):
                break
            sleep(backoff_delay(attempt_no - 1, spec.backoff_s, spec.max_backoff_s, rand))
    count = f"{len(errors)} attempt{'s' if len(errors) > 1 else ''}"
    hint = NOT_FOUND_HINT if _not_found(last) else ""
    return ToolExecution("error", _clip(f"Error from {spec.name} after {count}: {errors[-1]}{hint}"), len(errors),
                         tuple(errors))


def precheck(spec: ToolSpec | None, args: dict[str, Any]) -> ToolExecution | None:
    """The tool's own refusal of a call, found without running it (`ToolSpec.precheck`), as the error observation the
    tool would give (0 attempts: nothing ran). None when the check passes, when the tool has none, or when the check
    cannot tell (a timeout, a transient error): the tool checks again when it runs."""
    if spec is None or spec.precheck is None:
        return None
    check = spec.precheck
    try:
        call_with_timeout(lambda: check(dict(args)), spec.timeout_s, name=f"{spec.name} precheck")
    except Exception as exc:  # noqa: BLE001 - the refusal is the observation
        if isinstance(exc, ToolTimeout) or is_transient(exc, has_side_effects=False):
            return None
        error = f"{type(exc).__name__}: {exc}"
        hint = NOT_FOUND_HINT if _not_found(exc) else ""
        return ToolExecution("error", _clip(f"Error from {spec.name} (checked before it ran): {error}{hint}"), 0,
                             (error,))
    return None


def _not_found(exc: Exception | None) -> bool:
    """A tool saying the record does not exist (`LookupError`, a missing file), not a bug (`KeyError`, `IndexError`)."""
    return isinstance(exc, (LookupError, FileNotFoundError)) and not isinstance(exc, (KeyError, IndexError))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_OBSERVATION_CHARS else text[:MAX_OBSERVATION_CHARS] + " ...(truncated)"

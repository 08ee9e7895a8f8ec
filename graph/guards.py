"""Checks on a worker's tool call after the policy gate and before it runs (reliability mechanisms).

Each returns a `Block` (the call is not executed; the model reads why and what to do instead) or
None; `named_record_first` returns a `Redirect` (a read run on the record the request names instead).
They are pure functions of the run's state, so they give the same answer when LangGraph re-runs the
node on resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskwarden.agents.prompts import (
    DECLINED_BEFORE_OBSERVATION,
    FIND_WITH,
    NAMED_RECORD_FIRST,
    NO_READ_TOOL,
    NOT_ASKED_OBSERVATION,
    REPEATED_FAILURE_OBSERVATION,
    REQUEST_DISAGREES,
    REQUEST_GIVES,
    REQUEST_RULES_OUT,
    UNGROUNDED_LOOKUP,
    UNGROUNDED_OBSERVATION,
)
from taskwarden.graph.asks import asks_for
from taskwarden.graph.reliability import Reliability
from taskwarden.graph.state import ActionRecord
from taskwarden.tools.executor import GatedCall, call_key, format_args
from taskwarden.tools.grounding import Evidence, check_grounding, request_values, substituted_lookup
from taskwarden.tools.registry import NothingToCall, Role, ToolRegistry, ToolSpec

FAILED_OUTCOMES = ("error", "refused", "invalid", "blocked", "rejected")


@dataclass(frozen=True)
class Block:
    """Why a call was not run: the mechanism, the observation for the model, a one-line summary."""

    mechanism: str
    observation: str
    summary: str


def check_call(call: GatedCall, *, role: Role, registry: ToolRegistry, reliability: Reliability, request: str,
               evidence: Evidence, attempt_actions: list[ActionRecord],
               earlier_actions: list[ActionRecord] | None = None) -> Block | None:
    """The first reliability check the call fails, in order: declined before, repeated failure, not asked,
    ungrounded, disagreeing with the request. `earlier_actions` are the task's earlier attempts'."""
    if call.refusal or call.spec is None or call.decision.outcome == "forbid":
        return None  # refused anyway, by grant, schema or policy
    if reliability.loop_recovery:
        block = declined_before(call, [*(earlier_actions or []), *attempt_actions]) or \
            repeated_failure(call, attempt_actions, role)
        if block:
            return block
    if not call.spec.has_side_effects:
        return ungrounded(call, role, registry, reliability, evidence)
    if reliability.nothing_asked and not asked_for(call.spec, request):
        return Block("nothing_asked", NOT_ASKED_OBSERVATION.format(tool=call.name),
                     f"blocked {call.name}: the request does not ask for it")
    return ungrounded(call, role, registry, reliability, evidence) or disagrees_with_request(call, reliability, request)


def disagrees_with_request(call: GatedCall, reliability: Reliability, request: str) -> Block | None:
    """Grounded arguments, declared per tool (`ToolSpec.request_check`): the call's arguments disagree with what the
    request says (an owner it names left empty). A check that fails itself does not block: the tool validates."""
    assert call.spec is not None
    if not reliability.grounding or call.spec.request_check is None:
        return None
    try:
        problem = call.spec.request_check(dict(call.args), request)
    except Exception:  # noqa: BLE001 - the tool's own validation still runs
        return None
    if not problem:
        return None
    observation = REQUEST_RULES_OUT if isinstance(problem, NothingToCall) else REQUEST_DISAGREES
    return Block("grounding", observation.format(tool=call.name, problem=problem),
                 f"blocked {call.name}: {problem}")


def ungrounded(call: GatedCall, role: Role, registry: ToolRegistry, reliability: Reliability,
               evidence: Evidence) -> Block | None:
    """Grounded arguments (and, for ``observed`` rules, look before you act): arguments the run cannot trace."""
    assert call.spec is not None
    problems = check_grounding(call.spec, call.args, evidence, grounding=reliability.grounding,
                               look_before_act=reliability.look_before_act)
    if problems and not call.spec.has_side_effects and all(p.mechanism == "grounding" for p in problems):
        described = "; ".join(p.describe() for p in problems)  # a lookup by a made-up value: search with a given one
        values = request_values(evidence.request)
        given = REQUEST_GIVES.format(values=", ".join(map(repr, values)), tool=call.name) if values else ""
        return Block("grounding", UNGROUNDED_LOOKUP.format(tool=call.name, problems=described, given=given),
                     f"blocked {described}")
    if problems:
        readers = [spec.name for spec in registry.for_role(role) if not spec.has_side_effects and spec.name != call.name]
        how = FIND_WITH.format(tools=", ".join(readers)) if readers else NO_READ_TOOL
        mechanism = "grounding" if any(p.mechanism == "grounding" for p in problems) else "look_before_act"
        described = "; ".join(p.describe() for p in problems)
        return Block(mechanism, UNGROUNDED_OBSERVATION.format(tool=call.name, problems=described, how=how),
                     f"blocked {described}")
    return None


@dataclass(frozen=True)
class Redirect:
    """A read run on the record the request names instead of the one the model asked for: the arguments to run
    with, the note that comes before the result in the model's observation, a one-line summary."""

    args: dict[str, Any]
    note: str
    summary: str


def named_record_first(call: GatedCall, evidence: Evidence, attempt_actions: list[ActionRecord]) -> Redirect | None:
    """Look before you act, for reads: the record the request names is read before any other of its kind, so a
    read of another one, before the named one was looked up (found or not), runs on the named one instead.

    Measured: asked about P9999, a small model reads the customer's P1001 and goes on about that; asked by Dan for
    Carla's P3001, told (blocked) to check P3001, it read its own P4001 six times in three attempts."""
    if call.refusal or call.spec is None or call.spec.has_side_effects or call.decision.outcome == "forbid":
        return None
    tried = [*evidence.observations, *(format_args(a["args"]) for a in attempt_actions)]
    found = substituted_lookup(call.spec, call.args, evidence.request, tried)
    if found is None:
        return None
    argument, value, named = found
    note = NAMED_RECORD_FIRST.format(named=", ".join(named), value=value, tool=call.name, argument=argument,
                                     first=named[0])
    return Redirect({**call.args, argument: named[0]}, note,
                    f"ran {call.name} with {argument} {named[0]!r}, which the request names, instead of {value!r}")


def asked_for(spec: ToolSpec, request: str) -> bool:
    """Whether the request asks for the tool's declared intent (always, when it declares none): a mention in a
    question or after a "don't" is not an ask (`graph/asks.py`)."""
    return spec.intent is None or asks_for(spec.intent, request)


def declined_before(call: GatedCall, task_actions: list[ActionRecord]) -> Block | None:
    """A write identical (tool and arguments) to one a human reviewer rejected in this task, in any attempt: the
    reviewer is not asked again. Measured: the notifier re-proposed a page the reviewer had declined in each
    new attempt, and the reviewer was asked 4 times until their limit rejected the run."""
    assert call.spec is not None
    if not call.spec.has_side_effects:
        return None
    key = call_key(call.name, call.args)
    for action in reversed(task_actions):
        if action["outcome"] == "rejected" and call_key(action["tool"], action["args"]) == key:
            reason = action["summary"].split(" -> rejected: ", 1)[-1][:300]
            return Block("loop_recovery", DECLINED_BEFORE_OBSERVATION.format(reason=reason),
                         f"blocked a repeat of a call a reviewer declined: {call.name}({format_args(call.args)})")
    return None


def repeated_failure(call: GatedCall, attempt_actions: list[ActionRecord], role: Role) -> Block | None:
    """A call identical (tool and arguments) to one that failed in this attempt, with nothing learned since.

    Another call that ran in between (e.g. the lookup a blocked call asked for, even one that failed)
    may change the answer, so the same call after it is a retry, not a loop; a successful call that
    only repeats an earlier one (the same invoice read again) does not."""
    key = call_key(call.name, call.args)
    for index in range(len(attempt_actions) - 1, -1, -1):
        action = attempt_actions[index]
        same = call_key(action["tool"], action["args"]) == key
        if action["outcome"] == "error" and not same:
            return None
        if action["outcome"] in ("executed", "replayed") and not _ran_before(action, attempt_actions[:index]):
            return None  # re-reading what was already read teaches nothing
        if same and action["outcome"] in FAILED_OUTCOMES:
            error = action["summary"].split(" -> ", 1)[-1][:300]
            return Block("loop_recovery",
                         REPEATED_FAILURE_OBSERVATION.format(error=error, tools=", ".join(role.tools) or "none"),
                         f"blocked a repeat of a failed call: {call.name}({format_args(call.args)})")
    return None


def _ran_before(action: ActionRecord, earlier: list[ActionRecord]) -> bool:
    key = call_key(action["tool"], action["args"])
    return any(a["outcome"] in ("executed", "replayed") and call_key(a["tool"], a["args"]) == key for a in earlier)

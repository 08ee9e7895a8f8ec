"""Checks on a worker's tool call after the policy gate and before it runs (reliability mechanisms).

Each returns a `Block` (the call is not executed; the model reads why and what to do instead) or
None. They are pure functions of the run's state, so they give the same answer when LangGraph
re-runs the node on resume.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from taskwarden.agents.prompts import (
    FIND_WITH,
    NO_READ_TOOL,
    NOT_ASKED_OBSERVATION,
    REPEATED_FAILURE_OBSERVATION,
    UNGROUNDED_OBSERVATION,
)
from taskwarden.graph.reliability import Reliability
from taskwarden.graph.state import ActionRecord
from taskwarden.tools.executor import GatedCall, call_key, format_args
from taskwarden.tools.grounding import Evidence, check_grounding
from taskwarden.tools.registry import Role, ToolRegistry, ToolSpec

FAILED_OUTCOMES = ("error", "refused", "invalid", "blocked", "rejected")


@dataclass(frozen=True)
class Block:
    """Why a call was not run: the mechanism, the observation for the model, a one-line summary."""

    mechanism: str
    observation: str
    summary: str


def check_call(call: GatedCall, *, role: Role, registry: ToolRegistry, reliability: Reliability, request: str,
               evidence: Evidence, attempt_actions: list[ActionRecord]) -> Block | None:
    """The first reliability check the call fails, in order: repeated failure, not asked, ungrounded."""
    if call.refusal or call.spec is None or call.decision.outcome == "forbid":
        return None  # refused anyway, by grant, schema or policy
    if reliability.loop_recovery:
        block = repeated_failure(call, attempt_actions, role)
        if block:
            return block
    if not call.spec.has_side_effects:
        return None
    if reliability.nothing_asked and not asked_for(call.spec, request):
        return Block("nothing_asked", NOT_ASKED_OBSERVATION.format(tool=call.name),
                     f"blocked {call.name}: the request does not ask for it")
    problems = check_grounding(call.spec, call.args, evidence, grounding=reliability.grounding,
                               look_before_act=reliability.look_before_act)
    if problems:
        readers = [spec.name for spec in registry.for_role(role) if not spec.has_side_effects]
        how = FIND_WITH.format(tools=", ".join(readers)) if readers else NO_READ_TOOL
        mechanism = "grounding" if any(p.mechanism == "grounding" for p in problems) else "look_before_act"
        described = "; ".join(p.describe() for p in problems)
        return Block(mechanism, UNGROUNDED_OBSERVATION.format(tool=call.name, problems=described, how=how),
                     f"blocked {described}")
    return None


def asked_for(spec: ToolSpec, request: str) -> bool:
    """Whether the request expresses the tool's declared intent (always, when it declares none)."""
    return spec.intent is None or re.search(spec.intent, request, re.IGNORECASE) is not None


def repeated_failure(call: GatedCall, attempt_actions: list[ActionRecord], role: Role) -> Block | None:
    """A call identical (tool and arguments) to one that failed in this attempt, with nothing learned since.

    A call that ran successfully in between (e.g. the lookup a blocked write asked for) may change
    the answer, so the same call after it is a retry, not a loop."""
    key = call_key(call.name, call.args)
    for action in reversed(attempt_actions):
        if action["outcome"] in ("executed", "replayed"):
            return None
        if call_key(action["tool"], action["args"]) == key and action["outcome"] in FAILED_OUTCOMES:
            error = action["summary"].split(" -> ", 1)[-1][:300]
            return Block("loop_recovery",
                         REPEATED_FAILURE_OBSERVATION.format(error=error, tools=", ".join(role.tools) or "none"),
                         f"blocked a repeat of a failed call: {call.name}({format_args(call.args)})")
    return None


"""Human review in the Agent-Chat-UI `HITLRequest` shape, and strict parsing of decisions.

An interrupt carries ``{"action_requests": [{"name", "args", "description"}], "review_configs":
[{"action_name", "allowed_decisions"}]}``; a run resumes with ``{"decisions": [...]}``, one per
action request, in order: ``{"type": "approve"}``, ``{"type": "edit", "edited_action": {"name",
"args"}}``, ``{"type": "reject", "message"?}`` or ``{"type": "response", "message"}`` (free text).
"""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt

DECISION_TYPES = ("approve", "edit", "reject", "response")


class InvalidDecision(ValueError):
    """A resume value that does not answer the pending review."""


def action_request(name: str, args: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "args": args, "description": description}


def hitl_request(actions: list[dict[str, Any]], allowed: list[tuple[str, ...]], **context: Any) -> dict[str, Any]:
    """An `HITLRequest`; `context` adds keys for our own UIs (kind, task_id...) that others ignore."""
    return {
        "action_requests": actions,
        "review_configs": [{"action_name": a["name"], "allowed_decisions": list(ok)} for a, ok in zip(actions, allowed)],
        **context,
    }


def parse_decisions(request: dict[str, Any], resume: Any) -> list[dict[str, Any]]:
    """Validate `resume` against `request`; return normalised decisions or raise `InvalidDecision`."""
    if not isinstance(resume, dict) or not isinstance(resume.get("decisions"), list):
        raise InvalidDecision('a review answer must be {"decisions": [...]}')
    decisions, actions = resume["decisions"], request["action_requests"]
    if len(decisions) != len(actions):
        raise InvalidDecision(f"expected {len(actions)} decision(s), one per action request, got {len(decisions)}")
    return [_parse_one(d, a, c) for d, a, c in zip(decisions, actions, request["review_configs"])]


def _parse_one(decision: Any, action: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(decision, dict) or decision.get("type") not in DECISION_TYPES:
        raise InvalidDecision(f"each decision needs a type among {list(DECISION_TYPES)}, got {decision!r}")
    kind = decision["type"]
    if kind not in config["allowed_decisions"]:
        raise InvalidDecision(f"{kind!r} is not allowed for {action['name']}; allowed: {config['allowed_decisions']}")
    message = decision.get("message", decision.get("args") if isinstance(decision.get("args"), str) else None)
    if kind == "approve":
        return {"type": "approve"}
    if kind == "edit":
        edited = decision.get("edited_action")
        if not isinstance(edited, dict) or not isinstance(edited.get("args"), dict):
            raise InvalidDecision('an edit needs "edited_action": {"name": ..., "args": {...}}')
        name = edited.get("name", action["name"])
        if name != action["name"]:
            raise InvalidDecision(f"an edit may change the arguments of {action['name']}, not call {name!r} instead")
        return {"type": "edit", "edited_action": {"name": name, "args": edited["args"]}}
    if message is not None and not isinstance(message, str):
        raise InvalidDecision(f"a {kind} message must be text, got {type(message).__name__}")
    if kind == "response" and not (message or "").strip():
        raise InvalidDecision("a response needs a non-empty message")
    return {"type": kind, "message": (message or "").strip()}


def ask_human(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Interrupt for review until a valid answer arrives; an invalid one re-asks, showing the error."""
    error: str | None = None
    while True:
        answer = interrupt(request if error is None else {**request, "error": error})
        try:
            return parse_decisions(request, answer)
        except InvalidDecision as exc:
            error = str(exc)

"""Human-readable progress lines for streamed run events and pending reviews."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO


def _short(value: Any, limit: int = 140) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


class EventPrinter:
    """Prints one line per event as a run streams."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out

    def line(self, text: str) -> None:
        print(text, file=self.out or sys.stdout, flush=True)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        handler = getattr(self, f"on_{kind}", None)
        if handler:
            handler(event)

    def on_run_started(self, e: dict[str, Any]) -> None:
        self.line(f"> {e['workflow']}: {_short(e['request'], 200)}")

    def on_plan(self, e: dict[str, Any]) -> None:
        self.line(f"  plan: {len(e['tasks'])} task(s)")
        for t in e["tasks"]:
            after = f" (after {', '.join(t['depends_on'])})" if t["depends_on"] else ""
            self.line(f"    {t['id']:<4} {t['role']:<12} {_short(t['description'], 100)}{after}")

    def on_plan_failed(self, e: dict[str, Any]) -> None:
        self.line(f"  plan failed: {_short(e['error'])}")

    def on_tool_call(self, e: dict[str, Any]) -> None:
        self.line(f"  {e['task_id']} -> {e['tool']}({_short(_args(e['args']), 160)})")

    def on_tool_result(self, e: dict[str, Any]) -> None:
        self.line(f"  {e['task_id']} <- [{e['outcome']}] {_short(e['result'])}")

    def on_task_finished(self, e: dict[str, Any]) -> None:
        detail = f": {_short(e['result'])}" if e.get("result") else ""
        self.line(f"  {e['task_id']} {e['status']}{detail}")

    def on_evaluation(self, e: dict[str, Any]) -> None:
        feedback = f" ({_short(e['feedback'], 160)})" if e.get("feedback") else ""
        self.line(f"  {e['task_id']} evaluated: {e['verdict']} -> {e['status']}{feedback}")

    def on_intervention(self, e: dict[str, Any]) -> None:
        self.line(intervention_line(e))

    def on_review_decided(self, e: dict[str, Any]) -> None:
        self.line(f"  reviewer: {e['decision']}{' - ' + e['message'] if e.get('message') else ''}")

    def on_invalid_request(self, e: dict[str, Any]) -> None:
        self.line(f"  invalid request: {e['error']}")

    def on_run_finished(self, e: dict[str, Any]) -> None:
        u = e.get("usage") or {}
        tokens = int(u.get("input_tokens", 0) + u.get("output_tokens", 0))
        self.line(f"= {e['status']} - {int(u.get('steps', 0))} model calls, {tokens} tokens, "
                  f"${u.get('cost_usd', 0):.4f}, {u.get('seconds', 0):.1f}s active")


def intervention_line(e: dict[str, Any]) -> str:
    """``  ! t2 grounding blocked issue_refund: <message>``: a reliability check stepped in."""
    return f"  ! {e.get('task_id') or '-'} {intervention_summary(e)}"


def intervention_summary(e: dict[str, Any]) -> str:
    """``grounding blocked issue_refund: <message>`` (the tool only when the event names one)."""
    tool = f" {e['tool']}" if e.get("tool") else ""
    return f"{e['mechanism']} {e['action']}{tool}: {_short(e.get('message', ''), 240)}"


CONFIRMATION_DECISIONS = {"approve": "approve (the requester said yes)", "reject": "reject (the requester said no)",
                          "response": "response (the requester's own words)"}
"""How each decision reads on a confirmation (``kind="confirmation"``), where a human relays the requester's answer."""


def describe_review(request: dict[str, Any]) -> list[str]:
    """Lines that tell a reviewer what is asked and why; a confirmation shows the statement to put to the requester."""
    lines = []
    confirmation = request.get("kind") == "confirmation"
    if request.get("error"):
        lines.append(f"  (previous answer rejected: {request['error']})")
    for i, (action, config) in enumerate(zip(request["action_requests"], request["review_configs"])):
        allowed = config["allowed_decisions"]
        if confirmation:
            lines.append(f"  [{i}] Confirm with the requester: {action['name']}")
            lines.append(f"      statement: {action.get('description', '')}")
        else:
            lines.append(f"  [{i}] {action['name']}")
            lines.append(f"      why: {action.get('description', '')}")
        for key, value in action["args"].items():
            lines.append(f"      {key}: {_short(value, 300)}")
        if confirmation:
            allowed = [CONFIRMATION_DECISIONS.get(kind, kind) for kind in allowed]
        lines.append(f"      allowed: {', '.join(allowed)}")
    return lines

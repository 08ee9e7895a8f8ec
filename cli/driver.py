"""Drive a run: stream its progress, stop at reviews, answer them (interactively or by a rule), resume."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from langgraph.types import Command, Interrupt

from taskwarden.cli.render import EventPrinter, describe_review
from taskwarden.graph.context import Context
from taskwarden.graph.hitl import InvalidDecision, parse_decisions

Reviewer = Callable[[list[Interrupt]], dict[str, Any] | None]
"""Given the pending interrupts, returns resume values by interrupt id, or None to leave the run paused."""


def drive(graph: Any, config: dict[str, Any], payload: Any, context: Context, printer: EventPrinter,
          reviewer: Reviewer) -> Any:
    """Run until the graph finishes or a review is left pending; returns the final state snapshot."""
    while True:
        for _namespace, _mode, event in graph.stream(payload, config, context=context, stream_mode=["custom"],
                                                     subgraphs=True):
            printer(event)
        snapshot = graph.get_state(config)
        if not snapshot.interrupts:
            return snapshot
        answers = reviewer(list(snapshot.interrupts))
        if answers is None:
            return snapshot
        payload = Command(resume=answers)


def rule_reviewer(decision: str, printer: EventPrinter, thread_id: str) -> Reviewer:
    """Answers every review with `decision` (approve or reject): for scripts and CI. A review that does not
    allow `decision` (an escalated task with no result cannot be approved) is left paused for a human, so the
    run never loops on a refused answer."""

    def review(interrupts: list[Interrupt]) -> dict[str, Any] | None:
        answers = {}
        for item in interrupts:
            printer.line("  review needed:")
            for line in describe_review(item.value):
                printer.line(line)
            refusing = [c["allowed_decisions"] for c in item.value["review_configs"] if decision not in c["allowed_decisions"]]
            if refusing:
                printer.line(f"  --on-review {decision} cannot answer this review (it allows "
                             f"{', '.join(refusing[0])}): paused for a human")
                verbs = "|".join("respond" if kind == "response" else kind for kind in refusing[0])
                printer.line(f"  decide with: taskwarden review {verbs} {thread_id}  "
                             f"(see it: taskwarden review show {thread_id})")
                return None
            message = {} if decision == "approve" else {"message": "rejected by --on-review reject"}
            answers[item.id] = {"decisions": [{"type": decision, **message} for _ in item.value["action_requests"]]}
            printer.line(f"  auto-{decision} (--on-review {decision})")
        return answers

    return review


def stop_reviewer(printer: EventPrinter, thread_id: str) -> Reviewer:
    def review(interrupts: list[Interrupt]) -> None:
        printer.line("  paused for human review:")
        for item in interrupts:
            for line in describe_review(item.value):
                printer.line(line)
        printer.line(f"  decide with: taskwarden review approve|edit|reject {thread_id}  (or: taskwarden resume {thread_id})")
        return None

    return review


def interactive_reviewer(printer: EventPrinter, read: Callable[[str], str] = input) -> Reviewer:
    """Asks in the terminal: approve, edit, reject, a free-text response, or leave it for later."""

    def review(interrupts: list[Interrupt]) -> dict[str, Any] | None:
        answers = {}
        for item in interrupts:
            printer.line("  review needed:")
            for line in describe_review(item.value):
                printer.line(line)
            decisions = []
            for action, config in zip(item.value["action_requests"], item.value["review_configs"]):
                decision = _ask_one(action, config["allowed_decisions"], item.value, read, printer)
                if decision is None:
                    return None
                decisions.append(decision)
            answers[item.id] = {"decisions": decisions}
        return answers

    return review


def _ask_one(action: dict[str, Any], allowed: list[str], request: dict[str, Any], read: Callable[[str], str],
             printer: EventPrinter) -> dict[str, Any] | None:
    keys = {"a": "approve", "e": "edit", "r": "reject", "m": "response"}
    menu = ", ".join(f"[{k}]{v[1:]}" if v != "response" else "[m]essage" for k, v in keys.items() if v in allowed)
    question = f"  {action['name']}: {menu}, or [l]ater? "
    if request.get("kind") == "confirmation":  # a human relays the requester's answer to the statement
        menu = menu.replace("[a]pprove", "[a]pprove (they said yes)").replace("[m]essage", "[m]essage (their reply)")
        question = f"  Confirm with the requester ({action['name']}): {menu}, or [l]ater? "
    while True:
        try:
            choice = read(question).strip().lower()[:1]
        except EOFError:
            return None
        if choice == "l":
            return None
        kind = keys.get(choice)
        if kind not in allowed:
            printer.line(f"  please answer one of: {menu}, [l]ater")
            continue
        decision: dict[str, Any] = {"type": kind}
        try:
            if kind == "edit":
                raw = read("  new arguments as JSON (only the keys to change): ")
                decision["edited_action"] = {"name": action["name"], "args": {**action["args"], **json.loads(raw)}}
            elif kind in ("reject", "response"):
                decision["message"] = read("  message: ")
            single = {"action_requests": [action], "review_configs": [{"action_name": action["name"], "allowed_decisions": allowed}]}
            return parse_decisions(single, {"decisions": [decision]})[0]
        except (json.JSONDecodeError, InvalidDecision) as exc:
            printer.line(f"  not valid: {exc}")
        except EOFError:
            return None


def stdin_is_interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()

"""`taskwarden audit [THREAD]`: a thread's audit trail as a timeline (or JSON); without a thread, recent threads."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from taskwarden.cli.errors import UsageError
from taskwarden.cli.render import _args, _short, intervention_summary
from taskwarden.graph.audit import AuditEntry, audit_path, default_audit_log


def register(sub: Any) -> None:
    audit = sub.add_parser("audit", help="what a run did: inputs, model calls, tool calls, policy decisions, "
                                           "reliability interventions, reviews")
    audit.add_argument("thread", nargs="?", help="the thread to show; without it, the threads with recorded events")
    audit.add_argument("--run", type=int, help="only this run on the thread (1 is the first)")
    audit.add_argument("--json", action="store_true", help="machine-readable output")
    audit.add_argument("--limit", type=int, default=20, help="how many threads to list (without a thread)")
    audit.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    if not audit_path().exists():
        if args.thread:
            raise UsageError(f"unknown thread {args.thread!r}: nothing has been recorded yet")
        print("no audit records yet: runs are recorded as they happen")
        return 0
    log = default_audit_log()
    if not args.thread:
        return _list_threads(log, args)
    entries = log.entries(args.thread, run=args.run)
    if not entries:
        if args.run is not None and log.entries(args.thread):
            raise UsageError(f"thread {args.thread!r} has no run {args.run}")
        raise UsageError(f"unknown thread {args.thread!r}: no audit records; see `taskwarden audit`")
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2, default=str))
        return 0
    for entry in entries:
        print(timeline_line(entry))
    return 0


def _list_threads(log: Any, args: argparse.Namespace) -> int:
    threads = log.threads(limit=args.limit)
    if args.json:
        print(json.dumps([t.__dict__ for t in threads], indent=2))
        return 0
    if not threads:
        print("no audit records yet: runs are recorded as they happen")
    for t in threads:
        print(f"{t.thread_id}  {_time(t.last_ts)}  {t.runs} run(s), {t.entries} event(s)")
    return 0


def _time(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def timeline_line(entry: AuditEntry) -> str:
    """``time  run  kind  task  summary``: one line per recorded event."""
    return f"{_time(entry.ts)}  #{entry.run}  {entry.kind:<16} {entry.task_id or '-':<5} {summary(entry)}"


def summary(entry: AuditEntry) -> str:
    describe = _SUMMARIES.get(entry.kind)
    p = entry.payload
    try:
        return describe(p) if describe else _short({k: v for k, v in p.items() if k != "task_id"}, 200)
    except (KeyError, TypeError, ValueError):  # a payload from another version: show it raw
        return _short(p, 200)


def _plan(p: dict[str, Any]) -> str:
    return f"{len(p['tasks'])} task(s): " + ", ".join(f"{t['id']} {t['role']}" for t in p["tasks"])


def _model_call(p: dict[str, Any]) -> str:
    return (f"{p['role']} {p.get('model') or '?'}: {p['input_tokens']} in / {p['output_tokens']} out tokens, "
            f"${p['cost_usd']:.4f}, {p['latency_ms']:.0f} ms")


def _decided(p: dict[str, Any]) -> str:
    subject = p.get("tool") or p.get("escalation_kind") or p.get("kind", "")
    message = f" - {p['message']}" if p.get("message") else ""
    edited = f" edited to ({_args(p['edited_args'])})" if p.get("edited_args") else ""
    return f"{p['decision']} {subject}{edited}{message}"


def _finished(p: dict[str, Any]) -> str:
    u = p.get("usage") or {}
    tokens = int(u.get("input_tokens", 0) + u.get("output_tokens", 0))
    return (f"{p['status']}: {_short(p.get('answer', ''), 100)} ({int(u.get('steps', 0))} model calls, {tokens} tokens, "
            f"${u.get('cost_usd', 0):.4f})")


_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "run_started": lambda p: f"{p['workflow']}: {_short(p['request'], 160)}",
    "invalid_request": lambda p: f"{p['error']}: {_short(p.get('request', ''), 120)}",
    "plan": _plan,
    "plan_failed": lambda p: _short(p["error"]),
    "model_call": _model_call,
    "tool_call": lambda p: f"{p['tool']}({_short(_args(p['args']), 160)})",
    "policy_decision": lambda p: f"{p['tool']}: {p['outcome']}" + (f" ({_short(p['reason'])})" if p.get("reason") else ""),
    "tool_result": lambda p: f"{p['tool']} [{p['outcome']}] {_short(p['result'])}",
    "intervention": intervention_summary,
    "review_requested": lambda p: f"{p['kind']}: " + (", ".join(a["name"] for a in p["actions"]) if p.get("actions")
                                                      else _short(p.get("reason") or "")),
    "review_decided": _decided,
    "task_finished": lambda p: f"{p['status']}" + (f": {_short(p['result'])}" if p.get("result") else ""),
    "evaluation": lambda p: f"{p['verdict']} -> {p['status']}" + (f" ({_short(p['feedback'])})" if p.get("feedback") else ""),
    "run_finished": _finished,
}

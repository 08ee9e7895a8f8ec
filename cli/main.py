"""`taskwarden`: run workflows, answer reviews, resume and inspect runs from a terminal.

Exit codes: 0 the run finished (completed, or stopped by a reviewer), 1 it finished incomplete,
2 bad input (nothing stored was changed), 3 it is paused waiting for a human review.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.types import Command

from taskwarden.cli.audit import register as register_audit
from taskwarden.cli.driver import (
    Reviewer,
    drive,
    interactive_reviewer,
    rule_reviewer,
    stdin_is_interactive,
    stop_reviewer,
)
from taskwarden.cli.errors import UsageError
from taskwarden.cli.logs import configure_logging
from taskwarden.cli.render import EventPrinter, describe_review
from taskwarden.cli.runs import RunIndex
from taskwarden.graph.audit import AuditWriteError
from taskwarden.graph.builder import build_workflow
from taskwarden.graph.context import Context
from taskwarden.graph.hitl import InvalidDecision, parse_decisions
from taskwarden.graph.intake import request_problem
from taskwarden.workflows import (
    UnknownWorkflow,
    WorkflowFileError,
    get_workflow,
    reset_demo_data,
    workflow_names,
    workflow_ref,
)

EXIT = {"completed": 0, "rejected": 0, "incomplete": 1, "invalid": 2, "waiting": 3}


class App:
    """The CLI's state for one invocation: where runs live, which models to use."""

    def __init__(self, models: dict[str, BaseChatModel | str] | None = None) -> None:
        self.models = models
        self.runs = RunIndex()
        self.printer = EventPrinter()
        self._graphs: dict[str, Any] = {}
        self.current_thread: str | None = None
        """The thread being driven, named in the hint when a model failure stops the command."""

    def graph(self, workflow_name: str) -> Any:
        """The compiled workflow, built once per command (`review list` asks for it per waiting run)."""
        if workflow_name not in self._graphs:
            try:
                workflow = get_workflow(workflow_name)
            except (UnknownWorkflow, WorkflowFileError) as exc:
                raise UsageError(str(exc)) from None
            self._graphs[workflow_name] = build_workflow(workflow, models=self.models)
        return self._graphs[workflow_name]

    def thread(self, thread_id: str) -> tuple[Any, dict[str, Any]]:
        row = self.runs.get(thread_id)
        if row is None:
            raise UsageError(f"unknown thread {thread_id!r}; see `taskwarden runs list`")
        return self.graph(row.workflow), {"configurable": {"thread_id": thread_id}}

    def finish(self, graph: Any, config: dict[str, Any], snapshot: Any) -> int:
        thread_id = config["configurable"]["thread_id"]
        if snapshot.interrupts:
            self.runs.set_status(thread_id, "waiting")
            return EXIT["waiting"]
        values = snapshot.values
        status = values.get("status", "incomplete")
        self.runs.set_status(thread_id, status)
        self.printer.line("")
        self.printer.line(values.get("final_answer", ""))
        self.printer.line(f"\n(thread {thread_id})")
        return EXIT.get(status, 1)


def context_from(args: argparse.Namespace) -> Context:
    spec = getattr(args, "model", None)
    return Context(orchestrator_model=spec, worker_model=spec, evaluator_model=spec,
                   max_steps=getattr(args, "max_steps", None))


def reviewer_for(app: App, args: argparse.Namespace, thread_id: str) -> Reviewer:
    mode = args.on_review or ("ask" if stdin_is_interactive() else "stop")
    if mode == "ask":
        return interactive_reviewer(app.printer)
    if mode == "stop":
        return stop_reviewer(app.printer, thread_id)
    return rule_reviewer(mode, app.printer, thread_id)


def cmd_run(app: App, args: argparse.Namespace) -> int:
    args.workflow = workflow_ref(args.workflow)  # a workflow file is recorded by its absolute path
    graph = app.graph(args.workflow)
    problem = request_problem(args.request)
    if problem:
        raise UsageError(problem)
    thread_id = args.thread or uuid.uuid4().hex[:12]
    app.current_thread = thread_id
    app.runs.record(thread_id, args.workflow, args.request.strip(), "running")
    config = {"configurable": {"thread_id": thread_id}}
    app.printer.line(f"thread {thread_id}")
    snapshot = drive(graph, config, {"messages": [("user", args.request.strip())]}, context_from(args), app.printer,
                     reviewer_for(app, args, thread_id))
    return app.finish(graph, config, snapshot)


def cmd_resume(app: App, args: argparse.Namespace) -> int:
    graph, config = app.thread(args.thread)
    app.current_thread = args.thread
    snapshot = graph.get_state(config)
    if not snapshot.interrupts and not snapshot.next:
        app.printer.line(f"thread {args.thread} is not paused (status: {snapshot.values.get('status', 'unknown')})")
        return app.finish(graph, config, snapshot)
    reviewer = reviewer_for(app, args, args.thread)
    payload: Any = None
    if snapshot.interrupts:
        answers = reviewer(list(snapshot.interrupts))
        if answers is None:
            return app.finish(graph, config, snapshot)
        payload = Command(resume=answers)
    snapshot = drive(graph, config, payload, context_from(args), app.printer, reviewer)
    return app.finish(graph, config, snapshot)


def pending(app: App, thread_id: str) -> tuple[Any, dict[str, Any], list[Any]]:
    graph, config = app.thread(thread_id)
    interrupts = list(graph.get_state(config).interrupts)
    if not interrupts:
        raise UsageError(f"thread {thread_id} has no pending review")
    return graph, config, interrupts


def cmd_review_list(app: App, args: argparse.Namespace) -> int:
    rows = app.runs.all(status="waiting", limit=200)
    if not rows:
        app.printer.line("no runs are waiting for review")
    for row in rows:
        graph, config = app.thread(row.thread_id)
        for item in graph.get_state(config).interrupts:
            names = ", ".join(a["name"] for a in item.value["action_requests"])
            app.printer.line(f"{row.thread_id}  {row.workflow:<10} {names:<28} {row.request[:60]}")
    return 0


def cmd_review_show(app: App, args: argparse.Namespace) -> int:
    _, _, interrupts = pending(app, args.thread)
    if args.json:
        app.printer.line(json.dumps([{"id": i.id, **i.value} for i in interrupts], indent=2, default=str))
        return 0
    for item in interrupts:
        app.printer.line(f"review {item.id} ({item.value.get('kind', 'review')})")
        for line in describe_review(item.value):
            app.printer.line(line)
    return 0


def decisions_from(args: argparse.Namespace, request: dict[str, Any]) -> dict[str, Any]:
    count = len(request["action_requests"])
    if args.decision == "decide":
        try:
            resume = json.loads(args.decisions)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--decisions is not valid JSON: {exc.msg}") from None
        return resume if isinstance(resume, dict) else {"decisions": resume}
    if args.decision == "edit":
        if count != 1:
            raise UsageError("this review has several actions: answer them with `review decide --decisions`")
        try:
            changes = json.loads(args.args)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--args is not valid JSON: {exc.msg}") from None
        if not isinstance(changes, dict):
            raise UsageError("--args must be a JSON object of the arguments to change")
        action = request["action_requests"][0]
        return {"decisions": [{"type": "edit", "edited_action": {"name": action["name"], "args": {**action["args"], **changes}}}]}
    message = {"message": args.message} if getattr(args, "message", None) is not None else {}
    return {"decisions": [{"type": args.decision, **message} for _ in range(count)]}


def cmd_review_decide(app: App, args: argparse.Namespace) -> int:
    graph, config, interrupts = pending(app, args.thread)
    app.current_thread = args.thread
    if args.interrupt:
        interrupts = [i for i in interrupts if i.id == args.interrupt]
        if not interrupts:
            raise UsageError(f"thread {args.thread} has no pending review {args.interrupt!r}")
    answers = {}
    for item in interrupts:
        resume = decisions_from(args, item.value)
        try:
            parse_decisions(item.value, resume)  # validate before touching the run
        except InvalidDecision as exc:
            raise UsageError(f"invalid decision: {exc}") from None
        answers[item.id] = resume
    args.on_review = args.on_review or "stop"
    snapshot = drive(graph, config, Command(resume=answers), context_from(args), app.printer,
                     reviewer_for(app, args, args.thread))
    return app.finish(graph, config, snapshot)


def cmd_runs_list(app: App, args: argparse.Namespace) -> int:
    rows = app.runs.all(limit=args.limit)
    if not rows:
        app.printer.line("no runs yet: try `taskwarden run refunds \"...\"`")
    for row in rows:
        app.printer.line(f"{row.thread_id}  {row.workflow:<10} {row.status:<10} {row.request[:70]}")
    return 0


def cmd_runs_show(app: App, args: argparse.Namespace) -> int:
    graph, config = app.thread(args.thread)
    snapshot = graph.get_state(config)
    values = snapshot.values
    if args.json:
        app.printer.line(json.dumps({k: v for k, v in values.items() if k != "messages"}, indent=2, default=str))
        return 0
    app.printer.line(f"thread {args.thread}: {values.get('status', 'unknown')}{' (waiting for review)' if snapshot.interrupts else ''}")
    app.printer.line(f"request: {values.get('request', '')}")
    for task in (values.get("tasks") or {}).values():
        app.printer.line(f"  {task['id']} [{task['role']}] {task['status']} (attempts {task['attempts']}): {task['description']}")
        for action in task["actions"]:
            app.printer.line(f"      {action['summary'][:160]}")
        if task["result"]:
            app.printer.line(f"      result: {task['result'][:200]}")
    for review in values.get("reviews", []):
        app.printer.line(f"  review: {review['decision']} {review.get('message', '')}")
    usage = values.get("usage") or {}
    app.printer.line(f"usage: {int(usage.get('steps', 0))} model calls, "
                     f"{int(usage.get('input_tokens', 0) + usage.get('output_tokens', 0))} tokens, ${usage.get('cost_usd', 0):.4f}")
    if values.get("final_answer"):
        app.printer.line(f"answer: {values['final_answer']}")
    return 0


def cmd_workflows(app: App, args: argparse.Namespace) -> int:
    for name in workflow_names():
        workflow = get_workflow(name)
        app.printer.line(f"{name:<10} {workflow.description}")
    return 0


def cmd_seed(app: App, args: argparse.Namespace) -> int:
    if not args.reset:
        raise UsageError("seeding replaces the demo data and everything done to it (refunds, payments, routes, reports): pass --reset to confirm")
    try:
        path = reset_demo_data(args.workflow)
    except UnknownWorkflow as exc:
        raise UsageError(str(exc)) from None
    app.printer.line(f"re-seeded the {args.workflow} demo database: {path}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="taskwarden", description="Autonomous workflows with human review.")
    sub = top.add_subparsers(dest="command", required=True)

    def review_mode(p: argparse.ArgumentParser) -> None:
        p.add_argument("--on-review", choices=["ask", "approve", "reject", "stop"],
                       help="how to answer reviews: ask in the terminal (default when interactive), approve or "
                            "reject everything (scripts, CI), or stop and leave them pending (default otherwise)")
        p.add_argument("--model", help="model spec for every role, e.g. local or openai:gpt-4o-mini")
        p.add_argument("--max-steps", type=int, help="override the workflow's step budget")

    run = sub.add_parser("run", help="start a workflow on a request")
    run.add_argument("workflow", help="a shipped workflow (see `taskwarden workflows`) or the path of a .yaml workflow file")
    run.add_argument("request")
    run.add_argument("--thread", help="thread id (continue a conversation); new by default")
    review_mode(run)
    run.set_defaults(func=cmd_run)

    resume = sub.add_parser("resume", help="continue a paused or interrupted run")
    resume.add_argument("thread")
    review_mode(resume)
    resume.set_defaults(func=cmd_resume)

    review = sub.add_parser("review", help="list and answer pending human reviews")
    rsub = review.add_subparsers(dest="review_command", required=True)
    rsub.add_parser("list", help="runs waiting for a human").set_defaults(func=cmd_review_list)
    show = rsub.add_parser("show", help="what a paused run asks")
    show.add_argument("thread")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_review_show)
    for name, helptext in [("approve", "approve the pending action(s)"), ("reject", "reject them (with --message)"),
                           ("respond", "answer with free text (--message) instead of deciding"),
                           ("edit", "approve with changed arguments (--args JSON)"),
                           ("decide", "answer with raw HITL decisions (--decisions JSON)")]:
        p = rsub.add_parser(name, help=helptext)
        p.add_argument("thread")
        p.add_argument("--interrupt", help="answer only this review id (when several are pending)")
        if name in ("reject", "respond"):
            p.add_argument("--message", required=name == "respond", default=None)
        if name == "edit":
            p.add_argument("--args", required=True, help='JSON object of arguments to change, e.g. \'{"amount": 80}\'')
        if name == "decide":
            p.add_argument("--decisions", required=True, help='e.g. \'{"decisions": [{"type": "approve"}]}\'')
        review_mode(p)
        p.set_defaults(func=cmd_review_decide, decision="response" if name == "respond" else name)

    runs = sub.add_parser("runs", help="list and inspect runs")
    rs = runs.add_subparsers(dest="runs_command", required=True)
    lst = rs.add_parser("list")
    lst.add_argument("--limit", type=int, default=20)
    lst.set_defaults(func=cmd_runs_list)
    sh = rs.add_parser("show")
    sh.add_argument("thread")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_runs_show)

    sub.add_parser("workflows", help="list the shipped workflows").set_defaults(func=cmd_workflows)
    seed = sub.add_parser("seed", help="re-create a shipped workflow's demo database")
    seed.add_argument("workflow")
    seed.add_argument("--reset", action="store_true", help="confirm: earlier demo data (refunds, payments, routes, reports) is discarded")
    seed.set_defaults(func=cmd_seed)
    _register_model_commands(sub)
    register_audit(sub)
    return top


def _register_model_commands(sub: Any) -> None:
    """`taskwarden model ...`, `memory ...`, `serve` and `eval` come from their packages."""
    from taskwarden.evals.cli import register as register_eval
    from taskwarden.memory.cli import register as register_memory
    from taskwarden.models.cli import register as register_model
    from taskwarden.serve.cli import register as register_serve

    register_model(sub)
    register_memory(sub)
    register_serve(sub)
    register_eval(sub)


def _model_errors() -> tuple[type[Exception], ...]:
    try:
        from taskwarden.models.errors import ModelCallError, ModelServerError, ModelUnavailableError
    except ImportError:
        return ()
    return (ModelCallError, ModelServerError, ModelUnavailableError)


INTERRUPTED = 130
"""The exit code after Ctrl-C (128 + SIGINT), as shells report it."""


def main(argv: list[str] | None = None, *, models: dict[str, BaseChatModel | str] | None = None) -> int:
    """Entry point; `models` lets tests run the CLI on scripted models."""
    args = parser().parse_args(argv)
    configure_logging()
    app = App(models)
    try:
        if args.func.__module__ == __name__:
            return args.func(app, args)
        return args.func(args)
    except UsageError as exc:
        print(f"taskwarden: error: {exc}", file=sys.stderr)
        return 2
    except _model_errors() as exc:
        hint = f"; the run is kept at its last checkpoint: taskwarden resume {app.current_thread}" if app.current_thread else ""
        print(f"taskwarden: model error: {exc}{hint}", file=sys.stderr)
        return 1
    except AuditWriteError as exc:
        hint = f"; the run is kept at its last checkpoint: taskwarden resume {app.current_thread}" if app.current_thread else ""
        print(f"taskwarden: audit error: {exc}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ntaskwarden: interrupted; the run's last checkpoint is kept: `taskwarden resume <thread>`", file=sys.stderr)
        return INTERRUPTED


def cli() -> None:
    """The `taskwarden` command: `main`, then exit with its code. After Ctrl-C it exits at once: a model call
    still running in one of LangGraph's worker threads would otherwise hold the process until it returns
    (minutes on a small CPU, measured with the embedded model); what finished is already saved (checkpoints,
    the ledger, an evaluation's journal), and an unfinished tool call is reconciled on resume."""
    code = main()
    if code == INTERRUPTED:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(INTERRUPTED)
    sys.exit(code)


if __name__ == "__main__":
    cli()

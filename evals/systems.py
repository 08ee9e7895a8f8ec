"""The systems an evaluation compares on the same cases: Taskwarden's graph, and a baseline agent."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import GraphRecursionError
from langgraph.types import Command

from taskwarden.evals.dataset import Case
from taskwarden.evals.reviewer import confirm, decide, is_confirmation
from taskwarden.evals.scoring import Outcome, RunEnd
from taskwarden.evals.workspace import EvalWorkspace
from taskwarden.graph.builder import build_workflow
from taskwarden.graph.context import Context
from taskwarden.graph.reliability import check_mechanisms
from taskwarden.tools.ledger import Ledger

ModelsFor = Callable[[Case], dict[str, BaseChatModel | str]]
"""Chat models (or specs) by role for one case: ``orchestrator``, ``worker``, ``evaluator``, and
``baseline`` for the baseline agent. Scripted tests give each case its own scripted models."""

STATUS_TO_END: dict[str, RunEnd] = {"completed": "completed", "incomplete": "failed", "rejected": "failed",
                                    "invalid": "failed"}


@dataclass
class Answered:
    """What the scripted reviewer and requester answered in one run, counted apart."""

    reviews: int = 0
    """Human reviews: tool approvals and escalations."""
    confirmations: int = 0
    """Confirmations asked of the requester (``kind == "confirmation"``)."""


class StepLimitReached(Exception):
    """The agent hit its recursion limit; carries what was answered before."""

    def __init__(self, answered: Answered) -> None:
        super().__init__(f"step limit reached after {answered.reviews} review(s) and "
                         f"{answered.confirmations} confirmation(s)")
        self.answered = answered


def run_with_reviewer(invoke: Callable[[Any], Any], get_state: Callable[[], Any], case: Case) -> tuple[Any, Answered]:
    """Run a compiled graph on the case's request, answering its interrupts until it ends: reviews with
    the case's scripted reviewer, confirmations with its scripted requester. Returns the last state
    snapshot and what was answered. Reviews and confirmations each have their own cap of `max_reviews`;
    after twice that many of either the run is left paused (the caps already refuse by then)."""
    payload: Any = {"messages": [("user", case.request)]}
    answered = Answered()
    cap = case.reviewer.max_reviews
    while True:
        try:
            invoke(payload)
        except GraphRecursionError:
            raise StepLimitReached(answered) from None
        snapshot = get_state()
        if not snapshot.interrupts or max(answered.reviews, answered.confirmations) >= 2 * cap:
            return snapshot, answered
        answers = {}
        for item in snapshot.interrupts:
            if is_confirmation(item.value):
                answers[item.id] = confirm(item.value, case.requester, answered.confirmations, cap)
                answered.confirmations += 1
            else:
                answers[item.id] = decide(item.value, case.reviewer, answered.reviews)
                answered.reviews += 1
        payload = Command(resume=answers)


class System(Protocol):
    name: str

    def run(self, workspace: EvalWorkspace, case: Case) -> Outcome: ...


@dataclass
class TaskwardenSystem:
    """Our engine: the workflow's graph, a private checkpointer and ledger per case, no long-term memory
    (cases must not learn from each other), the scripted reviewer answering every review."""

    model: str | None = None
    """One model spec for every role (None: the workflow's or the environment's defaults)."""
    models_for: ModelsFor | None = None
    context: Context = field(default_factory=Context)
    """The run's context, e.g. ``Context(disable=("grounding",))`` for an ablation."""
    name: str = "taskwarden"

    def run(self, workspace: EvalWorkspace, case: Case) -> Outcome:
        models = {k: v for k, v in (self.models_for(case) if self.models_for else {}).items() if k != "baseline"}
        graph = build_workflow(workspace.workflow, models=models or None, checkpointer=InMemorySaver(),
                               ledger=Ledger(workspace.workdir / "ledger.db"), store=None, audit=None)
        context = self.context
        if self.model:
            context = replace(context, orchestrator_model=self.model, worker_model=self.model,
                              evaluator_model=self.model)
        config = {"configurable": {"thread_id": case.id}, "recursion_limit": 200}
        started = time.perf_counter()
        fired: Counter[str] = Counter()

        def invoke(payload: Any) -> None:  # streamed, to count the reliability interventions as they happen
            for _, chunk in graph.stream(payload, config, context=context, stream_mode="custom", subgraphs=True):
                if (isinstance(chunk, dict) and chunk.get("event") == "intervention"
                        and chunk.get("action") != "verified"):  # a write's effect confirmed: nothing to correct
                    fired[str(chunk.get("mechanism"))] += 1

        snapshot, answered = run_with_reviewer(invoke, lambda: graph.get_state(config), case)
        values = snapshot.values
        usage = values.get("usage") or {}
        status = values.get("status", "running")
        return Outcome(end="paused" if snapshot.interrupts else STATUS_TO_END.get(status, "failed"),
                       answer=values.get("final_answer", ""), reviews=answered.reviews,
                       confirmations=answered.confirmations,
                       model_calls=int(usage.get("steps", 0)), input_tokens=int(usage.get("input_tokens", 0)),
                       output_tokens=int(usage.get("output_tokens", 0)), cost_usd=float(usage.get("cost_usd", 0.0)),
                       seconds=time.perf_counter() - started,
                       detail={"status": status, "tasks": task_trace(values.get("tasks") or {}),
                               "interventions": dict(sorted(fired.items())),
                               **({"disabled": list(context.disable)} if context.disable else {})})


def task_trace(tasks: dict[str, Any]) -> list[dict[str, Any]]:
    """What each task did, compactly: the report's evidence for reading a failed case."""
    return [{"id": task["id"], "role": task["role"], "status": task["status"], "attempts": task["attempts"],
             "result": str(task.get("result", ""))[:400], "actions": [_action_line(a) for a in task["actions"]],
             **({"escalation": str((task.get("escalation") or {}).get("reason", ""))[:300]}
                if task.get("escalation") else {})}
            for task in tasks.values()]


def _action_line(action: dict[str, Any]) -> str:
    """An action's summary, clipped; a failed call keeps its error (long arguments would otherwise hide it)."""
    line = action["summary"][:240]
    errors = action.get("errors") or []
    return f"{line} ... ERROR: {errors[-1][:400]}" if errors and action["outcome"] == "error" else line


def without_mechanism(system: TaskwardenSystem, mechanism: str) -> TaskwardenSystem:
    """An ablation: `system` with one more reliability mechanism switched off, named ``<name>-no-<mechanism>``.
    ValueError for an unknown mechanism (naming the known ones) or one `system` already has off."""
    check_mechanisms([mechanism])
    disabled = tuple(system.context.disable or ())
    if mechanism in disabled:
        raise ValueError(f"mechanism {mechanism!r} is already off in {system.name!r} (disabled: {list(disabled)})")
    return replace(system, context=replace(system.context, disable=(*disabled, mechanism)),
                   name=f"{system.name}-no-{mechanism}")


def baseline_answer(messages: list[Any], answer_from: tuple[str, str] | None = None) -> str:
    """The baseline's answer, read as Taskwarden's is: where the workflow declares its answer to be a tool
    argument (the refund desk's saved reply), the last successful call's; else the agent's last words."""
    if answer_from:
        tool, argument = answer_from
        succeeded = {m.tool_call_id for m in messages if m.type == "tool" and getattr(m, "status", "") != "error"}
        values = [str(call["args"].get(argument, "")).strip() for m in messages if m.type == "ai"
                  for call in m.tool_calls if call["name"] == tool and call["id"] in succeeded]
        if chosen := next((v for v in reversed(values) if v), ""):
            return chosen
    return next((m.text for m in reversed(messages) if m.type == "ai" and m.text.strip()), "")


@dataclass
class BaselineSystem:
    """LangChain's prebuilt agent (`langchain.agents.create_agent`, or LangGraph's `create_react_agent`
    where only that is installed) on the same model, with the workflow's instructions and all its tools.

    For a fair comparison of *behaviour* the baseline gets the same safety rails a user would add: the
    workflow's policy gate (forbidden calls refused, approvals asked through the same review interrupt)
    and tool errors returned as observations. What it lacks is Taskwarden's engine: planning, roles,
    evaluation, revision, budgets."""

    model: str | None = None
    models_for: ModelsFor | None = None
    max_steps: int | None = None
    """Model calls allowed per case (None: the workflow's own step budget, as Taskwarden gets)."""
    name: str = "baseline"

    def run(self, workspace: EvalWorkspace, case: Case) -> Outcome:
        from taskwarden.evals.baseline import build_baseline_agent, usage_of

        model = (self.models_for(case).get("baseline") if self.models_for else None) or self.model or "local"
        agent = build_baseline_agent(workspace.workflow, model)
        max_steps = self.max_steps or workspace.workflow.budgets.max_steps
        config = {"configurable": {"thread_id": case.id}, "recursion_limit": 2 * max_steps + 1}
        started = time.perf_counter()
        end: RunEnd = "completed"
        error = None
        answered = Answered()
        try:
            snapshot, answered = run_with_reviewer(lambda payload: agent.invoke(payload, config),
                                                   lambda: agent.get_state(config), case)
            end = "paused" if snapshot.interrupts else "completed"
        except StepLimitReached as stop:
            end, error, answered = "failed", f"stopped at the step limit ({max_steps} model calls)", stop.answered
        messages = agent.get_state(config).values.get("messages", [])
        usage = usage_of(messages)
        answer = baseline_answer(messages, workspace.workflow.answer_from)
        return Outcome(end=end, answer=answer, reviews=answered.reviews, confirmations=answered.confirmations,
                       seconds=time.perf_counter() - started,
                       detail={"step_limit": error} if error else {}, **usage)


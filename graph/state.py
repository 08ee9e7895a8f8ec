"""Graph state: the run (`RunState`) and one worker's attempt at one task (`WorkerState`)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from taskwarden.graph.usage import add_usage

TaskStatus = Literal["pending", "done", "revise", "passed", "escalated", "rejected"]
RunStatus = Literal["running", "completed", "incomplete", "rejected", "invalid"]
REPLACE = "__replace__"


class ActionRecord(TypedDict):
    """One tool call a worker made, and what became of it."""

    tool: str
    args: dict[str, Any]
    outcome: Literal["executed", "replayed", "refused", "rejected", "error", "invalid", "blocked"]
    """`refused`: by policy or grant; `rejected`: by a human; `replayed`: already done (ledger);
    `blocked`: by a reliability check (ungrounded argument, not asked for, repeated failure)."""
    summary: str
    attempts: NotRequired[int]
    """How many times the tool ran (retries of transient errors included); absent if it never ran."""
    errors: NotRequired[list[str]]
    """The error of each failed attempt, oldest first."""
    observation: NotRequired[str]
    """What the tool returned (calls that ran): evidence that later calls' arguments can be traced to."""
    proposed: NotRequired[dict[str, Any]]
    """The arguments the model proposed, when a reviewer edited them (`args` are what ran)."""


class TaskRecord(TypedDict):
    """A planned task and everything that happened to it."""

    id: str
    description: str
    role: str
    depends_on: list[str]
    acceptance_criteria: list[str]
    status: TaskStatus
    attempts: int
    """Worker attempts so far (revisions = attempts - 1)."""
    result: str
    feedback: list[str]
    """Evaluator and reviewer feedback, oldest first."""
    actions: list[ActionRecord]
    escalation: NotRequired[dict[str, Any] | None]
    """Why the task needs a human (set while status is `escalated`)."""


def merge_tasks(left: dict[str, TaskRecord] | None, right: dict[str, Any] | None) -> dict[str, TaskRecord]:
    """Reducer: task records replace by id; an update carrying ``__replace__`` replaces them all."""
    right = right or {}
    if right.get(REPLACE):
        return {key: value for key, value in right.items() if key != REPLACE}
    return {**(left or {}), **right}


def add_or_reset(left: list[Any] | None, right: list[Any] | None) -> list[Any]:
    """Reducer: appends; an update starting with ``__replace__`` replaces the list with the rest of it."""
    right = list(right or [])
    if right and right[0] == REPLACE:
        return right[1:]
    return [*(left or []), *right]


class InputState(TypedDict, total=False):
    """What a caller sends: a chat message (Agent Chat UI style) or a plain request string."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation; the latest human message is the request."""
    request: str
    """The request as plain text (takes precedence over `messages`)."""


class RunState(InputState, total=False):
    """The whole run: plan, tasks, usage, escalation and outcome."""

    plan: dict[str, Any] | None
    """The validated plan (a `Plan` dump), None until the orchestrator has planned."""
    tasks: Annotated[dict[str, TaskRecord], merge_tasks]
    usage: Annotated[dict[str, Any], add_usage]
    """Steps, tokens, cost and active seconds spent by this run."""
    budget_grants: int
    """Extra budget allotments granted by reviewers."""
    escalation: dict[str, Any] | None
    """A run-level escalation (budget, planning failure) waiting for a human."""
    reviews: Annotated[list[dict[str, Any]], add_or_reset]
    """Every human decision in this run (reset when the thread starts a new run), for audit and memory."""
    status: RunStatus
    final_answer: str
    run_id: str
    """Identifies this run on its thread (a thread holds one run per request); keys its memory episode."""
    lessons: list[str]
    """Lessons recalled from similar past runs, given to the planner."""


class OutputState(TypedDict, total=False):
    """What a run returns."""

    messages: Annotated[list[AnyMessage], add_messages]
    status: RunStatus
    final_answer: str
    plan: dict[str, Any] | None
    tasks: dict[str, TaskRecord]
    usage: dict[str, Any]
    reviews: list[dict[str, Any]]
    lessons: list[str]


class WorkerInput(TypedDict):
    """What the orchestrator sends a worker (one `Send` per ready task)."""

    task: TaskRecord
    request: str
    dependency_results: dict[str, str]
    run_usage: dict[str, Any]
    """The run's usage when the task was dispatched (for budget checks)."""
    budget_grants: int
    evidence: NotRequired[dict[str, Any]]
    """What the run has seen when the task was dispatched: ``request`` (the request and the earlier
    turns of the conversation) and ``observations`` (successful tool results of other tasks)."""


class WorkerState(WorkerInput, total=False):
    worker_messages: Annotated[list[AnyMessage], add_messages]
    """This attempt's ReAct transcript (kept apart from the run's chat messages)."""
    usage: Annotated[dict[str, Any], add_usage]
    actions: Annotated[list[ActionRecord], operator.add]
    stop: dict[str, Any] | None
    """Set when the worker must stop and escalate (budget, loop, uncertain side effect)."""
    tasks: dict[str, TaskRecord]
    reviews: Annotated[list[dict[str, Any]], operator.add]
    """Human decisions on this attempt's tool calls (approve / edit / reject / response)."""
    interventions: Annotated[list[dict[str, Any]], operator.add]
    """Reliability interventions in this attempt (blocked calls, corrective messages), oldest first."""
    progress_step: int
    """The attempt's model-call count when a tool call last made progress (a new successful result)."""
    prechecked: dict[str, dict[str, Any]]
    """The tool's own refusals (`ToolSpec.precheck`) of the last reply's calls that a person would be asked about, by
    call id (``observation``, ``errors``): found when the model proposed them and kept in the checkpoint, so that a
    review resumed later is about the same calls."""


class WorkerOutput(TypedDict, total=False):
    """What a worker returns to the run: its task record and the usage it spent."""

    tasks: dict[str, TaskRecord]
    usage: dict[str, Any]
    reviews: list[dict[str, Any]]
    """Human decisions on the task's tool calls, added to the run's `reviews`."""

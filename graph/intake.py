"""intake: validate the request and start a fresh run on the thread."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Literal

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END
from langgraph.types import Command

from taskwarden.graph.engine import Engine
from taskwarden.graph.events import emit
from taskwarden.graph.state import REPLACE, RunState
from taskwarden.graph.usage import RESET

MAX_REQUEST_CHARS = 20_000


def request_problem(request: str, workflow_check: Callable[[str], str | None] | None = None) -> str | None:
    """Why `request` cannot start a run, or None. Shared by the graph and the CLI."""
    if not request.strip():
        return "the request is empty: say what the workflow should do"
    if len(request) > MAX_REQUEST_CHARS:
        return f"the request is too long ({len(request)} characters, at most {MAX_REQUEST_CHARS})"
    return workflow_check(request) if workflow_check else None


def latest_request(state: RunState) -> str:
    if state.get("request"):
        return str(state["request"])
    for message in reversed(state.get("messages", [])):
        if isinstance(message, HumanMessage):
            return message.content if isinstance(message.content, str) else str(message.content)
    return ""


def make_intake(engine: Engine) -> Callable[[RunState], Command[Literal["recall", "__end__"]]]:
    def intake(state: RunState) -> Command[Literal["recall", "__end__"]]:
        """Start the run (on to recall), or end it at once with why the request cannot start. The node routes
        itself (a `Command`): a conditional edge would copy every channel of the state to read one."""
        request = latest_request(state).strip()
        problem = request_problem(request, engine.workflow.validate_request)
        if problem:
            emit("invalid_request", error=problem, request=request[:2000])
            return Command(goto=END, update={"status": "invalid", "final_answer": f"Cannot start: {problem}.",
                                             "messages": [AIMessage(content=f"Cannot start: {problem}.")]})
        emit("run_started", workflow=engine.workflow.name, request=request)
        return Command(goto="recall", update={
            "request": request, "run_id": uuid.uuid4().hex, "lessons": [], "reviews": [REPLACE],
            "status": "running", "plan": None, "tasks": {REPLACE: True},
            "usage": {RESET: True}, "budget_grants": 0, "escalation": None, "final_answer": ""})

    return intake
